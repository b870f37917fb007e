//! Progress of a running attempt: written at most about once a second, with an estimate of the
//! finish from the rate so far, published as `JobChanged`; each write also tells the handler
//! whether the job was cancelled or its lease lost.

use super::attempt::{Attempt, StopReason};
use super::finish::{self, Held};
use super::{JobError, Jobs, ProgressSink};
use std::sync::Arc;
use std::time::Duration;

/// The least time between two progress writes of one job.
pub(crate) const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// The runner's [`ProgressSink`] for one attempt.
pub(crate) struct AttemptProgress {
    pub jobs: Jobs,
    pub attempt: Arc<Attempt>,
}

#[async_trait::async_trait]
impl ProgressSink for AttemptProgress {
    async fn report(&self, _job_id: &str, done: i64, total: i64) -> Result<(), JobError> {
        let attempt = &self.attempt;
        if let Some(reason) = attempt.stopped() {
            return Err(JobError::Stopped(reason.as_str()));
        }
        if !attempt.progress_due(PROGRESS_EVERY) {
            return Ok(());
        }
        let eta = estimate_finish_ms(attempt.started_at(), crate::time::now_ms(), done, total);
        let written = finish::progress(
            &self.jobs.db,
            self.jobs.queue.service(),
            &attempt.lease,
            done,
            total,
            eta,
        )
        .await;
        match written {
            Ok(Held::Ours { cancel_requested }) => {
                self.jobs.outbox.notify_one();
                if cancel_requested {
                    attempt.stop_for(StopReason::Cancelled);
                    return Err(JobError::Stopped(StopReason::Cancelled.as_str()));
                }
                Ok(())
            }
            Ok(Held::Lost) => {
                attempt.stop_for(StopReason::LeaseLost);
                Err(JobError::Stopped(StopReason::LeaseLost.as_str()))
            }
            // Progress is best effort: the lease renewal decides whether the job is still ours.
            Err(e) => {
                tracing::warn!(job = %attempt.lease.row.id, error = %e, "job progress not written");
                Ok(())
            }
        }
    }
}

/// When the job should finish at its rate since `started_ms` (epoch ms); 0 while unknown.
pub(crate) fn estimate_finish_ms(started_ms: i64, now_ms: i64, done: i64, total: i64) -> i64 {
    if done <= 0 || total <= 0 {
        return 0;
    }
    if done >= total {
        return now_ms;
    }
    let elapsed = (now_ms - started_ms).max(0) as f64;
    let remaining = elapsed * (total - done) as f64 / done as f64;
    now_ms + remaining.round() as i64
}

#[cfg(test)]
mod tests {
    use super::estimate_finish_ms;

    #[test]
    fn the_estimate_extrapolates_the_rate_so_far() {
        // A quarter done in 10 s: 30 s more.
        assert_eq!(estimate_finish_ms(1_000, 11_000, 25, 100), 41_000);
        assert_eq!(estimate_finish_ms(1_000, 11_000, 0, 100), 0, "no rate yet");
        assert_eq!(estimate_finish_ms(1_000, 11_000, 5, 0), 0, "total unknown");
        assert_eq!(estimate_finish_ms(1_000, 11_000, 100, 100), 11_000);
    }
}
