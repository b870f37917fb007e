//! `mercato jobs list|show|cancel|retry` against a running platform, in both topologies: after a
//! re-index the owner's list and show print the job for people; cancelling or retrying a
//! finished job exits 1 saying why; a customer's credentials are refused.

use crate::harness::{Platform, platforms};
use crate::process::PASSWORD;
use serde_json::json;
use std::process::Output;
use std::time::{Duration, Instant};

/// Runs `mercato jobs <args> --store <store>` against the platform's first gateway as `email`.
async fn jobs(p: &Platform, store: &str, email: &str, password: &str, args: &[&str]) -> Output {
    let mut all: Vec<String> = std::iter::once("jobs")
        .chain(args.iter().copied())
        .map(str::to_owned)
        .collect();
    for (flag, value) in [
        ("--store", store),
        ("--api", p.gateway(0)),
        ("--email", email),
        ("--password", password),
    ] {
        all.extend([flag.to_owned(), value.to_owned()]);
    }
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_mercato"))
            .args(all)
            .env_remove("MERCATO_TOKEN")
            .env_remove("MERCATO_STORE")
            .env_remove("MERCATO_CLIENT_ID")
            .env_remove("MERCATO_CLIENT_SECRET")
            .output()
            .expect("mercato runs")
    })
    .await
    .expect("joined")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn operators_list_show_and_are_told_why_a_finished_job_cannot_be_cancelled() {
    for p in platforms().await {
        let (store, _) = p.provision(0).await;
        let (owner, _) = p.sign_in(0, &store, "owner@example.com", PASSWORD).await;
        let product = json!({"slug": "tea", "title": "Green Tea",
            "variants": [{"sku": "TEA-1", "price": {"amount_minor": 500, "currency": "EUR"}}]});
        let created = p
            .post(0, &format!("/v1/stores/{store}/products"), Some(&owner), &product)
            .await;
        assert_eq!(created.status, 201, "{}: {}", p.name, created.body);
        let started = p
            .post(
                0,
                &format!("/v1/stores/{store}/search/reindex"),
                Some(&owner),
                &json!({}),
            )
            .await;
        assert_eq!(started.status, 202, "{}: {}", p.name, started.body);
        let id = started.body["id"].as_str().unwrap().to_owned();
        let deadline = Instant::now() + Duration::from_secs(30);
        while p
            .get(0, &format!("/v1/stores/{store}/jobs/{id}"), Some(&owner))
            .await
            .body["status"]
            != "succeeded"
        {
            assert!(
                Instant::now() < deadline,
                "{}: the re-index did not finish",
                p.name
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let owner_email = "owner@example.com";
        let listed = jobs(
            &p,
            &store,
            owner_email,
            PASSWORD,
            &["list", "--status", "succeeded"],
        )
        .await;
        assert!(listed.status.success(), "{}: {}", p.name, text(&listed.stderr));
        let out = text(&listed.stdout);
        let line = out
            .lines()
            .find(|l| l.starts_with(&id))
            .unwrap_or_else(|| panic!("{}: {out}", p.name));
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            &cells[1..5],
            ["search.reindex", "succeeded", "1/1", "(100%)"],
            "{}: {out}",
            p.name
        );
        let none = jobs(&p, &store, owner_email, PASSWORD, &["list", "--status", "dead"]).await;
        assert!(text(&none.stdout).contains("no jobs"), "{}", p.name);

        let shown = jobs(&p, &store, owner_email, PASSWORD, &["show", &id]).await;
        assert!(shown.status.success(), "{}: {}", p.name, text(&shown.stderr));
        assert!(
            text(&shown.stdout).contains("result         1 product indexed"),
            "{}",
            text(&shown.stdout)
        );

        for action in ["cancel", "retry"] {
            let refused = jobs(&p, &store, owner_email, PASSWORD, &[action, &id]).await;
            assert_eq!(refused.status.code(), Some(1), "{}: {action}", p.name);
            assert!(
                text(&refused.stderr).contains("409"),
                "{}: {}",
                p.name,
                text(&refused.stderr)
            );
        }

        p.customer(&store, "ann").await;
        let customer = jobs(&p, &store, "ann@example.com", "customer password", &["list"]).await;
        assert_eq!(customer.status.code(), Some(1), "{}", p.name);
        assert!(
            text(&customer.stderr).contains("403"),
            "{}: {}",
            p.name,
            text(&customer.stderr)
        );
    }
}
