//! The jobs suite's cases about the job RPCs (lists, look-ups across stores), progress, the
//! gauges and deleting finished jobs.

use super::*;

mercato_runtime::backend_tests! {
    setup: Fixture::on,
    cases: [
        lists_page_newest_first_and_filter_by_status_and_kind,
        another_store_s_job_is_not_found_and_finished_jobs_conflict,
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        progress_is_written_about_once_a_second_with_an_estimated_finish,
        gauges_count_each_kind_and_the_oldest_ready_job_s_wait,
        finished_jobs_are_deleted_thirty_days_after_they_finished,
    ],
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
