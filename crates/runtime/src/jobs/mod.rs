//! Durable background jobs, the same for every service and both topologies: a job is a row in
//! the service's own database (the runtime's `jobs` table, like the outbox), enqueued in the same
//! transaction as the change that asks for it, leased by a worker in any replica, run by the
//! handler registered for its kind, and finished with a result or an error.
//!
//! # Using it
//!
//! - A service holds one [`Jobs`] (its database and outbox waker).
//! - Enqueue: [`JobQueue::enqueue`] (from [`Jobs::queue`]) inside a [`Db::write`] closure; the job
//!   exists exactly when the change commits; then [`Jobs::wake`]. A `dedupe_key` makes a repeated
//!   request answer the first job.
//! - Run: implement [`JobHandler`] for a kind (its [`KindPolicy`] and `run`), register it on the
//!   service's [`JobRunner`] ([`Jobs::runner`]; `app/services.rs` registers each service's
//!   `job_handlers(…)` and runs it).
//!   `run` reports progress through [`JobContext::progress`], which also says when the job was
//!   cancelled or its lease lost. Side effects must be idempotent by job id (an object key, an
//!   idempotency key derived from it), because a worker killed mid-job is run again.
//! - Operate: [`Jobs`] answers the `ListJobs`, `GetJob`, `CancelJob` and `RetryJob` RPCs every
//!   jobs-running service exposes (`jobs.proto`).
//!
//! # Guarantees
//!
//! - Leases: a worker leases a job until `now + policy.lease` and renews it while running; a
//!   crashed worker's lease expires and another replica takes the job over (attempt + 1).
//! - Concurrency: at most `policy.concurrency` jobs of a kind run in one process, and at most
//!   `policy.per_store` of one store run across all replicas, so one store's flood waits behind its
//!   own limit and not in front of another store's jobs.
//! - Retries: a failed attempt is queued again after `backoff_base · 2^(attempt-1)` (capped at
//!   `backoff_max`) with full jitter; after `max_attempts` the job is dead, visible with its last
//!   error, and may be retried by hand. [`JobError::Permanent`] kills it at once.
//! - Cancellation: a queued job is cancelled at once; a running one when its attempt next writes
//!   progress or renews its lease (the handler's `stop` token is cancelled). A runner that stops
//!   releases its attempts: queued again, the attempt not counted.
//! - Every state change (and progress, at most about once a second per job) is published as
//!   `mercato.<service>.job_changed` through the service's outbox. ADR 0014 says why.
//!
//! # Layout
//!
//! `row` (the row and its wire form), `enqueue`, `changed` (the event), `lease` and `pick`
//! (what a worker takes, and the fairness rule), `runner` (the loop), `attempt` (one run, its
//! lease kept), `progress`, `finish` (the guarded writes of an attempt), `backoff`, `api` (the
//! RPCs), `metrics` (gauges, histograms, the 30-day deletion).

mod api;
mod attempt;
mod backoff;
mod changed;
mod enqueue;
mod finish;
mod lease;
mod metrics;
mod pick;
mod progress;
mod row;
mod runner;

pub use api::{cursor_of, parse_cursor};
pub use backoff::{retry_ceiling, retry_delay};
pub use changed::subject;
pub(crate) use metrics::describe_metrics;
pub use metrics::{KindGauges, delete_finished, sample};

use crate::db::{Db, DbError, Migration};
use crate::shutdown::Shutdown;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The jobs table; every service database gets it with the outbox (`db::RUNTIME_MIGRATIONS`).
pub(crate) const MIGRATION: Migration = Migration {
    name: "0000_jobs",
    sql: "CREATE TABLE jobs (
            id {{SORTED_TEXT}} PRIMARY KEY,
            store_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            status TEXT NOT NULL,
            input_json TEXT NOT NULL,
            dedupe_key TEXT,
            requested_by TEXT NOT NULL,
            attempts BIGINT NOT NULL DEFAULT 0,
            max_attempts BIGINT NOT NULL,
            progress_done BIGINT NOT NULL DEFAULT 0,
            progress_total BIGINT NOT NULL DEFAULT 0,
            estimated_finish_ms BIGINT NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '',
            result_json TEXT,
            lease_owner TEXT,
            lease_until BIGINT NOT NULL DEFAULT 0,
            run_after BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            started_at BIGINT NOT NULL DEFAULT 0,
            finished_at BIGINT NOT NULL DEFAULT 0,
            updated_at BIGINT NOT NULL,
            cancel_requested BIGINT NOT NULL DEFAULT 0
          );
          CREATE UNIQUE INDEX jobs_dedupe ON jobs (store_id, kind, dedupe_key);
          CREATE INDEX jobs_ready ON jobs (kind, status, run_after);
          CREATE INDEX jobs_queue ON jobs (kind, status, created_at, id);
          CREATE INDEX jobs_store_queue ON jobs (kind, status, store_id, created_at, id);
          CREATE INDEX jobs_store_created ON jobs (store_id, created_at, id);
          CREATE INDEX jobs_created ON jobs (created_at, id);
          CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at > 0;",
};

/// How a kind of job runs: its limits and its retry schedule.
#[derive(Clone, Copy, Debug)]
pub struct KindPolicy {
    /// `<area>.<verb>`, e.g. `export.orders`; unique within a service.
    pub kind: &'static str,
    /// Attempts before the job is dead.
    pub max_attempts: u32,
    /// Jobs of this kind running at once in one process.
    pub concurrency: usize,
    /// Jobs of this kind of one store running at once across all replicas.
    pub per_store: usize,
    /// The first retry's delay before jitter; doubled per attempt up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// How long a lease lasts unrenewed; the runner renews it every third of that.
    pub lease: Duration,
}

/// A job to enqueue.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub kind: &'static str,
    pub store_id: String,
    /// The kind's parameters, as JSON (shown to people as they are).
    pub input: serde_json::Value,
    /// A user id, or "system".
    pub requested_by: String,
    /// Another enqueue with the same (store, kind, key) answers the existing job's id.
    pub dedupe_key: Option<String>,
    /// The kind's `max_attempts` (the queue does not know the handlers).
    pub max_attempts: u32,
}

/// Enqueues a service's jobs and publishes their changes under its name.
#[derive(Clone, Copy, Debug)]
pub struct JobQueue {
    service: &'static str,
}

impl JobQueue {
    pub const fn new(service: &'static str) -> Self {
        JobQueue { service }
    }

    pub fn service(&self) -> &'static str {
        self.service
    }
}

/// A file a job made (an export), kept in the [`crate::files::FileStore`] under `key`.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct JobFile {
    pub key: String,
    pub name: String,
    pub content_type: String,
    pub bytes: i64,
    /// When the file is deleted (epoch ms).
    pub expires_at_ms: i64,
}

/// What a job made.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct JobOutput {
    pub summary: String,
    pub items: i64,
    pub file: Option<JobFile>,
}

/// Why an attempt did not finish.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth another attempt (after backoff) while attempts remain.
    #[error("{0}")]
    Retryable(String),
    /// Never worth another attempt: the job is dead at once (bad input, a deleted product…).
    #[error("{0}")]
    Permanent(String),
    /// The job was cancelled, or this worker lost its lease: stop, record nothing more.
    #[error("stopped: {0}")]
    Stopped(&'static str),
}

impl From<DbError> for JobError {
    fn from(e: DbError) -> Self {
        JobError::Retryable(e.to_string())
    }
}

impl From<anyhow::Error> for JobError {
    fn from(e: anyhow::Error) -> Self {
        JobError::Retryable(format!("{e:#}"))
    }
}

/// What a handler gets for one attempt.
pub struct JobContext {
    pub id: String,
    pub store_id: String,
    pub kind: &'static str,
    pub input: serde_json::Value,
    /// 1 on the first attempt.
    pub attempt: u32,
    /// Cancelled when the job is cancelled, its lease is lost, or the process stops.
    pub stop: Shutdown,
    progress: Arc<dyn ProgressSink>,
}

/// Where [`JobContext::progress`] goes (the runner; tests may record it).
#[async_trait::async_trait]
pub trait ProgressSink: Send + Sync {
    async fn report(&self, job_id: &str, done: i64, total: i64) -> Result<(), JobError>;
}

impl JobContext {
    pub fn new(
        id: String,
        store_id: String,
        kind: &'static str,
        input: serde_json::Value,
        attempt: u32,
        stop: Shutdown,
        progress: Arc<dyn ProgressSink>,
    ) -> Self {
        JobContext {
            id,
            store_id,
            kind,
            input,
            attempt,
            stop,
            progress,
        }
    }

    /// Records progress (written at most about once a second, with an estimate of the finish);
    /// `Err(Stopped)` when the job was cancelled or the lease lost, which the handler returns.
    pub async fn progress(&self, done: i64, total: i64) -> Result<(), JobError> {
        if self.stop.is_cancelled() {
            return Err(JobError::Stopped("cancelled"));
        }
        self.progress.report(&self.id, done, total).await
    }
}

/// Runs one kind of job.
#[async_trait::async_trait]
pub trait JobHandler: Send + Sync + 'static {
    fn policy(&self) -> KindPolicy;
    async fn run(&self, job: &JobContext) -> Result<JobOutput, JobError>;
}

/// Leases and runs a service's jobs until shutdown; made by [`Jobs::runner`]. Register every
/// kind's handler ([`JobRunner::register`]), then [`JobRunner::run`] it.
pub struct JobRunner {
    jobs: Jobs,
    handlers: Vec<Arc<dyn JobHandler>>,
    /// How often it looks for jobs nobody woke it for.
    poll: Duration,
}

/// A service's jobs: enqueueing (in the caller's transaction), the runner, and the job RPCs
/// (`ListJobs`, `GetJob`, `CancelJob`, `RetryJob`). Cheap to clone.
#[derive(Clone)]
pub struct Jobs {
    queue: JobQueue,
    db: Db,
    /// The service's outbox relay waker, rung after each change so `job_changed` goes out.
    outbox: Arc<Notify>,
    /// Rung after a commit that enqueued or retried a job, so the runner looks at once.
    runner: Arc<Notify>,
}

impl Jobs {
    pub fn new(service: &'static str, db: Db, outbox: Arc<Notify>) -> Self {
        Jobs {
            queue: JobQueue::new(service),
            db,
            outbox,
            runner: Arc::new(Notify::new()),
        }
    }

    /// The service whose jobs these are (`catalog`, `orders`, `identity`).
    pub fn service(&self) -> &'static str {
        self.queue.service()
    }

    /// The service's database, which holds its jobs: enqueue in a transaction of it.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// What enqueues inside a transaction closure (`Copy`, so closures take it along).
    pub fn queue(&self) -> JobQueue {
        self.queue
    }

    /// Rings the runner (and the outbox relay) after a commit that enqueued a job.
    pub fn wake(&self) {
        self.runner.notify_one();
        self.outbox.notify_one();
    }

    /// The runner of this service's jobs; register every kind's handler, then `run` it.
    pub fn runner(&self) -> JobRunner {
        JobRunner {
            jobs: self.clone(),
            handlers: Vec::new(),
            poll: runner::DEFAULT_POLL,
        }
    }
}
