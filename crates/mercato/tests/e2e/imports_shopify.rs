//! `mercato import shopify-csv` journeys in both topologies (the binary as a child process,
//! through the REST API), with the reader's fixture export (`crates/migrate/tests/data`): the
//! import reconciles clean and shoppers see the products, variants and stock (image URLs are
//! recorded with the import); a re-run from the start changes nothing and `verify` is clean; an
//! edited copy of the export is located to its handle and field; a store in another currency
//! than `--currency` is refused; a product that cannot be whole is skipped with its line, the
//! rest imported.

use crate::harness::{Platform, platforms};
use mercato_migrate::report::Report;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const OWNER_PASSWORD: &str = "correct horse battery";

/// The template-ordered export the reader's tests use.
fn export() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrate/tests/data/shopify-products.csv")
}

/// A EUR store; its slug.
async fn store(p: &Platform) -> String {
    let slug = format!("shopify-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    let body = json!({"slug": slug, "name": "From Shopify", "currency": "EUR",
        "owner": {"email": "owner@example.com", "password": OWNER_PASSWORD}});
    let reply = p.post(0, "/v1/stores", None, &body).await;
    assert_eq!(reply.status, 201, "{}: {}", p.name, reply.body);
    slug
}

/// `mercato import <args> --store … --api … --email … --password … --report-dir …`.
async fn mercato(p: &Platform, store: &str, reports: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mercato"));
    command.arg("import").args(args);
    for (flag, value) in [
        ("--store", store),
        ("--api", p.gateway(0)),
        ("--email", "owner@example.com"),
        ("--password", OWNER_PASSWORD),
        ("--report-dir", reports.to_str().unwrap()),
    ] {
        command.args([flag, value]);
    }
    command
        .env_remove("MERCATO_TOKEN")
        .env_remove("MERCATO_CLIENT_ID")
        .env_remove("MERCATO_CLIENT_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    tokio::task::spawn_blocking(move || command.output().expect("mercato runs"))
        .await
        .unwrap()
}

fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The newest report in `dir`.
fn newest_report(dir: &Path) -> Report {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let newest = paths.last().expect("a report was written");
    serde_json::from_slice(&std::fs::read(newest).unwrap()).unwrap()
}

/// What shoppers and the owner see of the imported shop.
async fn assert_visible(p: &Platform, slug: &str) {
    let tee = p
        .get(1, &format!("/v1/stores/{slug}/products/classic-tee"), None)
        .await;
    assert_eq!(tee.status, 200, "{}: {}", p.name, tee.body);
    let variants = tee.body["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 4, "{}: {}", p.name, tee.body);
    let large = variants.iter().find(|v| v["sku"] == "TEE-L-BLK").unwrap();
    assert_eq!(large["price"]["amount_minor"], 2750, "{}: {large}", p.name);
    let draft = p
        .get(1, &format!("/v1/stores/{slug}/products/winter-scarf"), None)
        .await;
    assert_eq!(draft.status, 404, "{}: a draft is not public", p.name);

    let stock = p
        .get(
            1,
            &format!("/v1/stores/{slug}/inventory/TEE-S-BLK/availability"),
            None,
        )
        .await;
    assert_eq!(stock.body["available"], 12, "{}: {}", p.name, stock.body);

    let (owner, _) = p.sign_in(0, slug, "owner@example.com", OWNER_PASSWORD).await;
    let records = p
        .get(
            0,
            &format!("/v1/stores/{slug}/imports/shopify/products/records?from_key=classic-tee&limit=1"),
            Some(&owner),
        )
        .await;
    let urls = &records.body["products"][0]["image_urls"];
    assert_eq!(
        urls.as_array().map(Vec::len),
        Some(3),
        "{}: {}",
        p.name,
        records.body
    );
    let socks = p
        .get(
            0,
            &format!("/v1/stores/{slug}/imports/shopify/products/records?limit=1"),
            Some(&owner),
        )
        .await;
    let made_up = mercato_migrate::shopify::synthetic_sku("archived-socks");
    assert_eq!(
        socks.body["products"][0]["variants"][0]["sku"],
        made_up.as_str(),
        "{}: {}",
        p.name,
        socks.body
    );
}

#[tokio::test]
async fn a_shopify_export_imports_visibly_reruns_unchanged_and_an_edited_copy_is_located() {
    let file = export();
    let file = file.to_str().unwrap();
    for p in platforms().await {
        let slug = store(&p).await;
        let reports = std::env::temp_dir().join(format!("mercato-import-{slug}"));
        let first = mercato(&p, &slug, &reports, &["shopify-csv", file]).await;
        assert_eq!(first.status.code(), Some(0), "{}: {}", p.name, said(&first));
        let report = newest_report(&reports);
        let counts: Vec<(&str, u64, u64)> = report
            .entities
            .iter()
            .map(|e| (e.entity.as_str(), e.source_count, e.store_count))
            .collect();
        assert_eq!(
            counts,
            [("categories", 13, 13), ("products", 5, 5), ("stock", 7, 7)],
            "{}",
            p.name
        );
        assert_visible(&p, &slug).await;

        let again = mercato(&p, &slug, &reports, &["shopify-csv", file]).await;
        assert_eq!(again.status.code(), Some(0), "{}: {}", p.name, said(&again));
        for e in &newest_report(&reports).import.unwrap().entities {
            assert_eq!(
                (e.created, e.updated, e.unchanged),
                (0, 0, e.rows),
                "{}: {e:?}",
                p.name
            );
        }
        let verify = mercato(&p, &slug, &reports, &["verify", "shopify-csv", file]).await;
        assert_eq!(verify.status.code(), Some(0), "{}: {}", p.name, said(&verify));

        let edited = reports.join("edited.csv");
        let text = std::fs::read_to_string(file).unwrap();
        std::fs::write(
            &edited,
            text.replace(
                "TEE-L-BLK,220,shopify,0,deny,manual,27.50",
                "TEE-L-BLK,220,shopify,0,deny,manual,29.00",
            ),
        )
        .unwrap();
        let verify = mercato(
            &p,
            &slug,
            &reports,
            &["verify", "shopify-csv", edited.to_str().unwrap()],
        )
        .await;
        let out = said(&verify);
        assert_eq!(verify.status.code(), Some(2), "{}: {out}", p.name);
        let line = out
            .lines()
            .find(|l| l.contains("classic-tee"))
            .unwrap_or_else(|| panic!("{}: {out}", p.name));
        assert!(line.contains("price_minor"), "{}: {line}", p.name);

        // The later export, imported as the README says (no flag), takes the edit.
        let edited_path = edited.to_str().unwrap();
        let later = mercato(&p, &slug, &reports, &["shopify-csv", edited_path]).await;
        assert_eq!(later.status.code(), Some(0), "{}: {}", p.name, said(&later));
        let products = newest_report(&reports).import.unwrap().entities;
        let products = products.iter().find(|e| e.entity == "products").unwrap();
        assert_eq!(
            (products.updated, products.created),
            (1, 0),
            "{}: {products:?}",
            p.name
        );

        let dollars = mercato(&p, &slug, &reports, &["shopify-csv", file, "--currency", "USD"]).await;
        assert_eq!(dollars.status.code(), Some(1), "{}: {}", p.name, said(&dollars));
        assert!(said(&dollars).contains("USD"), "{}: {}", p.name, said(&dollars));
        let _ = std::fs::remove_dir_all(&reports);
    }
}

#[tokio::test]
async fn a_product_that_cannot_be_whole_is_skipped_with_its_line_and_the_rest_imported() {
    let text = std::fs::read_to_string(export()).unwrap();
    // The scarf's second variant, on the file's line 14 (the tee's body spans lines 2 to 6), is
    // priced below zero.
    let broken = text.replace(
        "SCARF-NVY,150,shopify,7,deny,manual,39.00",
        "SCARF-NVY,150,shopify,7,deny,manual,-39.00",
    );
    assert_ne!(broken, text);
    for p in platforms().await {
        let slug = store(&p).await;
        let reports = std::env::temp_dir().join(format!("mercato-import-{slug}"));
        std::fs::create_dir_all(&reports).unwrap();
        let file = reports.join("products.csv");
        std::fs::write(&file, &broken).unwrap();
        let run = mercato(&p, &slug, &reports, &["shopify-csv", file.to_str().unwrap()]).await;
        let out = said(&run);
        assert_eq!(run.status.code(), Some(3), "{}: {out}", p.name);
        let line = out
            .lines()
            .find(|l| l.contains("winter-scarf"))
            .unwrap_or_else(|| panic!("{}: {out}", p.name));
        assert!(
            line.contains("products.csv line 14") && line.contains("negative"),
            "{}: {line}",
            p.name
        );
        let report = newest_report(&reports);
        let products = report.entities.iter().find(|e| e.entity == "products").unwrap();
        assert_eq!(
            (products.source_count, products.store_count),
            (4, 4),
            "{}",
            p.name
        );
        let stock = report.entities.iter().find(|e| e.entity == "stock").unwrap();
        assert_eq!(
            stock.store_count, 5,
            "{}: the scarf's stock is skipped with it",
            p.name
        );
        let _ = std::fs::remove_dir_all(&reports);
    }
}
