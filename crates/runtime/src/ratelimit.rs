//! Per-client rate limits: in process when embedded, shared through Redis when distributed so
//! that a client gets the same allowance whichever gateway replica it reaches.
//!
//! Both count requests in one-second windows: a client may send `per_second` requests in each
//! window. Redis does it with one `INCR` and one `EXPIRE` per request; in process a map of
//! counters does the same. Fixed windows allow up to twice the rate across a window boundary,
//! which is the usual, accepted price of their simplicity. When Redis does not answer, the
//! distributed limiter falls back to counting in process (see [`RedisRateLimiter`]).

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

/// How long a request waits for Redis's count before it is counted in this process instead: an
/// unreachable Redis (whose client retries its connection for seconds) must cost a request no
/// more than this.
const REDIS_BUDGET: Duration = Duration::from_millis(250);

/// Counters in Redis, shared by every gateway replica. While Redis does not answer within
/// [`REDIS_BUDGET`], each process counts in its own memory: the limit holds per replica rather
/// than across them, and no request waits for Redis.
pub struct RedisRateLimiter {
    conn: redis::aio::ConnectionManager,
    prefix: String,
    local: MemoryRateLimiter,
}

impl RedisRateLimiter {
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(REDIS_BUDGET));
        let conn = redis::aio::ConnectionManager::new_with_config(redis::Client::open(url)?, config).await?;
        Ok(RedisRateLimiter {
            conn,
            prefix: format!("{prefix}rl:"),
            local: MemoryRateLimiter::default(),
        })
    }
}

#[async_trait::async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn check(&self, key: &str, per_second: u32) -> Decision {
        let window_key = format!("{}{key}:{}", self.prefix, current_window());
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.atomic().incr(&window_key, 1).expire(&window_key, 2);
        let counting = pipe.query_async::<(u32, ())>(&mut conn);
        let error = match tokio::time::timeout(REDIS_BUDGET, counting).await {
            Ok(Ok((seen, ()))) if seen > per_second => return Decision::Reject { retry_after_secs: 1 },
            Ok(Ok(_)) => return Decision::Allow,
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {REDIS_BUDGET:?}"),
        };
        tracing::warn!(error = %error, "rate limiter's Redis unavailable; counting in this process");
        self.local.check(key, per_second).await
    }
}
