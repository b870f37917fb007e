//! Deadlines across hops: a call never waits longer than its caller will.
//!
//! The deadline of the work in progress is a task-local instant. The gateway sets it from its
//! request timeout ([`scope_http_request`]); a gRPC server sets it from the caller's
//! `grpc-timeout` header ([`from_grpc_timeout`], read in `http::observe_grpc_server`); a client
//! call runs the callee under `min(own deadline, inherited)` — in process directly inside that
//! scope, over gRPC as the request's `grpc-timeout` (tonic writes it from `set_timeout`).

use std::future::Future;
use std::time::{Duration, Instant};

tokio::task_local! {
    static DEADLINE: Instant;
}

/// The deadline of the current task, if one was set.
pub fn current() -> Option<Instant> {
    DEADLINE.try_with(|d| *d).ok()
}

/// The deadline of a call whose own timeout is `own`: the sooner of `now + own` and the
/// inherited deadline.
pub fn for_call(own: Duration) -> Instant {
    let own = Instant::now() + own;
    current().map_or(own, |inherited| inherited.min(own))
}

/// Runs `work` with `deadline` as the current deadline (nested scopes may only shorten it).
pub async fn scope<F: Future>(deadline: Instant, work: F) -> F::Output {
    let deadline = current().map_or(deadline, |inherited| inherited.min(deadline));
    DEADLINE.scope(deadline, work).await
}

/// Parses a `grpc-timeout` header value (`<up to 8 digits><unit>`, unit one of H M S m u n).
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// The deadline a gRPC request's headers carry, counted from now.
pub fn from_grpc_timeout(headers: &http::HeaderMap) -> Option<Instant> {
    let value = headers.get("grpc-timeout")?.to_str().ok()?;
    Some(Instant::now() + parse_grpc_timeout(value)?)
}

/// Middleware giving each HTTP request the deadline `timeout` from now (the gateway passes its
/// request timeout), so that every service call it makes ends by then.
pub async fn scope_http_request(
    axum::extract::State(timeout): axum::extract::State<Duration>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    scope(Instant::now() + timeout, next.run(request)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeout_values_parse_in_every_unit_and_refuse_malformed_ones() {
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("3S"), Some(Duration::from_secs(3)));
        assert_eq!(parse_grpc_timeout("2M"), Some(Duration::from_secs(120)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(
            parse_grpc_timeout("99999999u"),
            Some(Duration::from_micros(99_999_999))
        );
        assert_eq!(parse_grpc_timeout("7n"), Some(Duration::from_nanos(7)));
        for bad in ["", "m", "123456789m", "12x", "-1S", "1.5S"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_call_takes_the_sooner_of_its_own_and_the_inherited_deadline() {
        assert_eq!(current(), None);
        let outer = Instant::now() + Duration::from_millis(100);
        scope(outer, async move {
            assert_eq!(for_call(Duration::from_secs(5)), outer);
            assert!(for_call(Duration::from_millis(10)) < outer);
            // A nested scope cannot extend the deadline.
            scope(outer + Duration::from_secs(1), async move {
                assert_eq!(current(), Some(outer));
            })
            .await;
        })
        .await;
    }
}
