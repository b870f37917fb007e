//! The in-process cache: bounded by entry count, with one time-to-live for all entries.

use super::Cache;
use bytes::Bytes;
use std::time::Duration;

/// An in-process cache (moka).
#[derive(Clone)]
pub struct MemoryCache {
    inner: moka::future::Cache<String, Bytes>,
}

impl MemoryCache {
    /// A cache of at most `max_entries`, each living at most `ttl`.
    pub fn new(max_entries: u64, ttl: Duration) -> Self {
        MemoryCache {
            inner: moka::future::Cache::builder()
                .max_capacity(max_entries)
                .time_to_live(ttl)
                .build(),
        }
    }
}

#[async_trait::async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Option<Bytes> {
        self.inner.get(key).await
    }

    /// The per-entry `ttl` is ignored: this cache's own time-to-live applies to every entry.
    async fn set(&self, key: &str, value: Bytes, _ttl: Duration) {
        self.inner.insert(key.to_owned(), value).await;
    }

    async fn delete(&self, key: &str) {
        self.inner.invalidate(key).await;
    }
}
