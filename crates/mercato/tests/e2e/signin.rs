//! Sign-in under attack, through the real token endpoint: after the free failures an account
//! is locked (429 `slow_down` with `Retry-After`, RFC 6749-shaped), the same for an account
//! that does not exist, whichever gateway is asked; store provisioning is limited per address.
//! A disabled account cannot sign in or refresh until it is enabled again.

use crate::harness::{Platform, Reply, platforms};
use serde_json::json;

const PASSWORD: &str = "correct horse battery";

async fn password_grant(p: &Platform, n: usize, store: &str, user: &str, password: &str) -> Reply {
    p.token(
        n,
        &[
            ("grant_type", "password"),
            ("store", store),
            ("username", user),
            ("password", password),
        ],
    )
    .await
}

#[tokio::test]
async fn guessing_a_password_locks_the_account_with_429_and_retry_after_whether_it_exists_or_not() {
    for p in platforms().await {
        let (store, _) = p.provision(0).await;
        let mut locked = Vec::new();
        for user in ["owner@example.com", "nobody@example.com"] {
            // The default allows five failures; the sixth locks the account for a second.
            for n in 0..6 {
                let r = password_grant(&p, n, &store, user, "wrong password").await;
                assert_eq!(r.status, 400, "{}: {user} failure {n}: {}", p.name, r.body);
                assert_eq!(r.body["error"], "invalid_grant", "{}", p.name);
            }
            let r = password_grant(&p, 7, &store, user, PASSWORD).await;
            assert_eq!(r.status, 429, "{}: {user}: {}", p.name, r.body);
            assert_eq!(r.body["error"], "slow_down", "{}", p.name);
            assert_eq!(r.headers["cache-control"], "no-store", "{}", p.name);
            let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=2).contains(&wait), "{}: Retry-After {wait}", p.name);
            locked.push(r.body);
        }
        assert_eq!(
            locked[0], locked[1],
            "{}: the same answer for a missing account",
            p.name
        );

        // The lock ends; the right password then works and clears the failures.
        tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
        let r = password_grant(&p, 0, &store, "owner@example.com", PASSWORD).await;
        assert_eq!(r.status, 200, "{}: {}", p.name, r.body);
    }
}

#[tokio::test]
async fn provisioning_stores_is_limited_per_client_address() {
    for p in platforms().await {
        let attempts = (0..12).map(|n| {
            let body = json!({
                "slug": format!("burst-{n}-{}", &uuid::Uuid::now_v7().simple().to_string()[24..]),
                "name": "Burst", "currency": "EUR",
                "owner": {"email": "owner@example.com", "password": PASSWORD}
            });
            let p = &p;
            async move { p.post(0, "/v1/stores", None, &body).await }
        });
        let replies = futures::future::join_all(attempts).await;
        let limited: Vec<&Reply> = replies.iter().filter(|r| r.status == 429).collect();
        assert!(
            replies.iter().all(|r| r.status == 201 || r.status == 429),
            "{}: {:?}",
            p.name,
            replies.iter().map(|r| r.status).collect::<Vec<_>>()
        );
        assert!(!limited.is_empty(), "{}: 12 at once from one address", p.name);
        for r in limited {
            assert_eq!(r.body["code"], "rate_limited", "{}", p.name);
            assert!(r.headers.contains_key("retry-after"), "{}", p.name);
        }
    }
}

#[tokio::test]
async fn a_disabled_customer_cannot_sign_in_or_refresh_until_the_owner_enables_it_again() {
    for p in platforms().await {
        let (store, provisioned) = p.provision(0).await;
        let owner_id = provisioned["owner"]["id"].as_str().unwrap().to_owned();
        let (owner, _) = p.sign_in(1, &store, "owner@example.com", PASSWORD).await;
        let ann = json!({"email": "ann@example.com", "password": PASSWORD});
        let customer = p
            .post(0, &format!("/v1/stores/{store}/customers"), None, &ann)
            .await;
        assert_eq!(customer.status, 201, "{}: {}", p.name, customer.body);
        assert_eq!(
            customer.body["disabled_at"],
            serde_json::Value::Null,
            "{}",
            p.name
        );
        let ann_id = customer.body["id"].as_str().unwrap().to_owned();
        let (_, refresh) = p.sign_in(0, &store, "ann@example.com", PASSWORD).await;

        let users = format!("/v1/stores/{store}/users");
        let disabled = p
            .post(1, &format!("{users}/{ann_id}/disable"), Some(&owner), &json!({}))
            .await;
        assert_eq!(disabled.status, 200, "{}: {}", p.name, disabled.body);
        assert!(
            disabled.body["disabled_at"].is_string(),
            "{}: {}",
            p.name,
            disabled.body
        );

        let right = password_grant(&p, 0, &store, "ann@example.com", PASSWORD).await;
        assert_eq!(right.status, 400, "{}: {}", p.name, right.body);
        assert_eq!(right.body["error"], "invalid_grant", "{}", p.name);
        assert_eq!(right.body["code"], "account_disabled", "{}", p.name);
        let wrong = password_grant(&p, 1, &store, "ann@example.com", "wrong password").await;
        assert_eq!(wrong.status, 400, "{}: {}", p.name, wrong.body);
        assert_eq!(
            wrong.body["code"],
            serde_json::Value::Null,
            "{}: says nothing more",
            p.name
        );
        let refreshed = p
            .token(0, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
            .await;
        assert_eq!(refreshed.status, 400, "{}: {}", p.name, refreshed.body);
        assert_eq!(refreshed.body["error"], "invalid_grant", "{}", p.name);

        let own = p
            .post(
                0,
                &format!("{users}/{owner_id}/disable"),
                Some(&owner),
                &json!({}),
            )
            .await;
        assert_eq!(own.status, 409, "{}: {}", p.name, own.body);
        assert_eq!(own.body["code"], "cannot_disable_self", "{}", p.name);

        let enabled = p
            .post(1, &format!("{users}/{ann_id}/enable"), Some(&owner), &json!({}))
            .await;
        assert_eq!(enabled.status, 200, "{}: {}", p.name, enabled.body);
        assert_eq!(enabled.body["disabled_at"], serde_json::Value::Null, "{}", p.name);
        let again = password_grant(&p, 0, &store, "ann@example.com", PASSWORD).await;
        assert_eq!(again.status, 200, "{}: {}", p.name, again.body);
    }
}
