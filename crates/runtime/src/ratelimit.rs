//! Per-client rate limits: in process when embedded, shared through Redis when distributed so
//! that a client gets the same allowance whichever gateway replica it reaches.
//!
//! Both count requests in one-second windows: a client may send `per_second` requests in each
//! window. Redis does it with one `INCR` and one `EXPIRE` per request; in process a map of
//! counters does the same. Fixed windows allow up to twice the rate across a window boundary,
//! which is the usual, accepted price of their simplicity.

use std::sync::Arc;
use std::time::Duration;

/// Whether a request may proceed, and if not, when to retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Retry after this many seconds.
    Reject {
        retry_after_secs: u64,
    },
}

/// A per-key request counter.
#[async_trait::async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Counts one request for `key` and decides against `per_second`.
    async fn check(&self, key: &str, per_second: u32) -> Decision;
}

fn current_window() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// Counters in this process.
pub struct MemoryRateLimiter {
    windows: moka::sync::Cache<(String, u64), Arc<std::sync::atomic::AtomicU32>>,
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        MemoryRateLimiter {
            windows: moka::sync::Cache::builder()
                .max_capacity(1_000_000)
                .time_to_live(Duration::from_secs(2))
                .build(),
        }
    }
}

#[async_trait::async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn check(&self, key: &str, per_second: u32) -> Decision {
        let counter = self
            .windows
            .get_with((key.to_owned(), current_window()), Default::default);
        let seen = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if seen <= per_second {
            Decision::Allow
        } else {
            Decision::Reject { retry_after_secs: 1 }
        }
    }
}

/// Counters in Redis, shared by every gateway replica.
pub struct RedisRateLimiter {
    conn: redis::aio::ConnectionManager,
    prefix: String,
}

impl RedisRateLimiter {
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let conn = redis::aio::ConnectionManager::new(redis::Client::open(url)?).await?;
        Ok(RedisRateLimiter {
            conn,
            prefix: format!("{prefix}rl:"),
        })
    }
}

#[async_trait::async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn check(&self, key: &str, per_second: u32) -> Decision {
        let key = format!("{}{key}:{}", self.prefix, current_window());
        let mut conn = self.conn.clone();
        let counted: redis::RedisResult<(u32, ())> = redis::pipe()
            .atomic()
            .incr(&key, 1)
            .expire(&key, 2)
            .query_async(&mut conn)
            .await;
        match counted {
            Ok((seen, ())) if seen > per_second => Decision::Reject { retry_after_secs: 1 },
            Ok(_) => Decision::Allow,
            Err(e) => {
                // Failing open: an unreachable Redis must not take the API down with it.
                tracing::warn!(error = %e, "rate limiter unavailable; allowing the request");
                Decision::Allow
            }
        }
    }
}
