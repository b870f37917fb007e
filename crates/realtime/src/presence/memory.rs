//! Presence in this process, for the embedded topology (one replica sees every connection).

use super::{Presence, PresenceEntry, PresenceStatus, Tab, fold};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// One connection's presence.
struct Entry {
    status: PresenceStatus,
    /// When it lapses; on the tokio clock, so that tests can move time.
    expires: Instant,
    /// The same moment on the wall clock, as reported to clients.
    expires_at_ms: i64,
}

/// One store's entries, keyed by (user, connection).
type StoreEntries = HashMap<(String, String), Entry>;

/// Entries per store; expired ones are dropped when listed.
#[derive(Default)]
pub struct MemoryPresence {
    stores: Mutex<HashMap<String, StoreEntries>>,
}

impl MemoryPresence {
    pub fn new() -> Self {
        Self::default()
    }

    fn stores(&self) -> MutexGuard<'_, HashMap<String, StoreEntries>> {
        // A panic elsewhere while holding the lock leaves the map consistent (every change is
        // one insert or remove), so a poisoned lock is still usable.
        self.stores.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait::async_trait]
impl Presence for MemoryPresence {
    async fn set(&self, tab: Tab<'_>, status: PresenceStatus, ttl: Duration) -> anyhow::Result<()> {
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let entry = Entry {
            status,
            expires: Instant::now() + ttl,
            expires_at_ms: mercato_runtime::time::now_ms().saturating_add(ttl_ms),
        };
        self.stores()
            .entry(tab.store_id.to_owned())
            .or_default()
            .insert((tab.user_id.to_owned(), tab.connection_id.to_owned()), entry);
        Ok(())
    }

    async fn clear(&self, tab: Tab<'_>) -> anyhow::Result<()> {
        let mut stores = self.stores();
        if let Some(entries) = stores.get_mut(tab.store_id) {
            entries.remove(&(tab.user_id.to_owned(), tab.connection_id.to_owned()));
            if entries.is_empty() {
                stores.remove(tab.store_id);
            }
        }
        Ok(())
    }

    async fn list(&self, store_id: &str) -> anyhow::Result<Vec<PresenceEntry>> {
        let now = Instant::now();
        let mut stores = self.stores();
        let Some(entries) = stores.get_mut(store_id) else {
            return Ok(Vec::new());
        };
        entries.retain(|_, e| e.expires > now);
        let live = entries
            .iter()
            .map(|((user_id, _), e)| (user_id.clone(), e.status, e.expires_at_ms))
            .collect::<Vec<_>>();
        if entries.is_empty() {
            stores.remove(store_id);
        }
        Ok(fold(live))
    }

    async fn ready(&self) -> bool {
        true
    }
}
