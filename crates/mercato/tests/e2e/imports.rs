//! `mercato import` journeys against a generated WooCommerce shop in a real MariaDB, in both
//! topologies (the binary as a child process, through the REST API): an import reconciles
//! clean, a re-run from the start changes nothing, a corrupted source row is located to its
//! record and field; a killed import re-run finishes with nothing doubled; `--follow` picks up
//! a changed price (one stamped below the newest time held, too), a new customer and their new
//! order, and reconciles clean; a legacy customer signs in with their WordPress password, then
//! again; a shop with classic orders, a product without a SKU and an order of deleted products
//! imports clean.
//! Without `MERCATO_TEST_MYSQL_URL` these pass without running (see `fixture::TestDatabase`).

use crate::harness::{Platform, platforms};
use mercato_migrate::fixture::{self, CURRENCY, Spec, TestDatabase};
use mercato_migrate::report::Report;
use mercato_migrate::woocommerce::OrderStorage;
use mercato_runtime::imports::numeric_key;
use serde_json::json;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const OWNER_PASSWORD: &str = "correct horse battery";

/// A fresh generated shop, or `None` when no MariaDB is configured.
async fn shop(spec: &Spec) -> Option<TestDatabase> {
    let db = TestDatabase::create().await.expect("test database")?;
    fixture::generate(db.pool(), spec)
        .await
        .expect("fixture generated");
    Some(db)
}

/// A store in the fixture's currency; its slug.
async fn store(p: &Platform) -> String {
    let slug = format!("import-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    let body = json!({"slug": slug, "name": "Imported", "currency": CURRENCY,
        "owner": {"email": "owner@example.com", "password": OWNER_PASSWORD}});
    let reply = p.post(0, "/v1/stores", None, &body).await;
    assert_eq!(reply.status, 201, "{}: {}", p.name, reply.body);
    slug
}

/// `mercato import <args> --store … --api … --email … --password … --report-dir …`.
fn command(
    p: &Platform,
    db: &TestDatabase,
    store: &str,
    reports: &std::path::Path,
    args: &[&str],
) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mercato"));
    command.arg("import").args(args);
    for (flag, value) in [
        ("--mysql-url", db.url()),
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
    command
}

async fn run(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().expect("mercato runs"))
        .await
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The newest report in `dir`.
fn newest_report(dir: &std::path::Path) -> Report {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let newest = paths.last().expect("a report was written");
    serde_json::from_slice(&std::fs::read(newest).unwrap()).unwrap()
}

/// Runs SQL in the shop's database with the `mysql` client.
fn sql(db: &TestDatabase, statement: &str) {
    let server = reqwest::Url::parse(&std::env::var(fixture::URL_VAR).unwrap()).unwrap();
    let status = Command::new("mysql")
        .args(["--host", server.host_str().unwrap_or("127.0.0.1")])
        .args(["--port", &server.port().unwrap_or(3306).to_string()])
        .args([
            "--user",
            if server.username().is_empty() {
                "root"
            } else {
                server.username()
            },
        ])
        .args([db.name(), "-e", statement])
        .status()
        .expect("mysql runs");
    assert!(status.success(), "{statement}");
}

/// Product `i`'s price changed in the legacy shop (on the product and its variations), and its
/// modification time set `ahead_s` seconds past the database's clock; its legacy key.
fn change_price(db: &TestDatabase, i: u64, ahead_s: u32) -> String {
    let post = 100 + 4 * i;
    sql(
        db,
        &format!(
            "UPDATE wp_postmeta SET meta_value = '9.99' WHERE post_id IN ({post}, {}, {}) \
             AND meta_key IN ('_regular_price', '_price'); \
             UPDATE wp_posts SET post_modified_gmt = UTC_TIMESTAMP() + INTERVAL {ahead_s} SECOND \
             WHERE ID IN ({post}, {}, {})",
            post + 1,
            post + 2,
            post + 1,
            post + 2
        ),
    );
    numeric_key(post)
}

/// A new customer (user 900, registered now, with customer 0's password hash) and their new
/// order (HPOS order 5000, one line of product 0) in the legacy shop; their legacy keys.
fn new_customer_and_order(db: &TestDatabase) -> (String, String) {
    sql(
        db,
        "INSERT INTO wp_users (ID, user_login, user_pass, user_nicename, user_email, \
           user_registered, display_name) \
         SELECT 900, 'newbie', user_pass, 'newbie', 'newbie@example.com', UTC_TIMESTAMP(), 'newbie' \
         FROM wp_users WHERE ID = 2; \
         INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES \
           (900, 'wp_capabilities', 'a:1:{s:8:\"customer\";b:1;}'), \
           (900, 'first_name', 'New'), (900, 'last_name', 'Buyer'); \
         INSERT INTO wp_wc_orders (id, status, currency, type, tax_amount, total_amount, \
           customer_id, billing_email, date_created_gmt, date_updated_gmt, parent_order_id) \
         VALUES (5000, 'wc-processing', 'USD', 'shop_order', 0, 12, 900, 'newbie@example.com', \
           UTC_TIMESTAMP(), UTC_TIMESTAMP(), 0); \
         INSERT INTO wp_wc_order_operational_data (order_id, shipping_total_amount, \
           discount_total_amount) VALUES (5000, 0, 0); \
         INSERT INTO wp_woocommerce_order_items (order_item_id, order_item_name, \
           order_item_type, order_id) VALUES (20000, 'Product 0', 'line_item', 5000); \
         INSERT INTO wp_woocommerce_order_itemmeta (order_item_id, meta_key, meta_value) VALUES \
           (20000, '_product_id', '100'), (20000, '_variation_id', '0'), (20000, '_qty', '1'), \
           (20000, '_line_subtotal', '12.00'), (20000, '_line_total', '12.00'), \
           (20000, '_line_tax', '0')",
    );
    (numeric_key(900), numeric_key(5000))
}

/// Waits (up to a minute) until the store's product `key` has the price `change_price` gave it.
async fn wait_for_price(p: &Platform, slug: &str, key: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (owner, _) = p.sign_in(0, slug, "owner@example.com", OWNER_PASSWORD).await;
        let path = format!("/v1/stores/{slug}/imports/woocommerce/products/records?from_key={key}&limit=1");
        let held = p.get(0, &path, Some(&owner)).await;
        if held.body["products"][0]["variants"][0]["price_minor"] == 999 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{}: --follow did not import the new price of {key}: {}",
            p.name,
            held.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits (up to a minute) until the store holds `entity`'s record `key`.
async fn wait_for_record(p: &Platform, slug: &str, entity: &str, key: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (owner, _) = p.sign_in(0, slug, "owner@example.com", OWNER_PASSWORD).await;
        let path = format!("/v1/stores/{slug}/imports/woocommerce/{entity}/records?from_key={key}&limit=1");
        let held = p.get(0, &path, Some(&owner)).await;
        if held.body[entity][0]["legacy_key"] == key {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{}: --follow did not import {entity} {key}: {}",
            p.name,
            held.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn small() -> Spec {
    Spec {
        products: 30,
        customers: 20,
        orders: 60,
        ..Spec::default()
    }
}

#[tokio::test]
async fn an_import_reconciles_clean_a_rerun_changes_nothing_and_a_corrupted_row_is_located() {
    for p in platforms().await {
        let Some(db) = shop(&small()).await else { return };
        let slug = store(&p).await;
        let reports = std::env::temp_dir().join(format!("mercato-import-{slug}"));
        let first = run(command(&p, &db, &slug, &reports, &["woocommerce"])).await;
        assert_eq!(
            first.status.code(),
            Some(0),
            "{}: {}{}",
            p.name,
            text(&first.stdout),
            text(&first.stderr)
        );
        let report = newest_report(&reports);
        for e in &report.entities {
            assert_eq!(e.source_count, e.store_count, "{}: {e:?}", p.name);
            assert!(e.source_count > 0, "{}: {e:?}", p.name);
        }
        let import = report.import.unwrap();
        assert!(
            import.entities.iter().all(|e| e.created > 0),
            "{}: {import:?}",
            p.name
        );

        let again = run(command(
            &p,
            &db,
            &slug,
            &reports,
            &["woocommerce", "--from-start"],
        ))
        .await;
        assert_eq!(
            again.status.code(),
            Some(0),
            "{}: {}",
            p.name,
            text(&again.stderr)
        );
        let import = newest_report(&reports).import.unwrap();
        for e in &import.entities {
            assert_eq!(
                (e.created, e.updated, e.unchanged),
                (0, 0, e.rows),
                "{}: {e:?}",
                p.name
            );
        }

        let key = change_price(&db, 3, 60);
        let verify = run(command(&p, &db, &slug, &reports, &["verify", "woocommerce"])).await;
        let out = text(&verify.stdout);
        assert_eq!(
            verify.status.code(),
            Some(2),
            "{}: {out}{}",
            p.name,
            text(&verify.stderr)
        );
        let line = out
            .lines()
            .find(|l| l.contains(&key))
            .unwrap_or_else(|| panic!("{}: {out}", p.name));
        assert!(line.contains("price_minor"), "{}: {line}", p.name);
        let _ = std::fs::remove_dir_all(&reports);
    }
}

#[tokio::test]
async fn a_killed_import_rerun_finishes_with_nothing_doubled() {
    for p in platforms().await {
        let spec = Spec {
            orders: 400,
            ..small()
        };
        let Some(db) = shop(&spec).await else { return };
        let slug = store(&p).await;
        let reports = std::env::temp_dir().join(format!("mercato-import-{slug}"));
        let mut child: Child = command(&p, &db, &slug, &reports, &["woocommerce", "--batch", "5"])
            .spawn()
            .expect("mercato starts");
        let (owner, _) = p.sign_in(0, &slug, "owner@example.com", OWNER_PASSWORD).await;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let held = p
                .get(0, &format!("/v1/stores/{slug}/imports/woocommerce"), Some(&owner))
                .await;
            let orders = held.body["entities"]
                .as_array()
                .and_then(|all| all.iter().find(|e| e["entity"] == "orders"))
                .and_then(|e| e["count"].as_u64())
                .unwrap_or(0);
            if orders >= 20 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{}: the import did not reach the orders: {}",
                p.name,
                held.body
            );
            assert!(
                child.try_wait().unwrap().is_none(),
                "{}: the import ended before it was killed",
                p.name
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.kill().expect("killed");
        let _ = child.wait();

        let rerun = run(command(&p, &db, &slug, &reports, &["woocommerce"])).await;
        assert_eq!(
            rerun.status.code(),
            Some(0),
            "{}: {}{}",
            p.name,
            text(&rerun.stdout),
            text(&rerun.stderr)
        );
        let report = newest_report(&reports);
        let orders = report.entities.iter().find(|e| e.entity == "orders").unwrap();
        assert_eq!(orders.store_count, orders.source_count, "{}", p.name);
        let resumed = report.import.unwrap();
        let resumed_orders = resumed.entities.iter().find(|e| e.entity == "orders").unwrap();
        assert!(
            resumed_orders.rows < orders.source_count,
            "{}: the re-run resumed: {resumed_orders:?}",
            p.name
        );
        let _ = std::fs::remove_dir_all(&reports);
    }
}

#[tokio::test]
async fn following_picks_up_a_changed_price_and_legacy_customers_keep_their_passwords() {
    for p in platforms().await {
        let spec = small();
        let Some(db) = shop(&spec).await else { return };
        let slug = store(&p).await;
        let reports = std::env::temp_dir().join(format!("mercato-import-{slug}"));
        let first = run(command(&p, &db, &slug, &reports, &["woocommerce"])).await;
        assert_eq!(
            first.status.code(),
            Some(0),
            "{}: {}",
            p.name,
            text(&first.stderr)
        );

        let follower = command(
            &p,
            &db,
            &slug,
            &reports,
            &["woocommerce", "--follow", "--interval", "200ms"],
        )
        .spawn()
        .expect("mercato starts");
        let key = change_price(&db, 5, 60);
        wait_for_price(&p, &slug, &key).await;
        // A change stamped now, after that round and below the newest time the store now holds
        // (product 5's, a minute ahead): rounds start from the source's clock, so it is seen.
        let below = change_price(&db, 6, 0);
        wait_for_price(&p, &slug, &below).await;
        // A customer signs up and orders in the legacy shop while it is followed.
        let (customer_key, order_key) = new_customer_and_order(&db);
        for (entity, key) in [("customers", &customer_key), ("orders", &order_key)] {
            wait_for_record(&p, &slug, entity, key).await;
        }
        // SIGTERM ends following; the import then reconciles, clean.
        let _ = Command::new("kill")
            .args(["-TERM", &follower.id().to_string()])
            .status();
        let done = tokio::task::spawn_blocking(move || follower.wait_with_output().unwrap())
            .await
            .unwrap();
        assert_eq!(
            done.status.code(),
            Some(0),
            "{}: {}{}",
            p.name,
            text(&done.stdout),
            text(&done.stderr)
        );
        let report = newest_report(&reports);
        for e in &report.entities {
            assert_eq!(e.source_count, e.store_count, "{}: {e:?}", p.name);
        }

        let customer = spec.customer(1).record;
        let password = fixture::people::password(1);
        for _ in 0..2 {
            let (token, _) = p.sign_in(0, &slug, &customer.email, &password).await;
            assert!(!token.is_empty());
        }
        let wrong = p
            .token(
                0,
                &[
                    ("grant_type", "password"),
                    ("store", &slug),
                    ("username", &customer.email),
                    ("password", "nope"),
                ],
            )
            .await;
        assert_ne!(wrong.status, 200, "{}", p.name);
        let _ = std::fs::remove_dir_all(&reports);
    }
}

#[tokio::test]
async fn a_shop_with_classic_orders_sku_less_products_and_deleted_products_imports_clean() {
    for p in platforms().await {
        let spec = Spec {
            order_storage: OrderStorage::Posts,
            bad_rows: true,
            ..small()
        };
        let Some(db) = shop(&spec).await else { return };
        let slug = store(&p).await;
        let reports = std::env::temp_dir().join(format!("mercato-import-{slug}"));
        let out = run(command(&p, &db, &slug, &reports, &["woocommerce"])).await;
        // 3: clean, but the planted bad rows were skipped.
        assert_eq!(
            out.status.code(),
            Some(3),
            "{}: {}{}",
            p.name,
            text(&out.stdout),
            text(&out.stderr)
        );
        let report = newest_report(&reports);
        for e in &report.entities {
            assert_eq!(e.source_count, e.store_count, "{}: {e:?}", p.name);
        }
        let import = report.import.unwrap();
        for e in &import.entities {
            assert!(e.rejected.is_empty(), "{}: {e:?}", p.name);
        }
        let products = import.entities.iter().find(|e| e.entity == "products").unwrap();
        assert_eq!(products.synthesized_skus, 1, "{}: {products:?}", p.name);

        let (owner, _) = p.sign_in(0, &slug, "owner@example.com", OWNER_PASSWORD).await;
        let records = |entity: &str, key: String| {
            format!("/v1/stores/{slug}/imports/woocommerce/{entity}/records?from_key={key}&limit=1")
        };
        let ids = spec.bad_ids();
        let sku_less = p
            .get(
                0,
                &records("products", numeric_key(ids.sku_less_product)),
                Some(&owner),
            )
            .await;
        let product = &sku_less.body["products"][0];
        assert_eq!(product["slug"], "cafe-sans-sku", "{}: {}", p.name, sku_less.body);
        let sku = format!("WC-{}", ids.sku_less_product);
        assert_eq!(product["variants"][0]["sku"], sku.as_str(), "{}", p.name);
        let order_key = numeric_key(ids.order_with_deleted_product);
        let order = p
            .get(0, &records("orders", order_key.clone()), Some(&owner))
            .await;
        assert_eq!(
            order.body["orders"][0]["legacy_key"],
            order_key.as_str(),
            "{}",
            p.name
        );
        assert_eq!(
            order.body["orders"][0]["lines"].as_array().map(Vec::len),
            Some(2),
            "{}",
            p.name
        );
        let _ = std::fs::remove_dir_all(&reports);
    }
}
