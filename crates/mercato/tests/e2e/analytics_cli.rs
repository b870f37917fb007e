//! `mercato analytics verify` against a running platform, in both topologies: after a few
//! checkouts (two confirmed, one declined) the owner's verify prints "no differences" and exits
//! 0; with a wrong password it exits 2 and says why.

use crate::analytics::{order, summary_until};
use crate::checkout::{APPROVE, store_with_stock};
use crate::harness::{Platform, platforms};
use std::process::Output;

const DECLINE: &str = "4000000000000002";
const OWNER_PASSWORD: &str = "correct horse battery";

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
            order(&p, &store, &sku, 1, "ada@example.com", APPROVE)
                .await
                .status,
            201,
            "{}",
            p.name
        );
        assert_eq!(
            order(&p, &store, &sku, 1, "bob@example.com", APPROVE)
                .await
                .status,
            201,
            "{}",
            p.name
        );
        order(&p, &store, &sku, 1, "cyd@example.com", DECLINE).await;
        summary_until(&p, &store, &owner, "", |s| s["figures"]["orders"] == 2).await;

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
