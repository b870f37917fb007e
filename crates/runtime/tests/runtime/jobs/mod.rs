//! The background jobs suite, on every database backend: enqueueing in the caller's
//! transaction, leases and takeover, retries, cancellation, fairness between stores, and the
//! job RPCs. Leases last 300 ms and backoff starts at 20 ms, so each case takes a second or two.
//! Here: the fixture, the test handler and helpers; the cases are in `runs` (a job's life) and
//! `admin` (the RPCs, progress, gauges and clean-up).

use mercato_proto::events::{EventEnvelope, JobChanged};
use mercato_proto::jobs::{self as pb, JobStatus};
use mercato_runtime::db::{Db, DbError};
use mercato_runtime::error::ErrorCode;
use mercato_runtime::jobs::{
    JobContext, JobError, JobHandler, JobOutput, Jobs, KindGauges, KindPolicy, NewJob, delete_finished,
    retry_ceiling, sample,
};
use mercato_runtime::shutdown::Shutdown;
use mercato_runtime::testing::Backend;
use prost::Message;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

mod admin;
mod runs;

const KIND: &str = "test.work";
const STORE_A: &str = "0190e1d2-0000-7000-8000-00000000000a";
const STORE_B: &str = "0190e1d2-0000-7000-8000-00000000000b";

struct Fixture {
    db: Db,
    jobs: Jobs,
}

impl Fixture {
    async fn on(backend: Backend) -> Fixture {
        mercato_runtime::testing::init_logs();
        let db = backend.database().await;
        db.migrate("test", &[]).await.unwrap();
        let jobs = Jobs::new("orders", db.clone(), Arc::new(Notify::new()));
        Fixture { db, jobs }
    }

    /// Another replica's view of the same database.
    fn replica(&self) -> Jobs {
        Jobs::new("orders", self.db.clone(), Arc::new(Notify::new()))
    }

    async fn enqueue(&self, store: &str, input: serde_json::Value) -> pb::Job {
        self.enqueue_keyed(store, input, None).await
    }

    async fn enqueue_keyed(&self, store: &str, input: serde_json::Value, key: Option<&str>) -> pb::Job {
        let queue = self.jobs.queue();
        let job = new_job(store, input, key);
        let enqueued = self
            .db
            .write("test", move |tx| queue.enqueue(tx, &job))
            .await
            .unwrap();
        self.jobs.wake();
        enqueued
    }

    async fn get(&self, id: &str) -> pb::Job {
        self.jobs.get(request(STORE_A, id)).await.unwrap()
    }

    /// Waits (up to 10 s) until the job is in `status`.
    async fn wait_for(&self, id: &str, status: JobStatus) -> pb::Job {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let job = self.jobs.get(request("", id)).await.unwrap();
            if job.status == status as i32 {
                return job;
            }
            assert!(
                Instant::now() < deadline,
                "job {id} never became {status:?}: {job:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The `JobChanged` events of a job, in order.
    async fn changes(&self, id: &str) -> Vec<pb::Job> {
        mercato_runtime::testing::outbox_events(&self.db)
            .await
            .iter()
            .filter(|e| e.subject == "mercato.orders.job_changed")
            .map(|e: &EventEnvelope| JobChanged::decode(e.payload.as_slice()).unwrap().job.unwrap())
            .filter(|j| j.id == id)
            .collect()
    }

    async fn count_jobs(&self) -> i64 {
        let (n,): (i64,) = self.db.query_one("SELECT COUNT(*) FROM jobs", &[]).await.unwrap();
        n
    }
}

fn new_job(store: &str, input: serde_json::Value, key: Option<&str>) -> NewJob {
    NewJob {
        kind: KIND,
        store_id: store.to_owned(),
        input,
        requested_by: "system".into(),
        dedupe_key: key.map(str::to_owned),
        max_attempts: 3,
    }
}

fn request(store: &str, id: &str) -> pb::JobRequest {
    pb::JobRequest {
        store_id: store.to_owned(),
        caller: None,
        job_id: id.to_owned(),
    }
}

fn policy() -> KindPolicy {
    KindPolicy {
        kind: KIND,
        max_attempts: 3,
        concurrency: 4,
        per_store: 4,
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        lease: Duration::from_millis(300),
    }
}

/// What the test handler does on an attempt: the input's `steps`, one per attempt, the last
/// repeated (`succeed` by default).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Step {
    /// Works `work_ms` (default 0), then makes its effect and succeeds.
    Succeed,
    Fail,
    Permanent,
    Panic,
    /// Never returns, ignoring its stop token (a worker wedged, or about to be killed).
    Hang,
    /// Waits for its stop token, then says it stopped.
    Wait,
    /// Reports progress every 10 ms until told to stop, and returns what `progress` said.
    Progress,
}

fn step_of(ctx: &JobContext) -> Step {
    let steps = ctx.input["steps"].as_array().cloned().unwrap_or_default();
    let index = (ctx.attempt as usize)
        .saturating_sub(1)
        .min(steps.len().saturating_sub(1));
    match steps.get(index).and_then(|s| s.as_str()) {
        Some("fail") => Step::Fail,
        Some("permanent") => Step::Permanent,
        Some("panic") => Step::Panic,
        Some("hang") => Step::Hang,
        Some("wait") => Step::Wait,
        Some("progress") => Step::Progress,
        _ => Step::Succeed,
    }
}

/// What the test handler saw, shared with the test.
#[derive(Default)]
struct Seen {
    /// (job id, attempt, when) of each attempt started.
    starts: Vec<(String, u32, Instant)>,
    /// (job id, when) of each success.
    finishes: Vec<(String, Instant)>,
    /// The effect of each job, keyed by its id (an idempotent write would be keyed so).
    effects: HashMap<String, u32>,
    running: HashMap<String, u32>,
    /// Whether one job ever ran twice at once.
    overlapped: bool,
    /// What `progress` answered once the job was stopped.
    stopped_with: Vec<String>,
    /// Set by a test once what made jobs fail is fixed: every attempt then succeeds.
    healed: bool,
}

#[derive(Clone)]
struct TestHandler {
    policy: KindPolicy,
    seen: Arc<Mutex<Seen>>,
}

impl TestHandler {
    fn new(policy: KindPolicy) -> Self {
        TestHandler {
            policy,
            seen: Arc::default(),
        }
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap()
    }

    fn started(&self, id: &str) -> usize {
        self.seen().starts.iter().filter(|(j, ..)| j == id).count()
    }

    async fn wait_started(&self, id: &str, times: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.started(id) < times {
            assert!(Instant::now() < deadline, "job {id} not started {times} times");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Counts the job out of `running` however the attempt ends (a panic included).
struct Running(Arc<Mutex<Seen>>, String);

impl Drop for Running {
    fn drop(&mut self) {
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = seen.running.get_mut(&self.1) {
            *n -= 1;
        }
    }
}

#[async_trait::async_trait]
impl JobHandler for TestHandler {
    fn policy(&self) -> KindPolicy {
        self.policy
    }

    async fn run(&self, ctx: &JobContext) -> Result<JobOutput, JobError> {
        {
            let mut seen = self.seen();
            seen.starts.push((ctx.id.clone(), ctx.attempt, Instant::now()));
            let n = seen.running.entry(ctx.id.clone()).or_default();
            *n += 1;
            if *n > 1 {
                seen.overlapped = true;
            }
        }
        let _running = Running(self.seen.clone(), ctx.id.clone());
        let step = if self.seen().healed {
            Step::Succeed
        } else {
            step_of(ctx)
        };
        match step {
            Step::Succeed => {
                let work = ctx.input["work_ms"].as_u64().unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(work)).await;
                let mut seen = self.seen();
                *seen.effects.entry(ctx.id.clone()).or_default() += 1;
                seen.finishes.push((ctx.id.clone(), Instant::now()));
                Ok(JobOutput {
                    summary: "1 thing done".into(),
                    items: 1,
                    file: None,
                })
            }
            Step::Fail => Err(JobError::Retryable(format!("boom on attempt {}", ctx.attempt))),
            Step::Permanent => Err(JobError::Permanent("the input is bad".into())),
            Step::Panic => panic!("the handler exploded"),
            Step::Hang => std::future::pending().await,
            Step::Wait => {
                ctx.stop.cancelled().await;
                Err(JobError::Stopped("stopped"))
            }
            Step::Progress => {
                for done in 0.. {
                    if let Err(e) = ctx.progress(done, 1_000).await {
                        self.seen().stopped_with.push(e.to_string());
                        return Err(e);
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                unreachable!()
            }
        }
    }
}

/// A running runner and how to stop it.
struct Started {
    stop: Shutdown,
    task: JoinHandle<()>,
}

impl Started {
    async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the runner stops")
            .unwrap();
    }
}

fn start(jobs: &Jobs, handler: &TestHandler) -> Started {
    let mut runner = jobs.runner().poll_every(Duration::from_millis(50));
    runner.register(Arc::new(handler.clone()));
    let stop = Shutdown::new();
    let task = tokio::spawn(runner.run(stop.clone()));
    Started { stop, task }
}

fn statuses(changes: &[pb::Job]) -> Vec<JobStatus> {
    let mut out: Vec<JobStatus> = Vec::new();
    for job in changes {
        let status = JobStatus::try_from(job.status).unwrap();
        if out.last() != Some(&status) {
            out.push(status);
        }
    }
    out
}
