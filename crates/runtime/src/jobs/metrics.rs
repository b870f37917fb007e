//! What the jobs facility records, by `service` and `kind`: queue depth and the oldest ready
//! job's wait (sampled by each runner every few seconds with one grouped query), attempts' run
//! time by outcome, failures, and dead jobs; and the periodic deletion of old finished jobs.

use super::finish::Outcome;
use super::row::status;
use crate::db::{Db, DbError};
use std::collections::BTreeMap;
use std::time::Duration;

crate::metric_families! {
    /// Jobs waiting to run (new, or retrying once their backoff passes), by service and kind.
    pub(crate) const JOBS_QUEUED: Gauge(Count) = "jobs_queued";
    /// Jobs running (leased by a worker), by service and kind.
    pub(crate) const JOBS_RUNNING: Gauge(Count) = "jobs_running";
    /// How long the oldest ready job has waited to start (since its `run_after`), by service and
    /// kind; 0 when none waits. Sampled by each runner every few seconds.
    pub(crate) const JOBS_OLDEST_QUEUED_AGE: Gauge(Seconds) = "jobs_oldest_queued_age_seconds";
    /// Dead jobs (failed every attempt, or permanently) kept for inspection and retry, by
    /// service and kind.
    pub(crate) const JOBS_DEAD: Gauge(Count) = "jobs_dead";
    /// Attempts' run time by service, kind and outcome (succeeded, failed, dead, cancelled,
    /// released).
    pub(crate) const JOBS_RUN_SECONDS: Histogram(Seconds) = "jobs_run_seconds";
    /// Failed attempts (a retryable or permanent error, a panic), by service and kind.
    pub(crate) const JOBS_FAILURES: Counter(Count) = "jobs_failures_total";
    /// Jobs that became dead, by service and kind.
    pub(crate) const JOBS_DIED: Counter(Count) = "jobs_died_total";
}

/// Describes what the jobs facility records.
pub(crate) fn describe_metrics() {
    crate::metric_family::Family::describe_all(&[
        JOBS_QUEUED,
        JOBS_RUNNING,
        JOBS_OLDEST_QUEUED_AGE,
        JOBS_DEAD,
        JOBS_RUN_SECONDS,
        JOBS_FAILURES,
        JOBS_DIED,
    ]);
}

/// Finished jobs are deleted this long after they finished.
pub(crate) const RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// Records an attempt's run time and, if it failed, the failure.
pub(crate) fn record_attempt(service: &'static str, kind: &'static str, outcome: &Outcome, took: Duration) {
    let label = match outcome {
        Outcome::Succeeded(_) => "succeeded",
        Outcome::Failed { .. } => "failed",
        Outcome::Cancelled => "cancelled",
        Outcome::Released => "released",
    };
    metrics::histogram!(JOBS_RUN_SECONDS.name, "service" => service, "kind" => kind, "outcome" => label)
        .record(took.as_secs_f64());
    if matches!(outcome, Outcome::Failed { .. }) {
        metrics::counter!(JOBS_FAILURES.name, "service" => service, "kind" => kind).increment(1);
    }
}

/// Counts a job that became dead.
pub(crate) fn record_dead(service: &'static str, kind: &'static str) {
    metrics::counter!(JOBS_DIED.name, "service" => service, "kind" => kind).increment(1);
}

/// Per kind: queued, running, dead, and the oldest ready job's wait in ms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindGauges {
    pub queued: i64,
    pub running: i64,
    pub dead: i64,
    pub oldest_wait_ms: i64,
}

/// Reads every kind's gauges with one grouped query (the `(kind, status, run_after)` index
/// answers it); `kinds` are reported even when they have no row.
pub async fn sample(db: &Db, kinds: &[&'static str]) -> Result<BTreeMap<String, KindGauges>, DbError> {
    let rows: Vec<(String, String, i64, Option<i64>)> = db
        .query_all(
            &format!(
                "SELECT kind, status, COUNT(*), MIN(run_after) FROM jobs \
                 WHERE status IN ('{}', '{}', '{}') GROUP BY kind, status",
                status::QUEUED,
                status::RUNNING,
                status::DEAD
            ),
            &[],
        )
        .await?;
    let now = crate::time::now_ms();
    let mut gauges: BTreeMap<String, KindGauges> = kinds
        .iter()
        .map(|k| ((*k).to_owned(), KindGauges::default()))
        .collect();
    for (kind, state, count, oldest) in rows {
        let g = gauges.entry(kind).or_default();
        match state.as_str() {
            status::QUEUED => {
                g.queued = count;
                // The earliest `run_after` in the future means no queued job is ready yet.
                g.oldest_wait_ms = oldest.map_or(0, |at| (now - at).max(0));
            }
            status::RUNNING => g.running = count,
            _ => g.dead = count,
        }
    }
    Ok(gauges)
}

/// Samples and sets the gauges of a service's kinds.
pub(crate) async fn publish_gauges(db: &Db, service: &'static str, kinds: &[&'static str]) {
    match sample(db, kinds).await {
        Ok(gauges) => {
            for (kind, g) in gauges {
                let labels = [("service", service.to_owned()), ("kind", kind)];
                metrics::gauge!(JOBS_QUEUED.name, &labels).set(g.queued as f64);
                metrics::gauge!(JOBS_RUNNING.name, &labels).set(g.running as f64);
                metrics::gauge!(JOBS_DEAD.name, &labels).set(g.dead as f64);
                metrics::gauge!(JOBS_OLDEST_QUEUED_AGE.name, &labels).set(g.oldest_wait_ms as f64 / 1000.0);
            }
        }
        Err(e) => tracing::warn!(service, error = %e, "job gauges not sampled"),
    }
}

/// Deletes the jobs that finished before `now_ms - RETENTION`; returns how many.
pub async fn delete_finished(db: &Db, now_ms: i64) -> Result<u64, DbError> {
    let cutoff = now_ms - i64::try_from(RETENTION.as_millis()).unwrap_or(i64::MAX / 2);
    db.execute(
        "jobs_cleanup",
        &format!(
            "DELETE FROM jobs WHERE finished_at > 0 AND finished_at < $1 AND status IN ('{}', '{}', '{}')",
            status::SUCCEEDED,
            status::DEAD,
            status::CANCELLED
        ),
        &[&cutoff],
    )
    .await
}
