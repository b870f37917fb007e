//! The cache suite: memory, Redis and the tiered cache behave alike; each case is one test per
//! cache (`case::memory`, `case::tiered_redis`, …). Redis-only behaviour has tests of its own.

use bytes::Bytes;
use mercato_runtime::cache::{Cache, MemoryCache, RedisCache, TieredCache};
use mercato_runtime::env::TEST_REDIS_URL;
use mercato_runtime::testing::{Facility, Variant};
use std::sync::Arc;
use std::time::Duration;

mercato_runtime::backend_tests! {
    setup: cache_on,
    variants: {
        memory: Under::Memory,
        tiered_memory: Under::Tiered(Facility::InProcess),
        redis: Under::Redis,
        tiered_redis: Under::Tiered(Facility::Server(TEST_REDIS_URL)),
    },
    cases: [a_cached_value_is_returned_until_deleted],
}

/// A cache under test: in process, on Redis, or tiered over an L2 in process (none) or on Redis.
#[derive(Clone, Copy)]
enum Under {
    Memory,
    Redis,
    Tiered(Facility),
}

impl Variant for Under {
    fn runs_here(&self) -> bool {
        match self {
            Under::Memory => true,
            Under::Redis => REDIS.runs_here(),
            Under::Tiered(l2) => l2.runs_here(),
        }
    }
}

const REDIS: Facility = Facility::Server(TEST_REDIS_URL);

fn memory() -> MemoryCache {
    MemoryCache::new(1000, Duration::from_secs(60))
}

async fn redis(url: &str) -> Arc<dyn Cache> {
    let prefix = format!("test:{}:", uuid::Uuid::now_v7());
    Arc::new(RedisCache::connect(url, &prefix).await.expect("redis"))
}

async fn cache_on(under: Under) -> Arc<dyn Cache> {
    match under {
        Under::Memory => Arc::new(memory()),
        Under::Redis => redis(&REDIS.url().expect("a Redis test server")).await,
        Under::Tiered(l2) => {
            let l2 = match l2.url() {
                Some(url) => Some(redis(&url).await),
                None => None,
            };
            Arc::new(TieredCache::new("test", memory(), l2))
        }
    }
}

async fn a_cached_value_is_returned_until_deleted(cache: Arc<dyn Cache>) {
    assert!(cache.get("k").await.is_none());
    cache
        .set("k", Bytes::from_static(b"v"), Duration::from_secs(60))
        .await;
    assert_eq!(cache.get("k").await.as_deref(), Some(&b"v"[..]));
    cache.delete("k").await;
    assert!(cache.get("k").await.is_none());
    assert!(cache.ready().await);
}

#[tokio::test]
async fn redis_entries_expire_after_their_time_to_live() {
    let Some(url) = REDIS.url().filter(|_| REDIS.runs_here()) else {
        return;
    };
    let cache = RedisCache::connect(&url, &format!("test:{}:", uuid::Uuid::now_v7()))
        .await
        .unwrap();
    cache
        .set("short", Bytes::from_static(b"v"), Duration::from_secs(1))
        .await;
    assert!(cache.get("short").await.is_some());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(cache.get("short").await.is_none());
}

#[tokio::test]
async fn a_replica_evicting_its_l1_sees_the_shared_l2_value() {
    let Some(url) = REDIS.url().filter(|_| REDIS.runs_here()) else {
        return;
    };
    let prefix = format!("test:{}:", uuid::Uuid::now_v7());
    let redis: Arc<dyn Cache> = Arc::new(RedisCache::connect(&url, &prefix).await.unwrap());
    let memory = || MemoryCache::new(100, Duration::from_secs(60));
    let replica_a = TieredCache::new("a", memory(), Some(redis.clone()));
    let replica_b = TieredCache::new("b", memory(), Some(redis));
    replica_a
        .set("p", Bytes::from_static(b"v1"), Duration::from_secs(60))
        .await;
    assert_eq!(replica_b.get("p").await.as_deref(), Some(&b"v1"[..]));
    // Replica A writes a new value; B still holds v1 in L1 until the change event evicts it.
    replica_a
        .set("p", Bytes::from_static(b"v2"), Duration::from_secs(60))
        .await;
    assert_eq!(replica_b.get("p").await.as_deref(), Some(&b"v1"[..]));
    replica_b.evict_local("p").await;
    assert_eq!(replica_b.get("p").await.as_deref(), Some(&b"v2"[..]));
}
