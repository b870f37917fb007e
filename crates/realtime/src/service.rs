//! The realtime service's state: conversation storage, presence, limits; how it starts.

use crate::presence::Presence;
use crate::store::{ConversationStore, MIGRATIONS, SqlConversationStore};
use mercato_runtime::config::RealtimeSettings;
use mercato_runtime::db::Db;
use mercato_runtime::ratelimit::RateLimiter;
use std::sync::Arc;
use tokio::sync::Notify;

/// The conversation side of the realtime service; one per process, shared behind an `Arc`.
/// Live delivery (the hub and WebSocket connections) is built on top of it in `node`.
pub struct RealtimeService {
    /// Conversations, messages and read markers; every write also appends its events there.
    pub(crate) store: Arc<dyn ConversationStore>,
    /// Who of a store's staff is online or away.
    pub(crate) presence: Arc<dyn Presence>,
    /// Counts conversation messages per store (shared through Redis when distributed).
    pub(crate) limiter: Arc<dyn RateLimiter>,
    pub(crate) limits: RealtimeSettings,
    /// Wakes the outbox relay after a commit, so events leave at once.
    outbox_waker: Arc<Notify>,
}

impl RealtimeService {
    /// Migrates the database.
    pub async fn new(
        db: Db,
        outbox_waker: Arc<Notify>,
        presence: Arc<dyn Presence>,
        limiter: Arc<dyn RateLimiter>,
        limits: RealtimeSettings,
    ) -> anyhow::Result<Arc<RealtimeService>> {
        db.migrate("realtime", MIGRATIONS).await?;
        Ok(Arc::new(RealtimeService {
            store: Arc::new(SqlConversationStore::new(db)),
            presence,
            limiter,
            limits,
            outbox_waker,
        }))
    }

    /// The presence registry, for the connections that keep it up to date.
    pub fn presence(&self) -> &Arc<dyn Presence> {
        &self.presence
    }

    /// The configured limits.
    pub fn limits(&self) -> &RealtimeSettings {
        &self.limits
    }

    /// Whether the database answers.
    pub async fn ready(&self) -> bool {
        self.store.ping().await
    }

    /// Called after a transaction that appended an event has committed.
    pub(crate) fn committed(&self) {
        self.outbox_waker.notify_one();
    }
}
