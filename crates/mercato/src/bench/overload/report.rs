//! The figures of the overload bench: per phase, answers by status class, goodput, latency of
//! successes and of rejections; for the recovery, windows compared with the light-load
//! baseline; and the verdict against the goals (issue 11 item 7).

use super::actions::{Answer, Outcome};
use crate::bench::load::percentile;
use serde::Serialize;

/// Answers of one phase by class. A rejection is a 429 or 503 (the answers that tell a client
/// to come back); `other_5xx` counts every other 5xx, 504 included.
#[derive(Debug, Default, Serialize)]
pub struct Classes {
    pub ok_2xx: usize,
    pub other_4xx: usize,
    pub rejected_429: usize,
    pub rejected_503: usize,
    pub rejections_without_retry_after: usize,
    pub other_5xx: usize,
    pub client_timeouts: usize,
    pub connection_failures: usize,
}

impl Classes {
    fn count(&mut self, answer: Answer) {
        match answer {
            Answer::Status(200..=299, _) => self.ok_2xx += 1,
            Answer::Status(status @ (429 | 503), retry_after) => {
                if status == 429 {
                    self.rejected_429 += 1;
                } else {
                    self.rejected_503 += 1;
                }
                if !retry_after {
                    self.rejections_without_retry_after += 1;
                }
            }
            Answer::Status(500.., _) => self.other_5xx += 1,
            Answer::Status(..) => self.other_4xx += 1,
            Answer::TimedOut => self.client_timeouts += 1,
            Answer::Failed => self.connection_failures += 1,
        }
    }

    pub fn errors(&self) -> usize {
        self.other_4xx
            + self.rejected_429
            + self.rejected_503
            + self.other_5xx
            + self.client_timeouts
            + self.connection_failures
    }
}

/// The figures of one phase: requests due within it, goodput counted on the 2xx answers that
/// arrived within it.
#[derive(Debug, Serialize)]
pub struct Phase {
    pub phase: &'static str,
    pub seconds: f64,
    pub offered_rps: Option<f64>,
    pub requests: usize,
    pub classes: Classes,
    pub goodput_rps: f64,
    pub ok_p50_ms: f64,
    pub ok_p99_ms: f64,
    pub rejection_p50_ms: f64,
    pub rejection_p99_ms: f64,
    pub rejection_max_ms: f64,
    /// Rejections timed from the moment a connection was free (see [`Outcome::wire_us`]).
    pub rejection_wire_p50_ms: f64,
    pub rejection_wire_p99_ms: f64,
}

impl Phase {
    /// The outcomes due in `[from_us, to_us)`.
    pub fn of(
        phase: &'static str,
        outcomes: &[Outcome],
        (from_us, to_us): (u64, u64),
        offered_rps: Option<f64>,
    ) -> Phase {
        let inside: Vec<&Outcome> = outcomes
            .iter()
            .filter(|o| (from_us..to_us).contains(&o.due_us))
            .collect();
        let mut classes = Classes::default();
        let (mut ok, mut rejected, mut rejected_wire) = (Vec::new(), Vec::new(), Vec::new());
        for o in &inside {
            classes.count(o.answer);
            match o.answer {
                Answer::Status(200..=299, _) => ok.push(o.latency_us),
                Answer::Status(429 | 503, _) => {
                    rejected.push(o.latency_us);
                    rejected_wire.push(o.wire_us);
                }
                _ => {}
            }
        }
        ok.sort_unstable();
        rejected.sort_unstable();
        rejected_wire.sort_unstable();
        let seconds = (to_us - from_us) as f64 / 1e6;
        let arrived_ok = outcomes
            .iter()
            .filter(|o| o.ok() && (from_us..to_us).contains(&o.done_us()))
            .count();
        Phase {
            phase,
            seconds,
            offered_rps,
            requests: inside.len(),
            classes,
            goodput_rps: arrived_ok as f64 / seconds,
            ok_p50_ms: percentile(&ok, 50.0),
            ok_p99_ms: percentile(&ok, 99.0),
            rejection_p50_ms: percentile(&rejected, 50.0),
            rejection_p99_ms: percentile(&rejected, 99.0),
            rejection_max_ms: percentile(&rejected, 100.0),
            rejection_wire_p50_ms: percentile(&rejected_wire, 50.0),
            rejection_wire_p99_ms: percentile(&rejected_wire, 99.0),
        }
    }

    pub fn error_share(&self) -> f64 {
        self.classes.errors() as f64 / self.requests.max(1) as f64
    }

    pub fn print(&self) -> anyhow::Result<()> {
        let c = &self.classes;
        println!(
            "{:<9} {:>8.0} 2xx/s  ok p50 {:>7.2} p99 {:>8.2} ms | 429 {} 503 {} (p50 {:.2} p99 {:.2} ms; with a connection free p50 {:.2} p99 {:.2} ms; {} without Retry-After) | other 4xx {} other 5xx {} timeouts {} failed {}",
            self.phase,
            self.goodput_rps,
            self.ok_p50_ms,
            self.ok_p99_ms,
            c.rejected_429,
            c.rejected_503,
            self.rejection_p50_ms,
            self.rejection_p99_ms,
            self.rejection_wire_p50_ms,
            self.rejection_wire_p99_ms,
            c.rejections_without_retry_after,
            c.other_4xx,
            c.other_5xx,
            c.client_timeouts,
            c.connection_failures,
        );
        println!("{}", serde_json::to_string(self)?);
        Ok(())
    }
}

/// One window of the light load after the overload stopped: all answers' p99 and error share.
#[derive(Debug, Serialize)]
pub struct Window {
    pub from_s: f64,
    pub requests: usize,
    pub p99_ms: f64,
    pub error_share: f64,
}

/// Windows of `window_us` from `from_us` to `to_us`, over every answer due in each.
pub fn windows(outcomes: &[Outcome], from_us: u64, to_us: u64, window_us: u64) -> Vec<Window> {
    (from_us..to_us)
        .step_by(window_us as usize)
        .map(|start| {
            let inside: Vec<&Outcome> = outcomes
                .iter()
                .filter(|o| (start..start + window_us).contains(&o.due_us))
                .collect();
            let mut latencies: Vec<u64> = inside.iter().map(|o| o.latency_us).collect();
            latencies.sort_unstable();
            let errors = inside.iter().filter(|o| !o.ok()).count();
            Window {
                from_s: (start - from_us) as f64 / 1e6,
                requests: inside.len(),
                p99_ms: percentile(&latencies, 99.0),
                error_share: errors as f64 / inside.len().max(1) as f64,
            }
        })
        .collect()
}

/// Seconds from the end of the overload to the end of the first window whose p99 is within
/// twice the baseline's (or 5 ms of it) and whose error share is within a point of it.
pub fn recovered_after(baseline: &Phase, windows: &[Window], window_s: f64) -> Option<f64> {
    let all_p99 = baseline.ok_p99_ms.max(baseline.rejection_p99_ms);
    let p99_bound = (all_p99 * 2.0).max(all_p99 + 5.0);
    let error_bound = baseline.error_share() + 0.01;
    windows
        .iter()
        .find(|w| w.requests > 0 && w.p99_ms <= p99_bound && w.error_share <= error_bound)
        .map(|w| w.from_s + window_s)
}

/// The goals of issue 11 item 7, and how the run did against each.
#[derive(Debug, Serialize)]
pub struct Verdict {
    pub capacity_rps: f64,
    pub goodput_share_of_capacity: f64,
    pub rejection_p99_ms: f64,
    pub rejection_wire_p99_ms: f64,
    pub rejections_without_retry_after: usize,
    pub other_5xx: usize,
    pub recovery_seconds: Option<f64>,
    pub met: bool,
}

/// The most a recovery may take to count as "within seconds".
pub const RECOVERY_GOAL_S: f64 = 5.0;

impl Verdict {
    pub fn of(capacity: &Phase, overload: &Phase, recovery_seconds: Option<f64>) -> Verdict {
        let share = overload.goodput_rps / capacity.goodput_rps.max(f64::MIN_POSITIVE);
        let c = &overload.classes;
        let met = share >= 0.9
            && overload.rejection_p99_ms < 50.0
            && c.rejections_without_retry_after == 0
            && c.other_5xx == 0
            && recovery_seconds.is_some_and(|s| s <= RECOVERY_GOAL_S);
        Verdict {
            capacity_rps: capacity.goodput_rps,
            goodput_share_of_capacity: share,
            rejection_p99_ms: overload.rejection_p99_ms,
            rejection_wire_p99_ms: overload.rejection_wire_p99_ms,
            rejections_without_retry_after: c.rejections_without_retry_after,
            other_5xx: c.other_5xx,
            recovery_seconds,
            met,
        }
    }

    pub fn print(&self) -> anyhow::Result<()> {
        println!(
            "overload: goodput {:.1} % of capacity ({:.0} 2xx/s), rejections p99 {:.2} ms ({:.2} ms with a connection free), {} without Retry-After, other 5xx {}, recovered after {} — goals {}",
            self.goodput_share_of_capacity * 100.0,
            self.capacity_rps,
            self.rejection_p99_ms,
            self.rejection_wire_p99_ms,
            self.rejections_without_retry_after,
            self.other_5xx,
            self.recovery_seconds
                .map_or("never (within the watch)".to_owned(), |s| format!("{s:.1} s")),
            if self.met { "met" } else { "NOT met" },
        );
        println!("{}", serde_json::to_string(self)?);
        Ok(())
    }
}
