//! The cache suite: memory, Redis and the tiered cache behave alike.

use bytes::Bytes;
use mercato_runtime::cache::{Cache, MemoryCache, RedisCache, TieredCache};
use mercato_runtime::env::{TEST_REDIS_URL, test_url};
use std::sync::Arc;
use std::time::Duration;

async fn caches() -> Vec<(&'static str, Arc<dyn Cache>)> {
    let memory = || MemoryCache::new(1000, Duration::from_secs(60));
    let mut caches: Vec<(&'static str, Arc<dyn Cache>)> = vec![
        ("memory", Arc::new(memory())),
        (
            "tiered-memory",
            Arc::new(TieredCache::new("test", memory(), None)),
        ),
    ];
    if let Some(url) = test_url(TEST_REDIS_URL) {
        let prefix = format!("test:{}:", uuid::Uuid::now_v7());
        let redis: Arc<dyn Cache> = Arc::new(RedisCache::connect(&url, &prefix).await.expect("redis"));
        caches.push(("redis", redis.clone()));
        caches.push((
            "tiered-redis",
            Arc::new(TieredCache::new("test", memory(), Some(redis))),
        ));
    }
    caches
}

#[tokio::test]
async fn a_cached_value_is_returned_until_deleted() {
    for (name, cache) in caches().await {
        assert!(cache.get("k").await.is_none(), "{name}");
        cache
            .set("k", Bytes::from_static(b"v"), Duration::from_secs(60))
            .await;
        assert_eq!(cache.get("k").await.as_deref(), Some(&b"v"[..]), "{name}");
        cache.delete("k").await;
        assert!(cache.get("k").await.is_none(), "{name}");
        assert!(cache.ready().await, "{name}");
    }
}

#[tokio::test]
async fn redis_entries_expire_after_their_time_to_live() {
    let Some(url) = test_url(TEST_REDIS_URL) else {
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
    let Some(url) = test_url(TEST_REDIS_URL) else {
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
