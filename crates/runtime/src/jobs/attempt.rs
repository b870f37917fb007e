//! One attempt of a job: the handler runs in its own task while this one keeps the lease,
//! stops the handler (its `stop` token) when the job is cancelled, the lease lost or the runner
//! stops, and finally records the outcome.

use super::finish::{self, Held, Outcome};
use super::lease::Lease;
use super::metrics;
use super::progress::AttemptProgress;
use super::{JobContext, JobError, JobHandler, JobOutput, Jobs, KindPolicy};
use crate::shutdown::Shutdown;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// Why an attempt's `stop` token was cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StopReason {
    Cancelled,
    LeaseLost,
    Shutdown,
}

impl StopReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Cancelled => "cancelled",
            StopReason::LeaseLost => "lease lost",
            StopReason::Shutdown => "the worker is stopping",
        }
    }

    fn code(self) -> u8 {
        match self {
            StopReason::Cancelled => 1,
            StopReason::LeaseLost => 2,
            StopReason::Shutdown => 3,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(StopReason::Cancelled),
            2 => Some(StopReason::LeaseLost),
            3 => Some(StopReason::Shutdown),
            _ => None,
        }
    }
}

/// A running attempt's state, shared by its lease keeper, its progress sink and the runner.
pub(crate) struct Attempt {
    pub lease: Lease,
    pub policy: KindPolicy,
    /// A child of the runner's shutdown token: cancelled by it too.
    pub stop: Shutdown,
    reason: AtomicU8,
    started_ms: i64,
    last_progress: Mutex<Option<Instant>>,
}

impl Attempt {
    pub fn new(lease: Lease, policy: KindPolicy, runner_stop: &Shutdown) -> Self {
        Attempt {
            lease,
            policy,
            stop: runner_stop.child_token(),
            reason: AtomicU8::new(0),
            started_ms: crate::time::now_ms(),
            last_progress: Mutex::new(None),
        }
    }

    pub fn started_at(&self) -> i64 {
        self.started_ms
    }

    /// Stops the handler, remembering the first reason given.
    pub fn stop_for(&self, reason: StopReason) {
        let _ = self
            .reason
            .compare_exchange(0, reason.code(), Ordering::SeqCst, Ordering::SeqCst);
        self.stop.cancel();
    }

    /// Why the attempt was stopped, if it was (a runner shutdown cancels the token directly).
    pub fn stopped(&self) -> Option<StopReason> {
        if !self.stop.is_cancelled() {
            return None;
        }
        StopReason::from_code(self.reason.load(Ordering::SeqCst)).or(Some(StopReason::Shutdown))
    }

    /// Whether progress may be written now (at most once per `every`); claims the slot.
    pub fn progress_due(&self, every: Duration) -> bool {
        let mut last = self.last_progress.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|at| at.elapsed() < every) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }
}

/// Aborts the handler's task if the attempt itself is dropped (its runner aborted).
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs one attempt to its end and records it. Returns once the row is written (or found lost).
pub(crate) async fn run(jobs: Jobs, handler: Arc<dyn JobHandler>, attempt: Arc<Attempt>) {
    let row = &attempt.lease.row;
    let ctx = JobContext::new(
        row.id.clone(),
        row.store_id.clone(),
        attempt.policy.kind,
        serde_json::from_str(&row.input_json).unwrap_or(serde_json::Value::Null),
        u32::try_from(row.attempts).unwrap_or(u32::MAX),
        attempt.stop.clone(),
        Arc::new(AttemptProgress {
            jobs: jobs.clone(),
            attempt: attempt.clone(),
        }),
    );
    let started = Instant::now();
    let mut task = AbortOnDrop(tokio::spawn(async move { handler.run(&ctx).await }));
    let answer = tokio::select! {
        answer = &mut task.0 => answer,
        never = keep_lease(&jobs, &attempt) => match never {},
    };
    let answer = answer.map_err(|e| {
        if e.is_panic() {
            JobError::Retryable(format!("the handler panicked: {}", panic_message(e.into_panic())))
        } else {
            JobError::Stopped("the handler's task was aborted")
        }
    });
    let answer = answer.and_then(|inner| inner);
    let Some(outcome) = outcome_of(answer, attempt.stopped()) else {
        return; // the lease was lost: whoever holds the job now records it
    };
    metrics::record_attempt(
        jobs.queue.service(),
        attempt.policy.kind,
        &outcome,
        started.elapsed(),
    );
    record(&jobs, &attempt, outcome).await;
}

/// What the handler's answer means, given why (if at all) the attempt was stopped; `None`
/// when nothing is to be recorded.
fn outcome_of(answer: Result<JobOutput, JobError>, stopped: Option<StopReason>) -> Option<Outcome> {
    match (answer, stopped) {
        // Work done is recorded even if a stop came late.
        (Ok(output), _) => Some(Outcome::Succeeded(output)),
        (Err(_), Some(StopReason::LeaseLost)) => None,
        (Err(_), Some(StopReason::Cancelled)) => Some(Outcome::Cancelled),
        (Err(_), Some(StopReason::Shutdown)) => Some(Outcome::Released),
        (Err(JobError::Retryable(error)), None) => Some(Outcome::Failed {
            error,
            permanent: false,
        }),
        (Err(JobError::Permanent(error)), None) => Some(Outcome::Failed {
            error,
            permanent: true,
        }),
        // A handler that says it stopped though nothing stopped it failed.
        (Err(e @ JobError::Stopped(_)), None) => Some(Outcome::Failed {
            error: e.to_string(),
            permanent: false,
        }),
    }
}

/// Writes the outcome, retrying a failing database a few times; if it never answers the lease
/// lapses and another worker runs the job again (at least once).
async fn record(jobs: &Jobs, attempt: &Attempt, outcome: Outcome) {
    let service = jobs.queue.service();
    for delay_ms in [0u64, 100, 400, 1_000, 2_000] {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        match finish::finish(&jobs.db, service, &attempt.lease, attempt.policy, outcome.clone()).await {
            Ok(Some(row)) => {
                if row.status == super::row::status::DEAD {
                    metrics::record_dead(service, attempt.policy.kind);
                }
                jobs.outbox.notify_one();
                if row.status == super::row::status::QUEUED {
                    jobs.runner.notify_one();
                }
                return;
            }
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(service, job = %attempt.lease.row.id, error = %e, "job outcome not recorded; retrying");
            }
        }
    }
    tracing::warn!(service, job = %attempt.lease.row.id, "job outcome not recorded; its lease lapses and it runs again");
}

/// Renews the lease every third of its length until the attempt ends (never returns): stops
/// the handler when the row is no longer ours, or when a cancellation was asked.
async fn keep_lease(jobs: &Jobs, attempt: &Attempt) -> std::convert::Infallible {
    let lease_ms = i64::try_from(attempt.policy.lease.as_millis()).unwrap_or(i64::MAX / 2);
    let every = (attempt.policy.lease / 3).max(Duration::from_millis(10));
    let mut held_until = crate::time::now_ms() + lease_ms;
    loop {
        tokio::time::sleep(every).await;
        if attempt.stopped() == Some(StopReason::LeaseLost) {
            std::future::pending::<()>().await;
        }
        let until = crate::time::now_ms() + lease_ms;
        match finish::renew(&jobs.db, &attempt.lease, until).await {
            Ok(Held::Ours { cancel_requested }) => {
                held_until = until;
                if cancel_requested {
                    attempt.stop_for(StopReason::Cancelled);
                }
            }
            Ok(Held::Lost) => attempt.stop_for(StopReason::LeaseLost),
            Err(e) => {
                tracing::warn!(job = %attempt.lease.row.id, error = %e, "job lease not renewed");
                if crate::time::now_ms() >= held_until {
                    attempt.stop_for(StopReason::LeaseLost);
                }
            }
        }
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_decides_what_a_failed_answer_means() {
        let failed = || Err(JobError::Stopped("cancelled"));
        assert!(matches!(
            outcome_of(failed(), Some(StopReason::Cancelled)),
            Some(Outcome::Cancelled)
        ));
        assert!(matches!(
            outcome_of(failed(), Some(StopReason::Shutdown)),
            Some(Outcome::Released)
        ));
        assert!(outcome_of(failed(), Some(StopReason::LeaseLost)).is_none());
        assert!(matches!(
            outcome_of(Err(JobError::Permanent("bad".into())), None),
            Some(Outcome::Failed { permanent: true, .. })
        ));
        assert!(matches!(
            outcome_of(Ok(JobOutput::default()), Some(StopReason::Shutdown)),
            Some(Outcome::Succeeded(_))
        ));
    }
}
