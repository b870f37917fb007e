//! The background jobs suite, on every database backend: enqueueing in the caller's
//! transaction, leases and takeover, retries, cancellation, fairness between stores, and the
//! job RPCs. Leases last 300 ms and backoff starts at 20 ms, so each case takes a second or two.

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

mercato_runtime::backend_tests! {
    setup: Fixture::on,
    cases: [
        an_enqueue_rolled_back_with_its_transaction_leaves_no_job_and_no_event,
        a_repeated_dedupe_key_answers_the_first_job_and_inserts_nothing,
        a_job_runs_and_succeeds_with_its_result_and_events,
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        two_runners_never_run_one_job_twice_at_once,
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        a_killed_worker_s_job_is_taken_over_after_its_lease_and_completes_once,
        failed_attempts_are_queued_again_after_a_jittered_backoff_that_grows,
        a_poisoned_job_dies_after_its_limit_without_blocking_its_kind,
        a_permanent_error_kills_the_job_at_once,
        a_panicking_handler_is_a_retryable_failure,
        a_cancelled_queued_job_never_runs,
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        a_cancelled_running_job_stops_its_handler,
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        one_store_s_flood_waits_behind_its_own_limit_not_in_front_of_another_store,
        a_retried_dead_job_runs_again,
        a_stopping_runner_releases_its_running_job_without_counting_the_attempt,
        a_job_cancelled_while_its_runner_stops_ends_cancelled,
        an_expired_job_that_used_every_attempt_dies_as_worker_lost,
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        a_job_cancelled_while_its_worker_died_ends_cancelled_not_run_again,
        lists_page_newest_first_and_filter_by_status_and_kind,
        another_store_s_job_is_not_found_and_finished_jobs_conflict,
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        progress_is_written_about_once_a_second_with_an_estimated_finish,
        gauges_count_each_kind_and_the_oldest_ready_job_s_wait,
        finished_jobs_are_deleted_thirty_days_after_they_finished,
    ],
}

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

async fn an_enqueue_rolled_back_with_its_transaction_leaves_no_job_and_no_event(f: Fixture) {
    let queue = f.jobs.queue();
    let rolled_back: Result<(), DbError> =
        f.db.write("test", move |tx| {
            queue.enqueue(tx, &new_job(STORE_A, serde_json::json!({}), None))?;
            Err(DbError::Other("the caller changed its mind".into()))
        })
        .await;
    assert!(rolled_back.is_err());
    assert_eq!(f.count_jobs().await, 0);
    assert!(mercato_runtime::testing::outbox_events(&f.db).await.is_empty());
}

async fn a_repeated_dedupe_key_answers_the_first_job_and_inserts_nothing(f: Fixture) {
    let first = f
        .enqueue_keyed(STORE_A, serde_json::json!({"n": 1}), Some("k"))
        .await;
    let again = f
        .enqueue_keyed(STORE_A, serde_json::json!({"n": 2}), Some("k"))
        .await;
    assert_eq!(again.id, first.id);
    assert_eq!(again.input_json, first.input_json, "the first job's input");
    let other_store = f.enqueue_keyed(STORE_B, serde_json::json!({}), Some("k")).await;
    let unkeyed = f.enqueue(STORE_A, serde_json::json!({})).await;
    assert_ne!(other_store.id, first.id);
    assert_ne!(unkeyed.id, first.id);
    assert_eq!(f.count_jobs().await, 3);
    assert_eq!(
        f.changes(&first.id).await.len(),
        1,
        "one event for the first job only"
    );
    assert_eq!(first.status, JobStatus::Queued as i32);
    assert_eq!(first.service, "orders");
}

async fn a_job_runs_and_succeeds_with_its_result_and_events(f: Fixture) {
    let handler = TestHandler::new(policy());
    let runner = start(&f.jobs, &handler);
    let job = f.enqueue(STORE_A, serde_json::json!({"work_ms": 20})).await;
    let done = f.wait_for(&job.id, JobStatus::Succeeded).await;
    runner.stop().await;
    let result = done.result.clone().unwrap();
    assert_eq!((result.summary.as_str(), result.items), ("1 thing done", 1));
    let progress = done.progress.unwrap();
    assert_eq!((progress.done, progress.total), (1, 1), "done = total");
    assert_eq!(done.attempts, 1);
    assert!(done.started_at_ms >= done.created_at_ms && done.finished_at_ms >= done.started_at_ms);
    assert_eq!(handler.seen().effects[&job.id], 1);
    assert_eq!(
        statuses(&f.changes(&job.id).await),
        [JobStatus::Queued, JobStatus::Running, JobStatus::Succeeded]
    );
}

async fn two_runners_never_run_one_job_twice_at_once(f: Fixture) {
    let handler = TestHandler::new(policy());
    let (one, two) = (start(&f.jobs, &handler), start(&f.replica(), &handler));
    let mut ids = Vec::new();
    for _ in 0..20 {
        ids.push(f.enqueue(STORE_A, serde_json::json!({"work_ms": 15})).await.id);
    }
    for id in &ids {
        f.wait_for(id, JobStatus::Succeeded).await;
    }
    one.stop().await;
    two.stop().await;
    let seen = handler.seen();
    assert!(!seen.overlapped, "a job ran twice at once");
    assert!(
        ids.iter().all(|id| seen.effects[id] == 1),
        "each job's effect once"
    );
    assert_eq!(seen.starts.len(), 20, "no job started twice");
}

async fn a_killed_worker_s_job_is_taken_over_after_its_lease_and_completes_once(f: Fixture) {
    let handler = TestHandler::new(policy());
    let doomed = start(&f.jobs, &handler);
    let job = f
        .enqueue(STORE_A, serde_json::json!({"steps": ["hang", "succeed"]}))
        .await;
    handler.wait_started(&job.id, 1).await;
    let survivor = start(&f.replica(), &handler);
    // The first worker renews its lease: nobody takes the job over while it lives.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(handler.started(&job.id), 1, "taken over from a live worker");
    // kill -9: the task is gone without releasing anything; its lease stays until it expires.
    doomed.task.abort();
    let killed_at = Instant::now();
    let done = f.wait_for(&job.id, JobStatus::Succeeded).await;
    let second_start = handler.seen().starts[1].2;
    assert!(
        second_start.duration_since(killed_at) < Duration::from_millis(1_500),
        "taken over soon after the lease expired"
    );
    survivor.stop().await;
    assert_eq!(done.attempts, 2);
    assert_eq!(handler.seen().effects[&job.id], 1, "completed exactly once");
}

async fn failed_attempts_are_queued_again_after_a_jittered_backoff_that_grows(f: Fixture) {
    let policy = KindPolicy {
        max_attempts: 5,
        backoff_base: Duration::from_millis(40),
        backoff_max: Duration::from_millis(1_000),
        ..policy()
    };
    let handler = TestHandler::new(policy);
    let runner = start(&f.jobs, &handler);
    let mut job = new_job(STORE_A, serde_json::json!({"steps": ["fail"]}), None);
    job.max_attempts = 5;
    let queue = f.jobs.queue();
    let job =
        f.db.write("test", move |tx| queue.enqueue(tx, &job))
            .await
            .unwrap();
    f.jobs.wake();
    let dead = f.wait_for(&job.id, JobStatus::Dead).await;
    runner.stop().await;
    assert_eq!(dead.attempts, 5);
    assert_eq!(dead.last_error, "boom on attempt 5");
    // Each failure queued the job again with `run_after` within its attempt's ceiling.
    let retries: Vec<pb::Job> = f
        .changes(&job.id)
        .await
        .into_iter()
        .filter(|j| j.status == JobStatus::Queued as i32 && j.attempts > 0)
        .collect();
    assert_eq!(
        retries.iter().map(|j| j.attempts).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    for retry in &retries {
        let delay = retry.run_after_ms - retry.updated_at_ms;
        let ceiling = retry_ceiling(&policy, retry.attempts).as_millis() as i64;
        assert!(
            (0..=ceiling).contains(&delay),
            "attempt {}: {delay} ms",
            retry.attempts
        );
        assert_eq!(retry.last_error, format!("boom on attempt {}", retry.attempts));
    }
    // The ceiling doubles: 40, 80, 160, 320 ms; the attempts' starts are spread accordingly.
    let starts: Vec<Instant> = handler.seen().starts.iter().map(|s| s.2).collect();
    let span = starts[4].duration_since(starts[0]);
    assert!(span < Duration::from_millis(600 + 4 * 100), "{span:?}");
}

async fn a_poisoned_job_dies_after_its_limit_without_blocking_its_kind(f: Fixture) {
    let handler = TestHandler::new(KindPolicy {
        concurrency: 1,
        ..policy()
    });
    let runner = start(&f.jobs, &handler);
    let poisoned = f.enqueue(STORE_A, serde_json::json!({"steps": ["fail"]})).await;
    let mut good = Vec::new();
    for _ in 0..5 {
        good.push(f.enqueue(STORE_A, serde_json::json!({"work_ms": 5})).await.id);
    }
    for id in &good {
        f.wait_for(id, JobStatus::Succeeded).await;
    }
    let dead = f.wait_for(&poisoned.id, JobStatus::Dead).await;
    runner.stop().await;
    assert_eq!(dead.attempts, 3);
    assert_eq!(dead.last_error, "boom on attempt 3");
    assert!(dead.finished_at_ms > 0);
}

async fn a_permanent_error_kills_the_job_at_once(f: Fixture) {
    let handler = TestHandler::new(policy());
    let runner = start(&f.jobs, &handler);
    let job = f
        .enqueue(STORE_A, serde_json::json!({"steps": ["permanent"]}))
        .await;
    let dead = f.wait_for(&job.id, JobStatus::Dead).await;
    runner.stop().await;
    assert_eq!((dead.attempts, dead.last_error.as_str()), (1, "the input is bad"));
}

async fn a_panicking_handler_is_a_retryable_failure(f: Fixture) {
    let handler = TestHandler::new(policy());
    let runner = start(&f.jobs, &handler);
    let job = f
        .enqueue(STORE_A, serde_json::json!({"steps": ["panic", "succeed"]}))
        .await;
    let done = f.wait_for(&job.id, JobStatus::Succeeded).await;
    runner.stop().await;
    assert_eq!(done.attempts, 2);
    assert!(
        done.last_error.contains("the handler exploded"),
        "{}",
        done.last_error
    );
}

async fn a_cancelled_queued_job_never_runs(f: Fixture) {
    let job = f.enqueue(STORE_A, serde_json::json!({})).await;
    let cancelled = f.jobs.cancel(request(STORE_A, &job.id)).await.unwrap();
    assert_eq!(cancelled.status, JobStatus::Cancelled as i32);
    let handler = TestHandler::new(policy());
    let runner = start(&f.jobs, &handler);
    tokio::time::sleep(Duration::from_millis(200)).await;
    runner.stop().await;
    assert_eq!(handler.started(&job.id), 0);
    assert_eq!(f.get(&job.id).await.status, JobStatus::Cancelled as i32);
}

async fn a_cancelled_running_job_stops_its_handler(f: Fixture) {
    let handler = TestHandler::new(policy());
    let runner = start(&f.jobs, &handler);
    let job = f
        .enqueue(STORE_A, serde_json::json!({"steps": ["progress"]}))
        .await;
    handler.wait_started(&job.id, 1).await;
    let asked = f.jobs.cancel(request(STORE_A, &job.id)).await.unwrap();
    assert_eq!(
        asked.status,
        JobStatus::Running as i32,
        "a running job stops by itself"
    );
    let cancelled = f.wait_for(&job.id, JobStatus::Cancelled).await;
    runner.stop().await;
    assert_eq!(cancelled.attempts, 1);
    assert_eq!(handler.seen().stopped_with, ["stopped: cancelled"]);
    let progress = cancelled.progress.unwrap();
    assert_eq!(progress.total, 1_000, "progress was written while it ran");
    assert!(
        f.jobs.retry(request(STORE_A, &job.id)).await.is_ok(),
        "a cancelled job may be retried"
    );
}

async fn one_store_s_flood_waits_behind_its_own_limit_not_in_front_of_another_store(f: Fixture) {
    let handler = TestHandler::new(KindPolicy {
        per_store: 1,
        concurrency: 4,
        ..policy()
    });
    let mut flood = Vec::new();
    for _ in 0..50 {
        flood.push(f.enqueue(STORE_A, serde_json::json!({"work_ms": 40})).await.id);
    }
    let other = f.enqueue(STORE_B, serde_json::json!({"work_ms": 40})).await;
    let runner = start(&f.jobs, &handler);
    f.wait_for(&other.id, JobStatus::Succeeded).await;
    f.wait_for(&flood[1], JobStatus::Succeeded).await;
    runner.stop().await;
    let seen = handler.seen();
    let start_of = |id: &str| seen.starts.iter().find(|s| s.0 == id).map(|s| s.2).unwrap();
    let finish_of = |id: &str| seen.finishes.iter().find(|s| s.0 == id).map(|s| s.1).unwrap();
    assert!(
        start_of(&other.id) < finish_of(&flood[1]),
        "store B's job started before store A's second job finished"
    );
    assert!(!seen.overlapped);
    // Store A never ran two at once.
    let mut a_runs: Vec<(Instant, Instant)> = flood
        .iter()
        .filter(|id| seen.finishes.iter().any(|f| &f.0 == *id))
        .map(|id| (start_of(id), finish_of(id)))
        .collect();
    a_runs.sort();
    assert!(
        a_runs.windows(2).all(|w| w[0].1 <= w[1].0),
        "store A ran two jobs at once"
    );
}

async fn a_retried_dead_job_runs_again(f: Fixture) {
    let handler = TestHandler::new(policy());
    let runner = start(&f.jobs, &handler);
    let job = f
        .enqueue(STORE_A, serde_json::json!({"steps": ["permanent"]}))
        .await;
    f.wait_for(&job.id, JobStatus::Dead).await;
    // Someone fixes what made it fail, then retries it.
    handler.seen().healed = true;
    let queued = f.jobs.retry(request(STORE_A, &job.id)).await.unwrap();
    assert_eq!((queued.status, queued.attempts), (JobStatus::Queued as i32, 0));
    assert_eq!(queued.last_error, "the input is bad", "the last error is kept");
    let done = f.wait_for(&job.id, JobStatus::Succeeded).await;
    runner.stop().await;
    assert_eq!(done.attempts, 1, "attempts start again from 1");
    assert_eq!(handler.started(&job.id), 2);
    let err = f.jobs.retry(request(STORE_A, &job.id)).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict, "a succeeded job is not retried");
}

async fn a_stopping_runner_releases_its_running_job_without_counting_the_attempt(f: Fixture) {
    let handler = TestHandler::new(policy());
    let runner = start(&f.jobs, &handler);
    let job = f
        .enqueue(STORE_A, serde_json::json!({"steps": ["progress"]}))
        .await;
    handler.wait_started(&job.id, 1).await;
    runner.stop().await;
    let released = f.get(&job.id).await;
    assert_eq!(
        (released.status, released.attempts),
        (JobStatus::Queued as i32, 0)
    );
    assert_eq!(released.last_error, "", "not a failure");
    assert_eq!(handler.seen().stopped_with.len(), 1, "the handler saw its stop");
}

async fn a_job_cancelled_while_its_runner_stops_ends_cancelled(f: Fixture) {
    let handler = TestHandler::new(policy());
    let runner = start(&f.jobs, &handler);
    let job = f.enqueue(STORE_A, serde_json::json!({"steps": ["wait"]})).await;
    handler.wait_started(&job.id, 1).await;
    f.jobs.cancel(request(STORE_A, &job.id)).await.unwrap();
    // Stopped (most likely) before its renewal saw the cancellation: released, which ends it as
    // cancelled rather than queueing it again.
    runner.stop().await;
    let stopped = f.get(&job.id).await;
    assert_eq!(stopped.status, JobStatus::Cancelled as i32, "not queued again");
}

async fn an_expired_job_that_used_every_attempt_dies_as_worker_lost(f: Fixture) {
    let handler = TestHandler::new(KindPolicy {
        max_attempts: 1,
        ..policy()
    });
    let doomed = start(&f.jobs, &handler);
    let queue = f.jobs.queue();
    let mut once = new_job(STORE_A, serde_json::json!({"steps": ["hang"]}), None);
    once.max_attempts = 1;
    let job =
        f.db.write("test", move |tx| queue.enqueue(tx, &once))
            .await
            .unwrap();
    f.jobs.wake();
    handler.wait_started(&job.id, 1).await;
    doomed.task.abort();
    let survivor = start(&f.replica(), &handler);
    let dead = f.wait_for(&job.id, JobStatus::Dead).await;
    survivor.stop().await;
    assert_eq!((dead.attempts, dead.last_error.as_str()), (1, "worker lost"));
    assert_eq!(handler.started(&job.id), 1, "not run again");
}

async fn a_job_cancelled_while_its_worker_died_ends_cancelled_not_run_again(f: Fixture) {
    let handler = TestHandler::new(policy());
    let doomed = start(&f.jobs, &handler);
    let job = f.enqueue(STORE_A, serde_json::json!({"steps": ["hang"]})).await;
    handler.wait_started(&job.id, 1).await;
    doomed.task.abort();
    let asked = f.jobs.cancel(request(STORE_A, &job.id)).await.unwrap();
    assert_eq!(asked.status, JobStatus::Running as i32);
    let survivor = start(&f.replica(), &handler);
    let cancelled = f.wait_for(&job.id, JobStatus::Cancelled).await;
    survivor.stop().await;
    assert_eq!(cancelled.attempts, 1);
    assert_eq!(handler.started(&job.id), 1, "not taken over");
}

async fn lists_page_newest_first_and_filter_by_status_and_kind(f: Fixture) {
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(f.enqueue(STORE_A, serde_json::json!({})).await.id);
    }
    f.enqueue(STORE_B, serde_json::json!({})).await;
    f.jobs.cancel(request(STORE_A, &ids[1])).await.unwrap();
    let list = |store: &str, limit: u32, after: String| pb::ListJobsRequest {
        store_id: store.to_owned(),
        limit,
        after,
        ..Default::default()
    };
    let first = f.jobs.list(list(STORE_A, 2, String::new())).await.unwrap();
    let second = f.jobs.list(list(STORE_A, 2, first.next.clone())).await.unwrap();
    let third = f.jobs.list(list(STORE_A, 2, second.next.clone())).await.unwrap();
    let paged: Vec<String> = [&first, &second, &third]
        .iter()
        .flat_map(|p| p.jobs.iter().map(|j| j.id.clone()))
        .collect();
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(paged, newest_first);
    assert!(third.next.is_empty(), "the last page says so");
    let everyone = f.jobs.list(list("", 0, String::new())).await.unwrap();
    assert_eq!(everyone.jobs.len(), 6, "an operator sees every store");
    let cancelled = f
        .jobs
        .list(pb::ListJobsRequest {
            store_id: STORE_A.into(),
            statuses: vec![JobStatus::Cancelled as i32],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        cancelled.jobs.iter().map(|j| &j.id).collect::<Vec<_>>(),
        [&ids[1]]
    );
    let other_kind = f
        .jobs
        .list(pb::ListJobsRequest {
            kind: "export.orders".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(other_kind.jobs.is_empty());
    for bad in [list(STORE_A, 201, String::new()), list(STORE_A, 0, "nope".into())] {
        let err = f.jobs.list(bad).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::ValidationFailed);
    }
}

async fn another_store_s_job_is_not_found_and_finished_jobs_conflict(f: Fixture) {
    let job = f.enqueue(STORE_A, serde_json::json!({})).await;
    for call in [
        f.jobs.get(request(STORE_B, &job.id)).await,
        f.jobs.cancel(request(STORE_B, &job.id)).await,
        f.jobs.retry(request(STORE_B, &job.id)).await,
        f.jobs.get(request(STORE_A, "not-a-job")).await,
    ] {
        assert_eq!(call.unwrap_err().code, ErrorCode::NotFound);
    }
    assert_eq!(f.get(&job.id).await.status, JobStatus::Queued as i32, "unchanged");
    let err = f.jobs.retry(request(STORE_A, &job.id)).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict, "a queued job is not retried");
    f.jobs.cancel(request(STORE_A, &job.id)).await.unwrap();
    let err = f.jobs.cancel(request(STORE_A, &job.id)).await.unwrap_err();
    assert_eq!(
        err.code,
        ErrorCode::Conflict,
        "a cancelled job is not cancelled again"
    );
}

async fn progress_is_written_about_once_a_second_with_an_estimated_finish(f: Fixture) {
    let handler = TestHandler::new(policy());
    let runner = start(&f.jobs, &handler);
    let job = f
        .enqueue(STORE_A, serde_json::json!({"steps": ["progress"]}))
        .await;
    handler.wait_started(&job.id, 1).await;
    // The handler reports every 10 ms: about 130 reports in 1.3 s.
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let running = f.get(&job.id).await;
    f.jobs.cancel(request(STORE_A, &job.id)).await.unwrap();
    f.wait_for(&job.id, JobStatus::Cancelled).await;
    runner.stop().await;
    let reports: Vec<pb::Job> = f
        .changes(&job.id)
        .await
        .into_iter()
        .filter(|j| j.status == JobStatus::Running as i32 && j.progress.is_some_and(|p| p.total == 1_000))
        .collect();
    assert!(
        (2..=3).contains(&reports.len()),
        "{} progress writes",
        reports.len()
    );
    let progress = running.progress.unwrap();
    assert!(progress.done >= 50, "{progress:?}");
    assert!(
        progress.estimated_finish_ms > running.updated_at_ms,
        "an estimate in the future: {progress:?}"
    );
}

async fn gauges_count_each_kind_and_the_oldest_ready_job_s_wait(f: Fixture) {
    let waiting = f.enqueue(STORE_A, serde_json::json!({})).await;
    f.enqueue(STORE_B, serde_json::json!({})).await;
    // The first has been ready for a minute.
    f.db.execute(
        "test",
        "UPDATE jobs SET run_after = run_after - 60000 WHERE id = $1",
        &[&waiting.id],
    )
    .await
    .unwrap();
    let gauges = sample(&f.db, &[KIND, "test.idle"]).await.unwrap();
    let work = gauges[KIND];
    assert_eq!((work.queued, work.running, work.dead), (2, 0, 0));
    assert!((60_000..70_000).contains(&work.oldest_wait_ms), "{work:?}");
    assert_eq!(
        gauges["test.idle"],
        KindGauges::default(),
        "a registered kind without jobs"
    );
    // A retry waiting for its backoff is not ready: no wait is counted.
    f.db.execute("test", "UPDATE jobs SET run_after = run_after + 3600000", &[])
        .await
        .unwrap();
    assert_eq!(sample(&f.db, &[KIND]).await.unwrap()[KIND].oldest_wait_ms, 0);
}

async fn finished_jobs_are_deleted_thirty_days_after_they_finished(f: Fixture) {
    let old = f.enqueue(STORE_A, serde_json::json!({})).await;
    let recent = f.enqueue(STORE_A, serde_json::json!({})).await;
    let queued = f.enqueue(STORE_A, serde_json::json!({})).await;
    for id in [&old.id, &recent.id] {
        f.jobs.cancel(request(STORE_A, id)).await.unwrap();
    }
    let day = 86_400_000i64;
    f.db.execute(
        "test",
        "UPDATE jobs SET finished_at = finished_at - $1, created_at = created_at - $1 WHERE id = $2",
        &[&(31 * day), &old.id],
    )
    .await
    .unwrap();
    let now = mercato_runtime::time::now_ms();
    assert_eq!(delete_finished(&f.db, now).await.unwrap(), 1);
    assert_eq!(f.count_jobs().await, 2);
    let not_found = f.jobs.get(request(STORE_A, &old.id)).await.unwrap_err();
    assert_eq!(not_found.code, ErrorCode::NotFound);
    assert_eq!(f.get(&queued.id).await.status, JobStatus::Queued as i32);
}
