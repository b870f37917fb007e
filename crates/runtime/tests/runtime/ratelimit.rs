//! The rate-limiter suite: in process and on Redis, a client gets its allowance and no more.
//! Each case is one test per limiter (`case::memory`, `case::redis`).

use mercato_runtime::env::TEST_REDIS_URL;
use mercato_runtime::ratelimit::{Decision, MemoryRateLimiter, RateLimiter, RedisRateLimiter};
use mercato_runtime::testing::Facility;
use std::sync::Arc;

mercato_runtime::backend_tests! {
    setup: limiter_on,
    variants: { memory: Facility::InProcess, redis: Facility::Server(TEST_REDIS_URL) },
    cases: [a_client_gets_its_allowance_and_is_then_refused],
}

async fn limiter_on(facility: Facility) -> Arc<dyn RateLimiter> {
    let Some(url) = facility.url() else {
        return Arc::new(MemoryRateLimiter::default());
    };
    let prefix = format!("test:{}:", uuid::Uuid::now_v7());
    Arc::new(RedisRateLimiter::connect(&url, &prefix).await.unwrap())
}

async fn a_client_gets_its_allowance_and_is_then_refused(limiter: Arc<dyn RateLimiter>) {
    let mut allowed = 0;
    for _ in 0..20 {
        if limiter.check("client-a", 5).await == Decision::Allow {
            allowed += 1;
        }
    }
    // Twenty quick calls span at most two one-second windows.
    assert!((5..=10).contains(&allowed), "{allowed} allowed");
    assert_eq!(
        limiter.check("client-b", 5).await,
        Decision::Allow,
        "clients are independent"
    );
}
