//! Presence of store staff (online or away), with expiry: in process when embedded, in Redis
//! when distributed so that every replica sees the same staff.
//!
//! Entries are kept per connection, so a staff member with two tabs stays online until both
//! are gone; a listing folds them into one entry per user (online beats away).

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
    /// Records that `user_id`, on connection `connection_id`, is `status` until now + `ttl`.
    async fn set(
        &self,
        store_id: &str,
        user_id: &str,
        connection_id: &str,
        status: PresenceStatus,
        ttl: Duration,
    ) -> anyhow::Result<()>;

    /// Forgets one connection's entry (it closed).
    async fn clear(&self, store_id: &str, user_id: &str, connection_id: &str) -> anyhow::Result<()>;

    /// The store's users with an unexpired entry, one per user, sorted by user id.
    async fn list(&self, store_id: &str) -> anyhow::Result<Vec<PresenceEntry>>;

    /// Whether the backing store answers.
    async fn ready(&self) -> bool;
}
