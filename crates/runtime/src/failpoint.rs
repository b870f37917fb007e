//! Failpoints for crash tests, and for nothing else: `MERCATO_FAILPOINT=<name>` makes the
//! process abort (no unwinding, no draining, no destructors — as if it were killed) the first
//! time it reaches `hit("<name>")`. `deploy/local/crash-test.sh` uses them to kill a service at
//! the worst moments of the checkout saga and then audits what the restarted platform makes of
//! it.
//!
//! The variable is read once, on the first `hit`; afterwards a `hit` costs one comparison of an
//! `Option` (and a string comparison only when a failpoint is configured). Names in use:
//! `orders.after_reserve`, `orders.during_compensation`, `payments.after_provider_authorize`,
//! `payments.after_capture`.

use std::sync::OnceLock;

/// The environment variable naming the failpoint to trigger.
pub const ENV: &str = "MERCATO_FAILPOINT";

fn configured() -> Option<&'static str> {
    static NAME: OnceLock<Option<String>> = OnceLock::new();
    NAME.get_or_init(|| std::env::var(ENV).ok().filter(|n| !n.is_empty()))
        .as_deref()
}

/// Aborts the process if `name` is the configured failpoint; otherwise does nothing.
pub fn hit(name: &str) {
    if configured() == Some(name) {
        eprintln!("failpoint {name}: aborting the process (crash test)");
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_unconfigured_failpoint_does_nothing() {
        // The test environment does not set MERCATO_FAILPOINT to this name.
        super::hit("tests.never_configured");
    }
}
