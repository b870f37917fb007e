//! The retry schedule: exponential backoff with full jitter, so that jobs failing together (a
//! dependency down) do not come back together.

use super::KindPolicy;
use rand::Rng;
use std::time::Duration;

/// The longest wait before attempt `attempt + 1`, after `attempt` failed (1-based):
/// `backoff_base · 2^(attempt-1)`, capped at `backoff_max`.
pub fn retry_ceiling(policy: &KindPolicy, attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(31);
    policy
        .backoff_base
        .saturating_mul(1u32 << doublings)
        .min(policy.backoff_max)
}

/// The wait before the next attempt: uniform in `[0, retry_ceiling]` ("full jitter").
pub fn retry_delay(policy: &KindPolicy, attempt: u32) -> Duration {
    let ceiling = retry_ceiling(policy, attempt);
    let ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::thread_rng().gen_range(0..=ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> KindPolicy {
        KindPolicy {
            kind: "test.backoff",
            max_attempts: 10,
            concurrency: 1,
            per_store: 1,
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_millis(1_000),
            lease: Duration::from_secs(30),
        }
    }

    #[test]
    fn the_ceiling_doubles_per_attempt_up_to_the_maximum() {
        let ceilings: Vec<u128> = (1..=6).map(|a| retry_ceiling(&policy(), a).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1_000, 1_000]);
        assert_eq!(retry_ceiling(&policy(), 200).as_millis(), 1_000, "no overflow");
    }

    #[test]
    fn delays_are_jittered_within_the_ceiling_and_grow_on_average() {
        let mut means = Vec::new();
        for attempt in 1..=4 {
            let ceiling = retry_ceiling(&policy(), attempt);
            let delays: Vec<Duration> = (0..400).map(|_| retry_delay(&policy(), attempt)).collect();
            assert!(delays.iter().all(|d| *d <= ceiling), "attempt {attempt}");
            let distinct: std::collections::HashSet<_> = delays.iter().collect();
            assert!(distinct.len() > 10, "jittered, not fixed: {distinct:?}");
            means.push(delays.iter().sum::<Duration>().as_millis() / 400);
        }
        assert!(means.windows(2).all(|w| w[0] < w[1]), "means grow: {means:?}");
    }
}
