//! Background jobs end to end, in both topologies: the jobs API with its roles (owner and staff
//! only; another store's token and another store's job are 404), and a search re-index as a job
//! that runs to success with progress and is pushed on the staff feed. Crashes, cancel and retry:
//! `jobs_crash.rs`.

use crate::harness::{Platform, platforms};
use crate::process::PASSWORD;
use crate::realtime::store_with_customer;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Products of the catalog each scenario re-indexes.
const PRODUCTS: usize = 3;

/// Creates `n` products, eight at a time.
async fn create_products(p: &Platform, slug: &str, owner: &str, n: usize) {
    use futures::StreamExt;
    let path = format!("/v1/stores/{slug}/products");
    let created: Vec<u16> = futures::stream::iter(0..n)
        .map(|i| {
            let product = json!({"slug": format!("tea-{i}"), "title": format!("Green Tea {i}"),
                "variants": [{"sku": format!("TEA-{i}"), "price": {"amount_minor": 500, "currency": "EUR"}}]});
            let path = &path;
            async move { p.post(i, path, Some(owner), &product).await.status }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    assert!(created.iter().all(|s| *s == 201), "{}: {created:?}", p.name);
}

/// The job once it is neither queued nor running, within 30 s.
async fn finished(p: &Platform, slug: &str, token: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let job = p
            .get(0, &format!("/v1/stores/{slug}/jobs/{id}"), Some(token))
            .await;
        assert_eq!(job.status, 200, "{}: {}", p.name, job.body);
        if !matches!(job.body["status"].as_str(), Some("queued" | "running")) {
            return job.body;
        }
        assert!(
            Instant::now() < deadline,
            "{}: the job did not finish: {}",
            p.name,
            job.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_reindex_job_runs_with_progress_is_pushed_to_staff_and_only_staff_see_jobs() {
    for p in platforms().await {
        let (slug, store_id, owner, customer, _) = store_with_customer(&p).await;
        create_products(&p, &slug, &owner, PRODUCTS).await;
        let mut staff = p.ws(1, Some(&owner)).await;
        let sub = staff
            .request(json!({"type": "subscribe", "channel": format!("staff:{store_id}")}))
            .await;
        assert_eq!(sub["type"], "subscribed", "{}: {sub}", p.name);

        let started = p
            .post(
                0,
                &format!("/v1/stores/{slug}/search/reindex"),
                Some(&owner),
                &json!({}),
            )
            .await;
        assert_eq!(started.status, 202, "{}: {}", p.name, started.body);
        let id = started.body["id"].as_str().unwrap().to_owned();
        assert_eq!(started.body["kind"], "search.reindex");
        assert_eq!(started.body["service"], "catalog");
        let done = finished(&p, &slug, &owner, &id).await;
        assert_eq!(done["status"], "succeeded", "{}: {done}", p.name);
        assert_eq!(done["attempts"], 1);
        let n = PRODUCTS as i64;
        assert_eq!(
            done["progress"],
            json!({"done": n, "total": n, "percent": 100, "estimated_finish": done["progress"]["estimated_finish"]})
        );
        assert_eq!(done["result"]["items"], n, "{done}");
        assert_eq!(
            done["result"]["download_url"],
            Value::Null,
            "a re-index makes no file"
        );
        assert!(
            done["finished_at"].is_string() && done["started_at"].is_string(),
            "{done}"
        );

        // The staff feed heard every change of it, the last being the job as REST shows it.
        let mut statuses = Vec::new();
        let last = loop {
            let (frame, _) = staff.recv_kind("event").await;
            if frame["event"] != "job.changed" || frame["data"]["id"] != id.as_str() {
                continue;
            }
            statuses.push(frame["data"]["status"].as_str().unwrap().to_owned());
            if frame["data"]["status"] == "succeeded" {
                break frame["data"].clone();
            }
        };
        assert_eq!(
            statuses.first().map(String::as_str),
            Some("queued"),
            "{}: {statuses:?}",
            p.name
        );
        let mut rest = done.clone();
        rest["result"].as_object_mut().unwrap().remove("download_url");
        assert_eq!(last, rest, "{}: the push is the REST job without a link", p.name);

        // The list: newest first, filtered by status and kind, paged with `next`.
        let again = p
            .post(
                0,
                &format!("/v1/stores/{slug}/search/reindex"),
                Some(&owner),
                &json!({}),
            )
            .await;
        let second = again.body["id"].as_str().unwrap().to_owned();
        finished(&p, &slug, &owner, &second).await;
        let listed = p
            .get(0, &format!("/v1/stores/{slug}/jobs?limit=1"), Some(&owner))
            .await;
        assert_eq!(listed.status, 200, "{}: {}", p.name, listed.body);
        assert_eq!(listed.body["items"][0]["id"], second.as_str(), "newest first");
        let next = listed.body["next"].as_str().expect("a next page").to_owned();
        let rest = p
            .get(
                0,
                &format!("/v1/stores/{slug}/jobs?limit=1&after={next}"),
                Some(&owner),
            )
            .await;
        assert_eq!(
            rest.body["items"][0]["id"],
            id.as_str(),
            "{}: {}",
            p.name,
            rest.body
        );
        let filtered = p
            .get(
                0,
                &format!("/v1/stores/{slug}/jobs?status=queued,running&status=dead&kind=search.reindex"),
                Some(&owner),
            )
            .await;
        assert_eq!(filtered.body["items"], json!([]), "{}: {}", p.name, filtered.body);
        let bad = p
            .get(0, &format!("/v1/stores/{slug}/jobs?status=done"), Some(&owner))
            .await;
        assert_eq!(bad.status, 422, "{}: {}", p.name, bad.body);

        // A finished job can be neither cancelled nor retried.
        for action in ["cancel", "retry"] {
            let refused = p
                .post(
                    0,
                    &format!("/v1/stores/{slug}/jobs/{id}/{action}"),
                    Some(&owner),
                    &json!({}),
                )
                .await;
            assert_eq!(refused.status, 409, "{}: {action}: {}", p.name, refused.body);
        }

        // Customers are refused; another store's owner finds neither the jobs nor this job.
        let path = format!("/v1/stores/{slug}/jobs");
        assert_eq!(p.get(0, &path, Some(&customer)).await.status, 403, "{}", p.name);
        let reindex = format!("/v1/stores/{slug}/search/reindex");
        assert_eq!(p.post(0, &reindex, Some(&customer), &json!({})).await.status, 403);
        assert_eq!(p.get(0, &path, None).await.status, 401);
        let (other_slug, _) = p.provision(0).await;
        let (other, _) = p.sign_in(0, &other_slug, "owner@example.com", PASSWORD).await;
        assert_eq!(p.get(0, &path, Some(&other)).await.status, 404, "{}", p.name);
        let theirs = p
            .get(0, &format!("/v1/stores/{other_slug}/jobs/{id}"), Some(&other))
            .await;
        assert_eq!(theirs.status, 404, "{}: {}", p.name, theirs.body);
        let cancel = format!("/v1/stores/{other_slug}/jobs/{id}/cancel");
        assert_eq!(p.post(0, &cancel, Some(&other), &json!({})).await.status, 404);
        let none = p
            .get(0, &format!("/v1/stores/{other_slug}/jobs"), Some(&other))
            .await;
        assert_eq!(none.body["items"], json!([]), "{}: {}", p.name, none.body);
    }
}
