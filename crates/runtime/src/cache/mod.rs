//! Read caches: an in-process L1 in every process, and Redis as a shared L2 when distributed.
//!
//! Entries are invalidated by events; their time-to-live is only a backstop. A cache failure
//! never fails a read: Redis errors are logged and treated as misses.

mod memory;
mod redis;

pub use self::memory::MemoryCache;
pub use self::redis::RedisCache;

use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;

/// A byte cache keyed by string.
#[async_trait::async_trait]
pub trait Cache: Send + Sync + 'static {
    async fn get(&self, key: &str) -> Option<Bytes>;
    async fn set(&self, key: &str, value: Bytes, ttl: Duration);
    async fn delete(&self, key: &str);
    /// Whether the cache's backend is reachable; for readiness probes.
    async fn ready(&self) -> bool {
        true
    }
}

/// Describes what [`TieredCache`] records.
pub(crate) fn describe_metrics() {
    crate::metric_family::Family::describe_all(&[CACHE_REQUESTS]);
}

crate::metric_families! {
    /// Read-cache lookups by cache and result: hit_l1 (in process), hit_l2 (Redis) or miss.
    pub(crate) const CACHE_REQUESTS: Counter(Count) = "cache_requests_total";
}

/// L1 in front of an optional L2.
pub struct TieredCache {
    l1: MemoryCache,
    l2: Option<Arc<dyn Cache>>,
    name: &'static str,
}

impl TieredCache {
    pub fn new(name: &'static str, l1: MemoryCache, l2: Option<Arc<dyn Cache>>) -> Self {
        TieredCache { l1, l2, name }
    }

    /// Drops a key from this process's L1 only; for replicas reacting to an event that another
    /// replica already invalidated in L2.
    pub async fn evict_local(&self, key: &str) {
        self.l1.delete(key).await;
    }
}

#[async_trait::async_trait]
impl Cache for TieredCache {
    async fn get(&self, key: &str) -> Option<Bytes> {
        if let Some(v) = self.l1.get(key).await {
            metrics::counter!(CACHE_REQUESTS.name, "cache" => self.name, "result" => "hit_l1").increment(1);
            return Some(v);
        }
        if let Some(l2) = &self.l2
            && let Some(v) = l2.get(key).await
        {
            metrics::counter!(CACHE_REQUESTS.name, "cache" => self.name, "result" => "hit_l2").increment(1);
            self.l1.set(key, v.clone(), Duration::ZERO).await;
            return Some(v);
        }
        metrics::counter!(CACHE_REQUESTS.name, "cache" => self.name, "result" => "miss").increment(1);
        None
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Duration) {
        if let Some(l2) = &self.l2 {
            l2.set(key, value.clone(), ttl).await;
        }
        self.l1.set(key, value, ttl).await;
    }

    async fn delete(&self, key: &str) {
        if let Some(l2) = &self.l2 {
            l2.delete(key).await;
        }
        self.l1.delete(key).await;
    }

    async fn ready(&self) -> bool {
        match &self.l2 {
            Some(l2) => l2.ready().await,
            None => true,
        }
    }
}
