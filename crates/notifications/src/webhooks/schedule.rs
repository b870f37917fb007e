//! The retry schedule: the n-th failed attempt waits `retry_base × 4^(n-1)`, at most
//! `retry_max`, then ±20 % jitter; a delivery older than `retry_for` when an attempt fails is
//! dead.

use mercato_runtime::config::WebhookSettings;
use rand::Rng;
use std::time::Duration;

/// The delay before the next attempt after `attempts` failed ones, before jitter.
pub(crate) fn base_delay(settings: &WebhookSettings, attempts: u32) -> Duration {
    let exponent = attempts.saturating_sub(1).min(30);
    let factor = 4u64.saturating_pow(exponent);
    let base = u64::try_from(settings.retry_base.as_millis()).unwrap_or(u64::MAX);
    let delay = Duration::from_millis(base.saturating_mul(factor));
    delay.min(settings.retry_max)
}

/// When the next attempt is due (epoch ms) after `attempts` failed ones at `now`, with jitter.
pub(crate) fn next_attempt_at(settings: &WebhookSettings, attempts: u32, now: i64) -> i64 {
    let delay = base_delay(settings, attempts).as_millis() as f64;
    let jittered = delay * rand::thread_rng().gen_range(0.8..=1.2);
    now + jittered.round() as i64
}

/// Whether a delivery made at `created_at` is given up after an attempt failed at `now`.
pub(crate) fn is_dead(settings: &WebhookSettings, created_at: i64, now: i64) -> bool {
    let retry_for = i64::try_from(settings.retry_for.as_millis()).unwrap_or(i64::MAX);
    now.saturating_sub(created_at) > retry_for
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_fourfold_up_to_the_cap_with_jitter() {
        let settings = WebhookSettings::default();
        let secs = |n| base_delay(&settings, n).as_secs();
        assert_eq!([secs(1), secs(2), secs(3), secs(4)], [5, 20, 80, 320]);
        assert_eq!(secs(20), 12 * 3600);
        for _ in 0..100 {
            let at = next_attempt_at(&settings, 2, 0);
            assert!((16_000..=24_000).contains(&at), "{at}");
        }
        assert!(!is_dead(&settings, 0, 3 * 24 * 3600 * 1000));
        assert!(is_dead(&settings, 0, 4 * 24 * 3600 * 1000));
    }
}
