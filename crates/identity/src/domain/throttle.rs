//! Brute-force protection of the password grant, as rules: which keys a sign-in counts
//! against, and how long a key is locked after a number of failures.
//!
//! Failures are counted per account (store slug and normalised email, whether or not that
//! account exists, so a lock reveals nothing) and per client address. Past a key's free
//! failures, each further one locks it for a window that doubles, up to a cap.

use super::tokens::secret_hash;
use std::time::Duration;

/// How many failures a key may have before it is locked, and how long the locks are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Failures before the first lock; 0 means the key is never locked.
    pub free_failures: u32,
    /// The first lock, in milliseconds.
    pub base_ms: i64,
    /// The longest lock, in milliseconds.
    pub max_ms: i64,
}

impl Policy {
    pub fn new(free_failures: u32, base: Duration, max: Duration) -> Policy {
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Policy {
            free_failures,
            base_ms: ms(base).max(1),
            max_ms: ms(max).max(1),
        }
    }

    /// How long a key with `failures` failures (this one included) is locked: nothing up to
    /// the free failures, then the base, twice it, four times it… never more than the cap.
    pub fn lock_ms(&self, failures: i64) -> i64 {
        if self.free_failures == 0 || failures <= i64::from(self.free_failures) {
            return 0;
        }
        let doublings = u32::try_from(failures - i64::from(self.free_failures) - 1).unwrap_or(u32::MAX);
        let factor = 1i64.checked_shl(doublings.min(62)).unwrap_or(i64::MAX);
        self.base_ms.saturating_mul(factor).min(self.max_ms)
    }
}

/// One key failures are counted against, with its policy. The key is a SHA-256, so the table
/// holds neither email addresses nor client addresses in clear.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailureKey {
    pub key: String,
    pub policy: Policy,
}

impl FailureKey {
    /// The account a sign-in names (store slug and normalised email).
    pub fn account(store_slug: &str, email: &str, policy: Policy) -> FailureKey {
        FailureKey {
            key: secret_hash(&format!("account\u{0}{store_slug}\u{0}{email}")),
            policy,
        }
    }

    /// The client address a sign-in came from.
    pub fn address(ip: &str, policy: Policy) -> FailureKey {
        FailureKey {
            key: secret_hash(&format!("address\u{0}{ip}")),
            policy,
        }
    }
}

/// Whole seconds until `locked_until` (rounded up, at least 1), for `Retry-After`.
pub fn retry_after_secs(locked_until: i64, now: i64) -> u64 {
    u64::try_from((locked_until - now + 999) / 1000)
        .unwrap_or(0)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_start_after_the_free_failures_and_double_up_to_the_cap() {
        let p = Policy::new(5, Duration::from_secs(1), Duration::from_secs(60));
        let locks: Vec<i64> = (1..=13).map(|f| p.lock_ms(f)).collect();
        assert_eq!(
            locks,
            [
                0, 0, 0, 0, 0, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000
            ]
        );
        assert_eq!(p.lock_ms(i64::MAX), 60_000);
        let off = Policy::new(0, Duration::from_secs(1), Duration::from_secs(60));
        assert_eq!(off.lock_ms(1_000), 0);
    }

    #[test]
    fn keys_do_not_hold_the_email_or_address_and_differ_by_kind() {
        let p = Policy::new(5, Duration::from_secs(1), Duration::from_secs(60));
        let account = FailureKey::account("shop", "ann@example.com", p);
        assert!(!account.key.contains("ann"));
        assert_ne!(
            account.key,
            FailureKey::account("shop2", "ann@example.com", p).key
        );
        assert_ne!(
            FailureKey::address("shop", p).key,
            FailureKey::account("shop", "", p).key
        );
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(10_001, 9_000), 2);
        assert_eq!(retry_after_secs(10_000, 9_000), 1);
        assert_eq!(retry_after_secs(9_000, 9_000), 1);
    }
}
