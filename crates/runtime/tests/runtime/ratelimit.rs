//! The rate-limiter suite: in process and on Redis, a client gets its allowance and no more.
//! Each case is one test per limiter (`case::memory`, `case::redis`); a Redis that stops
//! answering costs a request at most a moment, and the limit is then counted in process.

use mercato_runtime::env::TEST_REDIS_URL;
use mercato_runtime::ratelimit::{Decision, MemoryRateLimiter, RateLimiter, RedisRateLimiter};
use mercato_runtime::testing::Facility;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

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

/// A TCP proxy to Redis that can stop forwarding, as a paused (SIGSTOP) Redis does: connections
/// stay open and nothing is answered.
async fn stallable_proxy(redis_url: &str) -> (String, Arc<AtomicBool>) {
    let target = redis_url
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}", listener.local_addr().unwrap());
    let stalled = Arc::new(AtomicBool::new(false));
    let flag = stalled.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = tokio::net::TcpStream::connect(&target).await.unwrap();
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::spawn(forward(client_read, server_write, flag.clone()));
            tokio::spawn(forward(server_read, client_write, flag.clone()));
        }
    });
    (url, stalled)
}

/// Copies bytes one way, swallowing them while stalled.
async fn forward(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, stalled: Arc<AtomicBool>) {
    let mut buffer = [0u8; 4096];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if !stalled.load(Ordering::SeqCst) && to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn a_stalled_redis_costs_no_request_more_than_a_moment_and_limits_hold_in_process() {
    let Some(redis_url) = Facility::Server(TEST_REDIS_URL).url() else {
        return;
    };
    let (url, stalled) = stallable_proxy(&redis_url).await;
    let prefix = format!("test:{}:", uuid::Uuid::now_v7());
    let limiter = RedisRateLimiter::connect(&url, &prefix).await.unwrap();
    assert_eq!(limiter.check("client-a", 3).await, Decision::Allow);
    stalled.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let mut decisions = Vec::new();
    for _ in 0..6 {
        let decision = tokio::time::timeout(Duration::from_secs(5), limiter.check("client-b", 2))
            .await
            .expect("a stalled Redis must not hold a request");
        decisions.push(decision);
    }
    // Six checks at up to 250 ms each span at most 1.5 s: two one-second windows, one of which
    // then holds at least three of them, or three windows whose middle one holds four. The
    // in-process count allows two per window, so at least one check is refused.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        decisions.contains(&Decision::Reject { retry_after_secs: 1 }),
        "{decisions:?}"
    );
}
