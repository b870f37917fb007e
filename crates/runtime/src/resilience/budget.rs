//! The retry budget of one client: retries may add at most a fixed share to the requests it
//! sent over a sliding window (plus a small reserve, so that a quiet client can still retry), as
//! Finagle's and Envoy's budgets do. When an upstream fails, every caller retrying every call
//! would multiply its load; with the budget, load grows by that share at most.

use super::window::SlidingWindow;
use std::time::{Duration, Instant};

/// The size of a budget.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BudgetSettings {
    /// Retries allowed per first attempt (0.1: ten retries per hundred requests).
    pub ratio: f64,
    /// Retries allowed in every window regardless of traffic.
    pub reserve: u64,
    /// The window over which requests and retries are counted.
    pub window: Duration,
}

impl Default for BudgetSettings {
    fn default() -> Self {
        BudgetSettings {
            ratio: 0.1,
            reserve: 10,
            window: Duration::from_secs(10),
        }
    }
}

/// Counts first attempts and retries; [`RetryBudget::try_retry`] spends from it.
#[derive(Debug)]
pub struct RetryBudget {
    settings: BudgetSettings,
    /// `[total, marked]` = `[requests and retries, retries]`.
    window: SlidingWindow,
}

impl RetryBudget {
    pub fn new(settings: BudgetSettings, now: Instant) -> Self {
        RetryBudget {
            settings,
            window: SlidingWindow::new(settings.window, now),
        }
    }

    /// Counts a first attempt.
    pub fn record_request(&mut self, now: Instant) {
        self.window.add(now, false);
    }

    /// Spends one retry if the budget has one left; false means: do not retry.
    pub fn try_retry(&mut self, now: Instant) -> bool {
        let (all, retries) = self.window.totals(now);
        let requests = all - retries;
        let allowed = (self.settings.ratio * requests as f64).floor() as u64 + self.settings.reserve;
        if retries >= allowed {
            return false;
        }
        self.window.add(now, true);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_are_a_tenth_of_requests_plus_the_reserve() {
        let t0 = Instant::now();
        let mut budget = RetryBudget::new(BudgetSettings::default(), t0);
        for _ in 0..200 {
            budget.record_request(t0);
        }
        let granted = (0..100).filter(|_| budget.try_retry(t0)).count();
        assert_eq!(granted, 20 + 10);
    }

    #[test]
    fn an_idle_client_has_only_the_reserve() {
        let t0 = Instant::now();
        let mut budget = RetryBudget::new(BudgetSettings::default(), t0);
        let granted = (0..100).filter(|_| budget.try_retry(t0)).count();
        assert_eq!(granted, 10);
    }

    #[test]
    fn spent_retries_return_when_they_leave_the_window() {
        let t0 = Instant::now();
        let mut budget = RetryBudget::new(BudgetSettings::default(), t0);
        while budget.try_retry(t0) {}
        assert!(!budget.try_retry(t0 + Duration::from_secs(5)));
        assert!(budget.try_retry(t0 + Duration::from_secs(11)));
    }
}
