//! Presence of store staff (online or away), with expiry: in process when embedded, in Redis
//! when distributed so that every replica sees the same staff.
//!
//! Entries are kept per connection, so a staff member with two tabs stays online until both
//! are gone; a listing folds them into one entry per user (online beats away).
//!
//! - `memory`: [`MemoryPresence`], a map in this process (embedded).
//! - `redis`: [`RedisPresence`], one Redis hash per store (distributed).

mod memory;
mod redis;

pub use self::memory::MemoryPresence;
pub use self::redis::RedisPresence;

use std::collections::BTreeMap;
use std::time::Duration;

/// What a staff member shows to customers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PresenceStatus {
    Online,
    Away,
}

impl PresenceStatus {
    pub fn parse(s: &str) -> Option<PresenceStatus> {
        match s {
            "online" => Some(PresenceStatus::Online),
            "away" => Some(PresenceStatus::Away),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PresenceStatus::Online => "online",
            PresenceStatus::Away => "away",
        }
    }
}

/// Where one presence entry belongs: a connection of a user in a store. Named fields, so that
/// three ids of one type cannot be passed in the wrong order.
#[derive(Clone, Copy, Debug)]
pub struct Tab<'a> {
    pub store_id: &'a str,
    pub user_id: &'a str,
    pub connection_id: &'a str,
}

/// One user's presence in a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresenceEntry {
    pub user_id: String,
    pub status: PresenceStatus,
    pub expires_at_ms: i64,
}

/// Where presence lives.
#[async_trait::async_trait]
pub trait Presence: Send + Sync + 'static {
    /// Records that the user is `status` on this tab until now + `ttl`.
    async fn set(&self, tab: Tab<'_>, status: PresenceStatus, ttl: Duration) -> anyhow::Result<()>;

    /// Forgets one tab's entry (its connection closed).
    async fn clear(&self, tab: Tab<'_>) -> anyhow::Result<()>;

    /// The store's users with an unexpired entry, one per user, sorted by user id.
    async fn list(&self, store_id: &str) -> anyhow::Result<Vec<PresenceEntry>>;

    /// Whether the backing store answers.
    async fn ready(&self) -> bool;
}

/// Folds unexpired per-connection entries `(user_id, status, expires_at_ms)` into one entry per
/// user, sorted by user id: online if any connection is online, until the latest expiry among
/// the connections showing that status.
pub(crate) fn fold(entries: impl IntoIterator<Item = (String, PresenceStatus, i64)>) -> Vec<PresenceEntry> {
    let mut users: BTreeMap<String, (PresenceStatus, i64)> = BTreeMap::new();
    for (user_id, status, expires_at_ms) in entries {
        let folded = users.entry(user_id).or_insert((status, expires_at_ms));
        match (folded.0, status) {
            (shown, next) if shown == next => folded.1 = folded.1.max(expires_at_ms),
            (PresenceStatus::Away, PresenceStatus::Online) => *folded = (status, expires_at_ms),
            // Away never replaces online.
            _ => {}
        }
    }
    users
        .into_iter()
        .map(|(user_id, (status, expires_at_ms))| PresenceEntry {
            user_id,
            status,
            expires_at_ms,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn online_on_any_connection_beats_away_and_the_latest_expiry_of_it_wins() {
        let folded = fold([
            ("b".to_owned(), PresenceStatus::Away, 50),
            ("a".to_owned(), PresenceStatus::Away, 90),
            ("a".to_owned(), PresenceStatus::Online, 10),
            ("a".to_owned(), PresenceStatus::Online, 20),
            ("b".to_owned(), PresenceStatus::Away, 70),
        ]);
        let folded: Vec<_> = folded
            .iter()
            .map(|e| (e.user_id.as_str(), e.status, e.expires_at_ms))
            .collect();
        assert_eq!(
            folded,
            [("a", PresenceStatus::Online, 20), ("b", PresenceStatus::Away, 70)]
        );
    }
}
