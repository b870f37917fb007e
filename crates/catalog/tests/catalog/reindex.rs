//! Re-indexing as a job: `ReindexSearch` enqueues one `search.reindex` per store at a time, its
//! run rebuilds this replica's documents from the database with progress, and every other
//! replica rebuilds on the event it publishes.

use crate::support::{Catalog, code};
use mercato_proto::catalog::{ReindexSearchRequest, SearchResponse};
use mercato_proto::common::Role;
use mercato_proto::jobs::{Caller, Job, JobRequest, JobStatus};
use mercato_runtime::error::ErrorCode;
use mercato_runtime::ids::StoreId;
use mercato_runtime::shutdown::Shutdown;
use std::time::{Duration, Instant};

mercato_runtime::backend_tests! {
    setup: Catalog::on,
    cases: [
        a_reindex_job_brings_every_replica_back_to_the_database,
    ],
}

fn staff() -> Option<Caller> {
    Some(Caller {
        user_id: "u-staff".into(),
        role: Role::Staff.into(),
    })
}

fn titles(r: &SearchResponse) -> Vec<&str> {
    r.hits.iter().map(|h| h.title.as_str()).collect()
}

async fn reindex(c: &Catalog, store: &StoreId) -> Job {
    c.client
        .reindex_search(ReindexSearchRequest {
            store_id: store.to_string(),
            caller: staff(),
        })
        .await
        .expect("re-index enqueued")
}

/// The job once it has finished, within thirty seconds (the suite's import tests write thousands
/// of products beside it).
async fn finished(c: &Catalog, store: &StoreId, id: &str) -> Job {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let job = c
            .client
            .get_job(JobRequest {
                store_id: store.to_string(),
                caller: staff(),
                job_id: id.to_owned(),
            })
            .await
            .expect("the job reads");
        if !matches!(job.status(), JobStatus::Queued | JobStatus::Running) {
            return job;
        }
        assert!(Instant::now() < deadline, "the job did not finish: {job:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Searches `c` until `expected` titles come back, for at most thirty seconds (a busy machine runs
/// the whole suite in parallel, the import tests' thousands of products included).
async fn search_shows(c: &Catalog, store: &StoreId, query: &str, expected: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = c.search(store, query).await;
        if titles(&r) == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{query:?} found {:?}, not {expected:?}",
            titles(&r)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_reindex_job_brings_every_replica_back_to_the_database(first: Catalog) {
    let second = Catalog::replica(first.db.clone(), first.bus.clone()).await;
    let store = StoreId::new();
    let herring = first
        .product(&store, "herring", "Pickled Herring", "", &[("H-1", 900)])
        .await;
    let mackerel = first
        .product(&store, "mackerel", "Smoked Mackerel", "", &[("M-1", 700)])
        .await;
    first
        .product(&store, "salmon", "Cured Salmon", "", &[("S-1", 1500)])
        .await;
    // Every replica has applied every product's event before the database is changed behind
    // its back: an event applied late would put back what it carried, after the re-index.
    for c in [&first, &second] {
        search_shows(c, &store, "herring", &["Pickled Herring"]).await;
        search_shows(c, &store, "mackerel", &["Smoked Mackerel"]).await;
        search_shows(c, &store, "salmon", &["Cured Salmon"]).await;
    }
    // Changes behind the catalog's back (no event, no new version): the indexes are stale.
    first
        .db
        .execute(
            "test",
            "UPDATE products SET title = 'Pickled Eel' WHERE id = $1",
            &[&herring.id],
        )
        .await
        .unwrap();
    first
        .db
        .execute(
            "test",
            "UPDATE products SET status = 'draft' WHERE id = $1",
            &[&mackerel.id],
        )
        .await
        .unwrap();
    for c in [&first, &second] {
        assert!(
            c.search(&store, "eel").await.hits.is_empty(),
            "stale before the re-index"
        );
    }

    let customer = Some(Caller {
        user_id: "u-customer".into(),
        role: Role::Customer.into(),
    });
    let refused = first
        .client
        .reindex_search(ReindexSearchRequest {
            store_id: store.to_string(),
            caller: customer,
        })
        .await;
    assert_eq!(code(refused), ErrorCode::Forbidden);

    // Two requests before any runner looks: one job.
    let job = reindex(&first, &store).await;
    assert_eq!(
        (job.kind.as_str(), job.status()),
        ("search.reindex", JobStatus::Queued)
    );
    assert_eq!(
        reindex(&first, &store).await.id,
        job.id,
        "one re-index at a time per store"
    );

    // Only the first replica runs jobs; the second rebuilds on the event.
    let stop = Shutdown::new();
    let mut runner = first.service.jobs().runner();
    runner.register(first.service.reindex_handler());
    tokio::spawn(runner.run(stop.clone()));
    first.service.jobs().wake();
    let done = finished(&first, &store, &job.id).await;
    assert_eq!(done.status(), JobStatus::Succeeded, "{done:?}");
    assert_eq!(done.attempts, 1);
    let progress = done.progress.unwrap_or_default();
    assert_eq!((progress.done, progress.total), (2, 2), "the public products");
    let result = done.result.unwrap_or_default();
    assert_eq!(result.items, 2);
    assert_eq!(result.summary, "2 products indexed");

    for c in [&first, &second] {
        search_shows(c, &store, "eel", &["Pickled Eel"]).await;
        search_shows(c, &store, "mackerel", &[]).await;
        search_shows(c, &store, "salmon", &["Cured Salmon"]).await;
    }
    // Once it finished, asking again makes a new job.
    let again = reindex(&first, &store).await;
    assert_ne!(again.id, job.id);
    assert_eq!(
        finished(&first, &store, &again.id).await.status(),
        JobStatus::Succeeded
    );
    stop.cancel();
}
