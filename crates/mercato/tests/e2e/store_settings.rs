//! Store settings over REST in both topologies: a time zone given at provisioning (UTC
//! otherwise), and `PATCH /v1/stores/{store}` — the owner's only, an unknown zone refused naming
//! `time_zone` — whose change every gateway serves soon after (the slug cache is dropped on
//! `store_changed`).

use crate::harness::{Platform, Reply, platforms};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery";

async fn patch(p: &Platform, n: usize, path: &str, token: &str, body: &Value) -> Reply {
    let r = p
        .http
        .patch(format!("{}{path}", p.gateway(n)))
        .bearer_auth(token)
        .json(body);
    p.send(n, r).await
}

/// Reads the store from gateway `n` until its time zone is `zone` (5 s at most).
async fn until_zone(p: &Platform, n: usize, store: &str, zone: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = p.get(n, &format!("/v1/stores/{store}"), None).await;
        if got.body["time_zone"] == zone {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{}: gateway {n} still serves {}",
            p.name,
            got.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_owner_changes_the_store_time_zone_and_every_gateway_serves_it_soon_after() {
    for p in platforms().await {
        let (store, created) = p.provision(0).await;
        assert_eq!(created["store"]["time_zone"], "UTC", "{}", p.name);
        let (owner, _) = p.sign_in(0, &store, "owner@example.com", PASSWORD).await;
        // Both gateways have the store cached before it changes.
        for n in 0..2 {
            until_zone(&p, n, &store, "UTC").await;
        }

        let path = format!("/v1/stores/{store}");
        let changed = patch(&p, 0, &path, &owner, &json!({"time_zone": "Europe/Berlin"})).await;
        assert_eq!(changed.status, 200, "{}: {}", p.name, changed.body);
        assert_eq!(changed.body["time_zone"], "Europe/Berlin");
        assert_eq!(changed.body["name"], "Test Shop");
        for n in 0..2 {
            until_zone(&p, n, &store, "Europe/Berlin").await;
        }

        let renamed = patch(&p, 1, &path, &owner, &json!({"name": "Berlin Shop"})).await;
        assert_eq!(renamed.status, 200, "{}: {}", p.name, renamed.body);
        assert_eq!(
            (&renamed.body["name"], &renamed.body["time_zone"]),
            (&json!("Berlin Shop"), &json!("Europe/Berlin"))
        );

        let unknown = patch(&p, 0, &path, &owner, &json!({"time_zone": "Mars/Base"})).await;
        assert_eq!(unknown.status, 422, "{}: {}", p.name, unknown.body);
        assert_eq!(unknown.error_fields(), ["time_zone"]);
        let extra = patch(&p, 0, &path, &owner, &json!({"currency": "USD"})).await;
        assert!(matches!(extra.status, 400 | 422), "{}: {}", p.name, extra.body);
    }
}

#[tokio::test]
async fn a_time_zone_is_taken_at_provisioning_and_only_the_owner_of_the_store_may_change_it() {
    for p in platforms().await {
        let slug = format!("tz-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
        let body = json!({"slug": slug, "name": "Zoned", "currency": "EUR", "time_zone": "Asia/Tokyo",
            "owner": {"email": "owner@example.com", "password": PASSWORD}});
        let made = p.post(0, "/v1/stores", None, &body).await;
        assert_eq!(made.status, 201, "{}: {}", p.name, made.body);
        assert_eq!(made.body["store"]["time_zone"], "Asia/Tokyo");
        let bad = json!({"slug": format!("{slug}-x"), "name": "Zoned", "currency": "EUR",
            "time_zone": "Nowhere", "owner": {"email": "owner@example.com", "password": PASSWORD}});
        let refused = p.post(0, "/v1/stores", None, &bad).await;
        assert_eq!(refused.status, 422, "{}: {}", p.name, refused.body);
        assert_eq!(refused.error_fields(), ["time_zone"]);

        let (owner, _) = p.sign_in(0, &slug, "owner@example.com", PASSWORD).await;
        let staff_body = json!({"email": "bob@example.com", "password": PASSWORD});
        let staff = p
            .post(0, &format!("/v1/stores/{slug}/staff"), Some(&owner), &staff_body)
            .await;
        assert_eq!(staff.status, 201, "{}: {}", p.name, staff.body);
        let (bob, _) = p.sign_in(0, &slug, "bob@example.com", PASSWORD).await;
        let (other_store, _) = p.provision(1).await;
        let (other_owner, _) = p.sign_in(1, &other_store, "owner@example.com", PASSWORD).await;

        let path = format!("/v1/stores/{slug}");
        let change = json!({"time_zone": "UTC"});
        assert_eq!(patch(&p, 0, &path, &bob, &change).await.status, 403, "{}", p.name);
        assert_eq!(
            patch(&p, 1, &path, &other_owner, &change).await.status,
            404,
            "{}",
            p.name
        );
        let unsigned = p.http.patch(format!("{}{path}", p.gateway(0))).json(&change);
        assert_eq!(p.send(0, unsigned).await.status, 401, "{}", p.name);
        until_zone(&p, 0, &slug, "Asia/Tokyo").await;
    }
}
