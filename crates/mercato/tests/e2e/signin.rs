//! Sign-in under attack, through the real token endpoint: after the free failures an account
//! is locked (429 `slow_down` with `Retry-After`, RFC 6749-shaped), the same for an account
//! that does not exist, whichever gateway is asked; store provisioning is limited per address.

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
