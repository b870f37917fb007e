//! The jobs suite's cases about a job's life: enqueueing, leases and takeover, retries and
//! backoff, cancellation, fairness between stores, and stopping runners.

use super::*;

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
    ],
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
