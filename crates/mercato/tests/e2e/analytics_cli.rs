//! `mercato analytics verify` against a running platform, in both topologies: after a few
//! checkouts (two confirmed, one declined) the owner's verify prints "no differences" and exits
//! 0; with a wrong password it exits 2 and says why.

use crate::checkout::{APPROVE, cart_with, payment_method, store_with_stock};
use crate::harness::{Platform, platforms};
use serde_json::json;
use std::process::Output;
use std::time::{Duration, Instant};

const DECLINE: &str = "4000000000000002";
const OWNER_PASSWORD: &str = "correct horse battery";

/// Checks `quantity` of `sku` out as the guest `email`, paying with `card`; the status.
async fn order(p: &Platform, store: &str, sku: &str, email: &str, card: &str) -> u16 {
    let cart = cart_with(p, 0, store, sku, 1).await;
    let method = payment_method(p, 0, store, card).await;
    let body = json!({"cart_id": cart.0, "payment": {"payment_method": method, "email": email},
        "shipping_address": crate::harness::shipping_address()});
    let request = p
        .http
        .post(format!("{}/v1/stores/{store}/checkout", p.gateway(0)))
        .header("x-cart-token", &cart.1)
        .header("idempotency-key", format!("verify-cli-{email}"))
        .json(&body);
    p.send(0, request).await.status
}

/// Waits (10 s at most) until the summary counts `orders` confirmed orders.
async fn await_orders(p: &Platform, store: &str, owner: &str, orders: i64) {
    let started = Instant::now();
    loop {
        let reply = p
            .get(0, &format!("/v1/stores/{store}/analytics/summary"), Some(owner))
            .await;
        if reply.status == 200 && reply.body["figures"]["orders"].as_i64() == Some(orders) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{}: the summary never counted {orders} orders: {} {}",
            p.name,
            reply.status,
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs `mercato analytics verify --store <store>` against the platform's first gateway.
async fn verify(p: &Platform, store: &str, password: &str) -> Output {
    let args = [
        "analytics",
        "verify",
        "--store",
        store,
        "--api",
        p.gateway(0),
        "--email",
        "owner@example.com",
        "--password",
        password,
    ]
    .map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_mercato"))
            .args(args)
            .env_remove("MERCATO_TOKEN")
            .env_remove("MERCATO_CLIENT_ID")
            .env_remove("MERCATO_CLIENT_SECRET")
            .output()
            .expect("mercato runs")
    })
    .await
    .expect("joined")
}

#[tokio::test]
async fn verify_reports_no_difference_after_checkouts_and_exit_2_without_valid_credentials() {
    for p in platforms().await {
        let (store, owner, sku) = store_with_stock(&p, 100).await;
        assert_eq!(
            order(&p, &store, &sku, "ada@example.com", APPROVE).await,
            201,
            "{}",
            p.name
        );
        assert_eq!(
            order(&p, &store, &sku, "bob@example.com", APPROVE).await,
            201,
            "{}",
            p.name
        );
        order(&p, &store, &sku, "cyd@example.com", DECLINE).await;
        await_orders(&p, &store, &owner, 2).await;

        let out = verify(&p, &store, OWNER_PASSWORD).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {stdout}{}",
            p.name,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(&format!("store {store}, ")),
            "{}: {stdout}",
            p.name
        );
        assert!(stdout.contains("no differences"), "{}: {stdout}", p.name);

        let refused = verify(&p, &store, "not the password").await;
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(2), "{}: {stderr}", p.name);
        assert!(stderr.contains("/v1/oauth/token"), "{}: {stderr}", p.name);
    }
}
