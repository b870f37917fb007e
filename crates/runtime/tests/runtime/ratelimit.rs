//! The rate-limiter suite: in process and on Redis, a client gets its allowance and no more.

use mercato_runtime::env::{TEST_REDIS_URL, test_url};
use mercato_runtime::ratelimit::{Decision, MemoryRateLimiter, RateLimiter, RedisRateLimiter};
use std::sync::Arc;

async fn limiters() -> Vec<(&'static str, Arc<dyn RateLimiter>)> {
    let mut limiters: Vec<(&'static str, Arc<dyn RateLimiter>)> =
        vec![("memory", Arc::new(MemoryRateLimiter::default()))];
    if let Some(url) = test_url(TEST_REDIS_URL) {
        let prefix = format!("test:{}:", uuid::Uuid::now_v7());
        limiters.push((
            "redis",
            Arc::new(RedisRateLimiter::connect(&url, &prefix).await.unwrap()),
        ));
    }
    limiters
}

#[tokio::test]
async fn a_client_gets_its_allowance_and_is_then_refused() {
    for (name, limiter) in limiters().await {
        let mut allowed = 0;
        for _ in 0..20 {
            if limiter.check("client-a", 5).await == Decision::Allow {
                allowed += 1;
            }
        }
        // Twenty quick calls span at most two one-second windows.
        assert!((5..=10).contains(&allowed), "{name}: {allowed} allowed");
        assert_eq!(
            limiter.check("client-b", 5).await,
            Decision::Allow,
            "{name}: clients are independent"
        );
    }
}
