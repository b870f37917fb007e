//! Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff and
//! Jitter"): the wait before retry `n` is uniform in `[0, min(cap, base · 2ⁿ)]`, so that
//! callers that failed together do not come back together.

use rand::Rng;
use std::time::Duration;

/// How often and how far apart idempotent calls are retried.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetrySettings {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The ceiling of the first wait.
    pub base: Duration,
    /// No wait is longer than this.
    pub cap: Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            max_attempts: 3,
            base: Duration::from_millis(40),
            cap: Duration::from_secs(1),
        }
    }
}

impl RetrySettings {
    /// The ceiling of the wait before retry number `retry` (0 for the first retry).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A wait drawn uniformly from `[0, ceiling(retry)]`.
    pub fn backoff(&self, retry: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling(retry).as_micros() as u64;
        Duration::from_micros(rng.gen_range(0..=ceiling))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let s = RetrySettings::default();
        let ceilings: Vec<_> = (0..7).map(|n| s.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [40, 80, 160, 320, 640, 1000, 1000]);
        assert_eq!(s.ceiling(u32::MAX), s.cap);
    }

    #[test]
    fn waits_stay_within_zero_and_the_ceiling_and_spread_over_it() {
        let s = RetrySettings::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let waits: Vec<_> = (0..2000).map(|_| s.backoff(2, &mut rng)).collect();
        assert!(waits.iter().all(|w| *w <= Duration::from_millis(160)));
        let below_a_quarter = waits.iter().filter(|w| **w < Duration::from_millis(40)).count();
        let above_three_quarters = waits.iter().filter(|w| **w > Duration::from_millis(120)).count();
        // Full jitter: each quarter of the range gets about a quarter of the waits.
        assert!((400..600).contains(&below_a_quarter), "{below_a_quarter}");
        assert!(
            (400..600).contains(&above_three_quarters),
            "{above_three_quarters}"
        );
    }
}
