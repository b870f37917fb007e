//! The circuit breaker of one upstream: closed (calls pass, failures are counted), open (calls
//! fail at once until a cool-down ends), half-open (one probe call decides: success closes,
//! failure opens again). Only failures of the upstream itself count — `unavailable` and
//! `timeout` — never a business answer such as `not_found` or `out_of_stock`.
//!
//! The breaker is a plain state machine: every method takes the current instant, so tests run
//! it on a made-up clock; [`super::Upstream`] holds it under a mutex and records its metrics.

use super::window::SlidingWindow;
use std::time::{Duration, Instant};

/// When a breaker opens and for how long.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BreakerSettings {
    /// Opens after this many failures in a row.
    pub consecutive_failures: u32,
    /// Or when at least this share of the calls in the window failed…
    pub failure_ratio: f64,
    /// …and the window holds at least this many calls (a few calls prove nothing).
    pub minimum_calls: u64,
    /// The window of the failure ratio.
    pub window: Duration,
    /// How long it stays open before letting one probe through.
    pub cool_down: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        BreakerSettings {
            consecutive_failures: 5,
            failure_ratio: 0.5,
            minimum_calls: 20,
            window: Duration::from_secs(10),
            cool_down: Duration::from_secs(2),
        }
    }
}

/// The three states, as the state gauge reports them (0, 1, 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }

    pub fn gauge_value(self) -> f64 {
        match self {
            BreakerState::Closed => 0.0,
            BreakerState::Open => 1.0,
            BreakerState::HalfOpen => 2.0,
        }
    }
}

/// Whether a call may go to the upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Closed: go ahead.
    Pass,
    /// Half-open: this call is the one probe; its outcome decides the state.
    Probe,
    /// Open (or half-open with its probe in flight): fail now, try again after this long.
    Refuse { retry_after: Duration },
}

/// How a call that was admitted ended, for the breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An answer, including a business error: the upstream works.
    Answered,
    /// Unavailable or timed out.
    Failed,
}

#[derive(Debug)]
enum Phase {
    Closed,
    Open { until: Instant },
    HalfOpen { probe_in_flight: bool },
}

/// One upstream's breaker (see the module documentation).
#[derive(Debug)]
pub struct Breaker {
    settings: BreakerSettings,
    phase: Phase,
    failures_in_a_row: u32,
    window: SlidingWindow,
}

impl Breaker {
    pub fn new(settings: BreakerSettings, now: Instant) -> Self {
        Breaker {
            settings,
            phase: Phase::Closed,
            failures_in_a_row: 0,
            window: SlidingWindow::new(settings.window, now),
        }
    }

    pub fn state(&self) -> BreakerState {
        match self.phase {
            Phase::Closed => BreakerState::Closed,
            Phase::Open { .. } => BreakerState::Open,
            Phase::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Decides whether a call may go now; an open breaker whose cool-down ended turns
    /// half-open and admits this call as its probe.
    pub fn admit(&mut self, now: Instant) -> Admission {
        match self.phase {
            Phase::Closed => Admission::Pass,
            Phase::Open { until } if now < until => Admission::Refuse {
                retry_after: until - now,
            },
            Phase::Open { .. }
            | Phase::HalfOpen {
                probe_in_flight: false,
            } => {
                self.phase = Phase::HalfOpen {
                    probe_in_flight: true,
                };
                Admission::Probe
            }
            Phase::HalfOpen {
                probe_in_flight: true,
            } => Admission::Refuse {
                retry_after: self.settings.cool_down,
            },
        }
    }

    /// Records how an admitted call ended and returns the new state.
    pub fn record(&mut self, now: Instant, admission: Admission, outcome: Outcome) -> BreakerState {
        match (admission, outcome) {
            (Admission::Probe, Outcome::Answered) => self.close(),
            (Admission::Probe, Outcome::Failed) => self.open(now),
            (Admission::Pass, _) if matches!(self.phase, Phase::Closed) => self.count(now, outcome),
            // A call admitted before the breaker opened ends after it: it changes nothing.
            _ => {}
        }
        self.state()
    }

    /// A probe that never ran (the caller gave up first) frees the half-open slot.
    pub fn abandon(&mut self, admission: Admission) {
        if admission == Admission::Probe {
            self.phase = Phase::HalfOpen {
                probe_in_flight: false,
            };
        }
    }

    fn count(&mut self, now: Instant, outcome: Outcome) {
        let failed = outcome == Outcome::Failed;
        self.window.add(now, failed);
        self.failures_in_a_row = if failed { self.failures_in_a_row + 1 } else { 0 };
        let (calls, failures) = self.window.totals(now);
        let ratio_exceeded = calls >= self.settings.minimum_calls
            && failures as f64 >= self.settings.failure_ratio * calls as f64;
        if failed && (self.failures_in_a_row >= self.settings.consecutive_failures || ratio_exceeded) {
            self.open(now);
        }
    }

    fn open(&mut self, now: Instant) {
        self.phase = Phase::Open {
            until: now + self.settings.cool_down,
        };
    }

    fn close(&mut self) {
        self.phase = Phase::Closed;
        self.failures_in_a_row = 0;
        self.window.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(t0: Instant) -> Breaker {
        Breaker::new(BreakerSettings::default(), t0)
    }

    fn fail(b: &mut Breaker, at: Instant) -> BreakerState {
        let admission = b.admit(at);
        b.record(at, admission, Outcome::Failed)
    }

    fn succeed(b: &mut Breaker, at: Instant) -> BreakerState {
        let admission = b.admit(at);
        b.record(at, admission, Outcome::Answered)
    }

    #[test]
    fn opens_after_five_failures_in_a_row_and_refuses_until_the_cool_down_ends() {
        let t0 = Instant::now();
        let mut b = breaker(t0);
        for _ in 0..4 {
            assert_eq!(fail(&mut b, t0), BreakerState::Closed);
        }
        assert_eq!(fail(&mut b, t0), BreakerState::Open);
        let later = t0 + Duration::from_millis(500);
        assert_eq!(
            b.admit(later),
            Admission::Refuse {
                retry_after: Duration::from_millis(1500)
            }
        );
    }

    #[test]
    fn an_answer_resets_the_run_of_failures() {
        let t0 = Instant::now();
        let mut b = breaker(t0);
        for _ in 0..4 {
            fail(&mut b, t0);
        }
        succeed(&mut b, t0);
        for _ in 0..4 {
            assert_eq!(fail(&mut b, t0), BreakerState::Closed);
        }
    }

    #[test]
    fn opens_on_the_failure_ratio_once_the_window_holds_enough_calls() {
        let t0 = Instant::now();
        let mut b = breaker(t0);
        // Alternating answers and failures: never five in a row, but half of them failed.
        for i in 0..19 {
            let state = if i % 2 == 0 {
                fail(&mut b, t0)
            } else {
                succeed(&mut b, t0)
            };
            assert_eq!(state, BreakerState::Closed, "call {i}");
        }
        succeed(&mut b, t0);
        assert_eq!(fail(&mut b, t0), BreakerState::Open, "11 of 21 failed");
    }

    #[test]
    fn half_open_admits_one_probe_whose_answer_closes_the_breaker() {
        let t0 = Instant::now();
        let mut b = breaker(t0);
        for _ in 0..5 {
            fail(&mut b, t0);
        }
        let after = t0 + Duration::from_secs(2);
        let probe = b.admit(after);
        assert_eq!(probe, Admission::Probe);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(
            matches!(b.admit(after), Admission::Refuse { .. }),
            "one probe at a time"
        );
        assert_eq!(b.record(after, probe, Outcome::Answered), BreakerState::Closed);
        assert_eq!(b.admit(after), Admission::Pass);
    }

    #[test]
    fn a_failed_probe_opens_it_for_another_cool_down() {
        let t0 = Instant::now();
        let mut b = breaker(t0);
        for _ in 0..5 {
            fail(&mut b, t0);
        }
        let after = t0 + Duration::from_secs(3);
        assert_eq!(fail(&mut b, after), BreakerState::Open);
        assert_eq!(
            b.admit(after + Duration::from_secs(1)),
            Admission::Refuse {
                retry_after: Duration::from_secs(1)
            }
        );
    }

    #[test]
    fn an_abandoned_probe_lets_the_next_call_probe() {
        let t0 = Instant::now();
        let mut b = breaker(t0);
        for _ in 0..5 {
            fail(&mut b, t0);
        }
        let after = t0 + Duration::from_secs(2);
        let probe = b.admit(after);
        b.abandon(probe);
        assert_eq!(b.admit(after), Admission::Probe);
    }

    #[test]
    fn calls_admitted_before_it_opened_do_not_move_it() {
        let t0 = Instant::now();
        let mut b = breaker(t0);
        let early = b.admit(t0);
        for _ in 0..5 {
            fail(&mut b, t0);
        }
        assert_eq!(b.record(t0, early, Outcome::Answered), BreakerState::Open);
    }
}
