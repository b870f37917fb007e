//! A job's worker dies mid-run (the real `mercato` process aborts at a failpoint, as under
//! `kill -9`: no unwinding, no draining, its lease left held), in both topologies (embedded
//! SQLite; PostgreSQL, NATS and Redis): restarted on the same data, the job is taken over once
//! its lease runs out and completes exactly once (attempt 2, each product indexed once). A job
//! cancelled while its worker is gone ends cancelled when the lease runs out, and a retry runs it
//! again from attempt 1.

use crate::harness::alone_turn;
use crate::process::{self, client, free_port, owner_token, ready, store_with_owner};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// `mercato_catalog::reindex::FAILPOINT_AFTER_PAGE`: abort once the re-index reported a page.
const FAILPOINT: &str = "catalog.reindex_after_page";
const PRODUCTS: i64 = 3;

/// One platform process over a data directory (and, distributed, its databases).
struct Server {
    child: Child,
    url: String,
}

/// `mercato serve` over `data` (embedded), or over PostgreSQL, NATS and Redis under `run`'s own
/// names (distributed), with the failpoint set when `crash` is; ready when it returns.
async fn serve(http: &reqwest::Client, data: &Path, run: Option<&str>, crash: bool) -> Server {
    let port = free_port();
    let mut command = process::mercato(data);
    if let Some(run) = run {
        use mercato_runtime::env::{TEST_NATS_URL, TEST_POSTGRES_URL, TEST_REDIS_URL, test_url};
        for (var, test_var) in [
            ("MERCATO_POSTGRES_URL", TEST_POSTGRES_URL),
            ("MERCATO_NATS_URL", TEST_NATS_URL),
            ("MERCATO_REDIS_URL", TEST_REDIS_URL),
        ] {
            command.env(var, test_url(test_var).expect("configured"));
        }
        command
            .env(
                "MERCATO__POSTGRES__DATABASE_PREFIX",
                format!("mercato_e2e_{run}_"),
            )
            .env("MERCATO__NATS__NAMESPACE", format!("e2e{run}"))
            .env("MERCATO__REDIS__KEY_PREFIX", format!("e2e:{run}:"));
    }
    if crash {
        command.env(mercato_runtime::failpoint::ENV, FAILPOINT);
    }
    let child = command
        .args(["serve", "--no-demo", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mercato starts");
    let url = format!("http://127.0.0.1:{port}");
    ready(http, &url).await;
    Server { child, url }
}

/// Embedded always; distributed when PostgreSQL, NATS and Redis are configured, with `Some` of
/// a run name for its databases.
fn topologies() -> Vec<Option<String>> {
    use mercato_runtime::env::{TEST_NATS_URL, TEST_POSTGRES_URL, TEST_REDIS_URL, test_url};
    let mut all = vec![None];
    if [TEST_POSTGRES_URL, TEST_NATS_URL, TEST_REDIS_URL]
        .iter()
        .all(|v| test_url(v).is_some())
    {
        all.push(Some(uuid::Uuid::now_v7().simple().to_string()[20..].to_owned()));
    }
    all
}

/// Asks for a re-index on a server started with the failpoint and waits until it died of it.
async fn reindex_until_the_worker_dies(http: &reqwest::Client, mut server: Server, store: &str, owner: &str) {
    // The worker may die before the answer is written: job ids are read after the restart.
    let answer = http
        .post(format!("{}/v1/stores/{store}/search/reindex", server.url))
        .bearer_auth(owner)
        .send()
        .await;
    if let Ok(answer) = answer {
        assert_eq!(answer.status(), 202);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "the worker never reached the failpoint"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The store's jobs, newest first.
async fn jobs(http: &reqwest::Client, url: &str, store: &str, token: &str) -> Vec<Value> {
    let listed: Value = get(http, &format!("{url}/v1/stores/{store}/jobs"), token).await;
    listed["items"].as_array().cloned().unwrap_or_default()
}

async fn get(http: &reqwest::Client, url: &str, token: &str) -> Value {
    let response = http.get(url).bearer_auth(token).send().await.unwrap();
    response.json().await.unwrap()
}

async fn post(http: &reqwest::Client, url: &str, token: &str) -> (u16, Value) {
    let response = http.post(url).bearer_auth(token).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// The job once it is neither queued nor running: within a minute, lease expiry included.
async fn finished(http: &reqwest::Client, url: &str, store: &str, token: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job = get(http, &format!("{url}/v1/stores/{store}/jobs/{id}"), token).await;
        if !matches!(job["status"].as_str(), Some("queued" | "running")) {
            return job;
        }
        assert!(Instant::now() < deadline, "not finished: {job}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn search_total(http: &reqwest::Client, url: &str, store: &str) -> Value {
    let search: Value = http
        .get(format!("{url}/v1/stores/{store}/search?q=tea"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    search["total"].clone()
}

async fn stop(mut server: Server) {
    server.child.kill().unwrap();
    let _ = server.child.wait();
}

#[tokio::test]
async fn a_job_whose_worker_dies_mid_run_completes_once_and_one_cancelled_meanwhile_stays_cancelled() {
    let _turn = alone_turn().await;
    let http = client();
    for run in topologies() {
        let name = if run.is_some() { "distributed" } else { "embedded" };
        let data = process::data_dir("jobs-crash");
        let server = serve(&http, &data, run.as_deref(), true).await;
        let (store, owner) = store_with_owner(&http, &server.url, "crash").await;
        for i in 0..PRODUCTS {
            let product = json!({"slug": format!("tea-{i}"), "title": format!("Green Tea {i}"),
                "variants": [{"sku": format!("TEA-{i}"), "price": {"amount_minor": 500, "currency": "EUR"}}]});
            let created = http
                .post(format!("{}/v1/stores/{store}/products", server.url))
                .bearer_auth(&owner)
                .json(&product)
                .send()
                .await
                .unwrap();
            assert_eq!(created.status(), 201, "{name}");
        }
        reindex_until_the_worker_dies(&http, server, &store, &owner).await;

        // Restarted without the failpoint: once the dead worker's lease ran out, the job runs
        // again (attempt 2) and succeeds; the index holds each product once.
        let server = serve(&http, &data, run.as_deref(), false).await;
        let url = server.url.clone();
        let owner = owner_token(&http, &url, &store).await;
        let listed = jobs(&http, &url, &store, &owner).await;
        assert_eq!(listed.len(), 1, "{name}: one job: {listed:?}");
        let id = listed[0]["id"].as_str().unwrap().to_owned();
        let done = finished(&http, &url, &store, &owner, &id).await;
        assert_eq!(done["status"], "succeeded", "{name}: {done}");
        assert_eq!(
            done["attempts"], 2,
            "{name}: once cut short, once to the end: {done}"
        );
        assert_eq!(done["result"]["items"], PRODUCTS, "{name}: {done}");
        assert_eq!(
            search_total(&http, &url, &store).await,
            PRODUCTS,
            "{name}: each product once"
        );
        assert_eq!(
            jobs(&http, &url, &store, &owner).await.len(),
            1,
            "{name}: still one job"
        );
        stop(server).await;

        // Another re-index dies with its worker; cancelled before its lease ran out, it ends
        // cancelled rather than taken over, and a retry runs it again from attempt 1.
        let server = serve(&http, &data, run.as_deref(), true).await;
        let owner = owner_token(&http, &server.url, &store).await;
        reindex_until_the_worker_dies(&http, server, &store, &owner).await;
        let server = serve(&http, &data, run.as_deref(), false).await;
        let url = server.url.clone();
        let owner = owner_token(&http, &url, &store).await;
        let listed = jobs(&http, &url, &store, &owner).await;
        assert_eq!(listed.len(), 2, "{name}: {listed:?}");
        let second = listed[0]["id"].as_str().unwrap().to_owned();
        assert_ne!(second, id, "{name}: newest first");
        let (status, cancelling) = post(
            &http,
            &format!("{url}/v1/stores/{store}/jobs/{second}/cancel"),
            &owner,
        )
        .await;
        assert_eq!(status, 200, "{name}: {cancelling}");
        let ended = finished(&http, &url, &store, &owner, &second).await;
        assert_eq!(ended["status"], "cancelled", "{name}: {ended}");
        let (status, again) = post(
            &http,
            &format!("{url}/v1/stores/{store}/jobs/{second}/cancel"),
            &owner,
        )
        .await;
        assert_eq!(
            status, 409,
            "{name}: a cancelled job cannot be cancelled again: {again}"
        );
        let (status, retried) = post(
            &http,
            &format!("{url}/v1/stores/{store}/jobs/{second}/retry"),
            &owner,
        )
        .await;
        assert_eq!(status, 200, "{name}: {retried}");
        let done = finished(&http, &url, &store, &owner, &second).await;
        assert_eq!(done["status"], "succeeded", "{name}: {done}");
        assert_eq!(
            done["attempts"], 1,
            "{name}: a retry starts counting again: {done}"
        );
        assert_eq!(search_total(&http, &url, &store).await, PRODUCTS, "{name}");
        stop(server).await;
        let _ = std::fs::remove_dir_all(&data);
    }
}
