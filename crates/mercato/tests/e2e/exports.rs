//! Exports through the edge, in both topologies: an orders CSV parsed by Python's `csv` module
//! matches the orders API row for row (a formula-like product title comes out neutralised), the
//! JSON lines parse line by line, a tampered or expired link is 403, bad requests are 422 and
//! make no job, and the same idempotency key answers the same job.

use crate::analytics::order;
use crate::checkout::{APPROVE, store_with_stock};
use crate::harness::{Platform, Reply, platforms};
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const EVIL_TITLE: &str = "=HYPERLINK(\"http://evil.example\",\"click\")";

/// A second product whose title a spreadsheet would run as a formula, with stock.
async fn evil_product(p: &Platform, store: &str, owner: &str) -> String {
    let sku = "EVIL-1".to_owned();
    let product = json!({"slug": "evil", "title": EVIL_TITLE, "variants": [
        {"sku": sku, "price": {"amount_minor": 1000, "currency": "EUR"}}]});
    let created = p
        .post(0, &format!("/v1/stores/{store}/products"), Some(owner), &product)
        .await;
    assert_eq!(created.status, 201, "{}: {}", p.name, created.body);
    let stock = p
        .send(
            0,
            p.http
                .put(format!("{}/v1/stores/{store}/inventory/{sku}", p.gateway(0)))
                .bearer_auth(owner)
                .json(&json!({"on_hand": 10})),
        )
        .await;
    assert_eq!(stock.status, 200, "{}: {}", p.name, stock.body);
    sku
}

/// Starts an export; the reply.
async fn start(p: &Platform, store: &str, owner: &str, key: Option<&str>, body: &Value) -> Reply {
    let mut request = p
        .http
        .post(format!("{}/v1/stores/{store}/exports", p.gateway(1)))
        .bearer_auth(owner)
        .json(body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    p.send(1, request).await
}

/// The job at `location` once it succeeded (within 20 s).
async fn finished(p: &Platform, location: &str, owner: &str) -> Value {
    let started = Instant::now();
    loop {
        let reply = p.get(0, location, Some(owner)).await;
        assert_eq!(reply.status, 200, "{}: {}", p.name, reply.body);
        match reply.body["status"].as_str() {
            Some("succeeded") => return reply.body,
            Some("dead" | "cancelled") => panic!("{}: the export failed: {}", p.name, reply.body),
            _ => {}
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{}: never finished: {}",
            p.name,
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The file behind a download link: status, headers and bytes.
async fn download(p: &Platform, link: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let response = p
        .http
        .get(format!("{}{link}", p.gateway(0)))
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

/// The CSV's records as Python's `csv` module reads them: one object per row, by header.
fn python_csv(bytes: &[u8]) -> Vec<Value> {
    let script = "import csv, io, json, sys\n\
        text = io.TextIOWrapper(sys.stdin.buffer, encoding='utf-8', newline='')\n\
        print(json.dumps(list(csv.DictReader(text, strict=True))))";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python's csv refused the file");
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
}

/// `minor` in the currency's units with two decimals, as the export writes amounts.
fn amount(minor: i64) -> String {
    format!(
        "{}{}.{:02}",
        if minor < 0 { "-" } else { "" },
        minor.abs() / 100,
        minor.abs() % 100
    )
}

/// The orders API's orders, every page.
async fn api_orders(p: &Platform, store: &str, owner: &str) -> Vec<Value> {
    let reply = p
        .get(0, &format!("/v1/stores/{store}/orders?per_page=100"), Some(owner))
        .await;
    assert_eq!(reply.status, 200, "{}: {}", p.name, reply.body);
    reply.body["items"].as_array().unwrap().clone()
}

/// Each API order's lines as the CSV's rows must read them.
fn expected_rows(orders: &[Value]) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for o in orders {
        for line in o["lines"].as_array().unwrap() {
            let title = line["title"].as_str().unwrap();
            let title = if title.starts_with('=') {
                format!("'{title}")
            } else {
                title.to_owned()
            };
            rows.push(vec![
                o["id"].as_str().unwrap().to_owned(),
                o["number"].as_i64().unwrap_or(0).to_string(),
                o["status"].as_str().unwrap().to_owned(),
                o["fulfilment_status"].as_str().unwrap().to_owned(),
                o["email"].as_str().unwrap_or("").to_owned(),
                o["currency"].as_str().unwrap().to_owned(),
                amount(o["total_minor"].as_i64().unwrap()),
                amount(o["refunded_minor"].as_i64().unwrap()),
                line["sku"].as_str().unwrap().to_owned(),
                title,
                line["quantity"].as_i64().unwrap().to_string(),
                amount(line["unit_price_minor"].as_i64().unwrap()),
                line["refunded_quantity"].as_i64().unwrap().to_string(),
            ]);
        }
    }
    rows.sort();
    rows
}

fn csv_rows(records: &[Value]) -> Vec<Vec<String>> {
    let columns = [
        "order_id",
        "number",
        "status",
        "fulfilment_status",
        "email",
        "currency",
        "total",
        "refunded",
        "line_sku",
        "line_title",
        "line_quantity",
        "line_unit_price",
        "line_refunded_quantity",
    ];
    let mut rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            columns
                .iter()
                .map(|c| r[c].as_str().unwrap_or("?").to_owned())
                .collect()
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn an_orders_export_matches_the_orders_api_and_its_link_is_signed() {
    for p in platforms().await {
        let (store, owner, tee) = store_with_stock(&p, 50).await;
        let evil = evil_product(&p, &store, &owner).await;
        for (sku, quantity, email) in [(&tee, 2, "ann@example.com"), (&evil, 1, "bob@example.com")] {
            let placed = order(&p, &store, sku, quantity, email, APPROVE).await;
            assert_eq!(placed.status, 201, "{}: {}", p.name, placed.body);
        }
        let orders = api_orders(&p, &store, &owner).await;
        let bob = orders.iter().find(|o| o["email"] == "bob@example.com").unwrap();
        let refund_path = format!(
            "/v1/stores/{store}/orders/{}/refunds",
            bob["id"].as_str().unwrap()
        );
        let refund = p
            .post_keyed(1, &refund_path, &owner, "refund-bob", &json!({}))
            .await;
        assert_eq!(refund.status, 200, "{}: {}", p.name, refund.body);

        let body = json!({"dataset": "orders", "format": "csv"});
        let started = start(&p, &store, &owner, Some("export-1"), &body).await;
        assert_eq!(started.status, 202, "{}: {}", p.name, started.body);
        let location = started.headers["location"].to_str().unwrap().to_owned();
        assert_eq!(
            location,
            format!("/v1/stores/{store}/jobs/{}", started.body["id"].as_str().unwrap())
        );
        let again = start(&p, &store, &owner, Some("export-1"), &body).await;
        assert_eq!(
            again.body["id"], started.body["id"],
            "{}: the same key answers the same job",
            p.name
        );

        let job = finished(&p, &location, &owner).await;
        let orders = api_orders(&p, &store, &owner).await;
        assert_eq!(job["result"]["items"], orders.len(), "{}: {job}", p.name);
        let link = job["result"]["download_url"]
            .as_str()
            .expect("a download link")
            .to_owned();
        let (status, headers, bytes) = download(&p, &link).await;
        assert_eq!(status, 200, "{}: {}", p.name, String::from_utf8_lossy(&bytes));
        assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
        assert_eq!(
            headers["content-length"].to_str().unwrap(),
            bytes.len().to_string()
        );
        let disposition = headers["content-disposition"].to_str().unwrap();
        assert!(
            disposition.starts_with("attachment; filename=\"orders-"),
            "{disposition}"
        );
        assert!(bytes.windows(2).any(|w| w == b"\r\n"), "RFC 4180 line ends");
        let records = python_csv(&bytes);
        assert_eq!(
            csv_rows(&records),
            expected_rows(&orders),
            "{}: row for row",
            p.name
        );
        let neutralised = records.iter().find(|r| r["line_sku"] == "EVIL-1").unwrap();
        assert_eq!(neutralised["line_title"], format!("'{EVIL_TITLE}"));
        let refunded = records.iter().find(|r| r["email"] == "bob@example.com").unwrap();
        assert_eq!(refunded["status"], "refunded", "{}: {refunded}", p.name);

        // Tampered, re-dated and stripped links are refused.
        let tampered = link.replace("signature=", "signature=A");
        assert_eq!(download(&p, &tampered).await.0, 403, "{}", p.name);
        let expires = link.split("expires=").nth(1).unwrap().split('&').next().unwrap();
        let later: i64 = expires.parse::<i64>().unwrap() + 1;
        assert_eq!(
            download(&p, &link.replace(expires, &later.to_string())).await.0,
            403
        );
        let expired = link.replace(expires, "1000");
        assert_eq!(download(&p, &expired).await.0, 403, "{}", p.name);
        assert_eq!(
            download(&p, link.split('?').next().unwrap()).await.0,
            400,
            "{}",
            p.name
        );
    }
}

#[tokio::test]
async fn json_lines_parse_line_by_line_and_bad_requests_make_no_job() {
    for p in platforms().await {
        let (store, owner, tee) = store_with_stock(&p, 50).await;
        for (quantity, email) in [(1, "ann@example.com"), (3, "bob@example.com")] {
            let placed = order(&p, &store, &tee, quantity, email, APPROVE).await;
            assert_eq!(placed.status, 201, "{}: {}", p.name, placed.body);
        }
        for (body, field) in [
            (json!({"dataset": "invoices", "format": "csv"}), "dataset"),
            (json!({"dataset": "orders", "format": "xlsx"}), "format"),
            (
                json!({"dataset": "orders", "format": "csv", "from": "yesterday"}),
                "from",
            ),
            (
                json!({"dataset": "orders", "format": "csv", "from": "2026-12-02", "to": "2026-12-01"}),
                "to",
            ),
        ] {
            let refused = start(&p, &store, &owner, None, &body).await;
            assert_eq!(refused.status, 422, "{}: {body}: {}", p.name, refused.body);
            assert_eq!(refused.error_fields(), [field], "{}: {}", p.name, refused.body);
        }
        let jobs = p.get(0, &format!("/v1/stores/{store}/jobs"), Some(&owner)).await;
        // The orders' confirmation e-mails are jobs too; no export job was made.
        let exports: Vec<&Value> = jobs.body["items"]
            .as_array()
            .expect("a page of jobs")
            .iter()
            .filter(|j| j["kind"].as_str().is_some_and(|k| k.starts_with("export.")))
            .collect();
        assert!(
            exports.is_empty(),
            "{}: no export job was made: {exports:?}",
            p.name
        );

        let body = json!({"dataset": "orders", "format": "jsonl", "from": "2000-01-01"});
        let started = start(&p, &store, &owner, None, &body).await;
        assert_eq!(started.status, 202, "{}: {}", p.name, started.body);
        let location = started.headers["location"].to_str().unwrap().to_owned();
        let job = finished(&p, &location, &owner).await;
        let link = job["result"]["download_url"]
            .as_str()
            .expect("a download link")
            .to_owned();
        let (status, headers, bytes) = download(&p, &link).await;
        assert_eq!(status, 200, "{}", p.name);
        assert_eq!(headers["content-type"], "application/x-ndjson");
        let text = String::from_utf8(bytes).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        let orders = api_orders(&p, &store, &owner).await;
        assert_eq!(lines.len(), orders.len(), "{}: {text}", p.name);
        for o in &orders {
            let line = lines.iter().find(|l| l["id"] == o["id"]).expect("every order");
            assert_eq!(line["total"], amount(o["total_minor"].as_i64().unwrap()));
            assert_eq!(line["lines"][0]["quantity"], o["lines"][0]["quantity"]);
            assert_eq!(line["status"], o["status"]);
        }
        // Customers may not export.
        let staff_only = start(
            &p,
            &store,
            "not-a-token",
            None,
            &json!({"dataset": "orders", "format": "csv"}),
        )
        .await;
        assert_eq!(staff_only.status, 401, "{}", p.name);
    }
}

#[tokio::test]
async fn products_and_customers_exports_hold_their_rows() {
    for p in platforms().await {
        let (store, owner, tee) = store_with_stock(&p, 50).await;
        evil_product(&p, &store, &owner).await;
        let placed = order(&p, &store, &tee, 2, "ann@example.com", APPROVE).await;
        assert_eq!(placed.status, 201, "{}: {}", p.name, placed.body);

        let products = start(
            &p,
            &store,
            &owner,
            None,
            &json!({"dataset": "products", "format": "csv"}),
        )
        .await;
        assert_eq!(products.status, 202, "{}: {}", p.name, products.body);
        let location = products.headers["location"].to_str().unwrap().to_owned();
        let job = finished(&p, &location, &owner).await;
        let (status, _, bytes) = download(&p, job["result"]["download_url"].as_str().unwrap()).await;
        assert_eq!(status, 200, "{}", p.name);
        let rows = python_csv(&bytes);
        let skus: Vec<&str> = rows.iter().map(|r| r["variant_sku"].as_str().unwrap()).collect();
        assert_eq!(skus, ["TEE-1", "EVIL-1"], "{}: {rows:?}", p.name);
        assert_eq!(rows[0]["price"], "15.00");
        assert_eq!(rows[0]["on_hand"], "48", "{}: two sold of 50: {rows:?}", p.name);
        assert_eq!(rows[1]["product_title"], format!("'{EVIL_TITLE}"));

        // Customers: one signed up, with an address (default shipping and billing).
        let ann = json!({"email": "ann.lee@example.com", "password": "correct horse battery",
            "first_name": "@Ann", "last_name": "Lee", "marketing_consent": true});
        let created = p
            .post(0, &format!("/v1/stores/{store}/customers"), None, &ann)
            .await;
        assert_eq!(created.status, 201, "{}: {}", p.name, created.body);
        let (token, _) = p
            .sign_in(1, &store, "ann.lee@example.com", "correct horse battery")
            .await;
        let home = json!({"address": {"name": "Ann Lee", "line1": "Invalidenstraße 117, Hof",
            "city": "Berlin", "postal_code": "10115", "country": "de"}});
        let book = format!("/v1/stores/{store}/customers/me/addresses");
        assert_eq!(
            p.post(0, &book, Some(&token), &home).await.status,
            201,
            "{}",
            p.name
        );
        for format in ["csv", "jsonl"] {
            let body = json!({"dataset": "customers", "format": format});
            let customers = start(&p, &store, &owner, None, &body).await;
            assert_eq!(customers.status, 202, "{}: {}", p.name, customers.body);
            let location = customers.headers["location"].to_str().unwrap().to_owned();
            let job = finished(&p, &location, &owner).await;
            assert_eq!(
                (&job["kind"], &job["result"]["items"]),
                (&json!("export.customers"), &json!(1))
            );
            let (status, _, bytes) = download(&p, job["result"]["download_url"].as_str().unwrap()).await;
            assert_eq!(status, 200, "{}", p.name);
            if format == "csv" {
                let rows = python_csv(&bytes);
                assert_eq!(rows.len(), 1, "{}: {rows:?}", p.name);
                assert_eq!(rows[0]["email"], "ann.lee@example.com");
                assert_eq!(rows[0]["first_name"], "'@Ann", "neutralised");
                assert_eq!(rows[0]["shipping_line1"], "Invalidenstraße 117, Hof");
                assert_eq!(rows[0]["billing_country"], "DE");
            } else {
                let line: Value = serde_json::from_slice(bytes.trim_ascii_end()).unwrap();
                assert_eq!(line["first_name"], "@Ann", "JSON keeps the text as it is");
                assert_eq!(line["shipping_address"][3], "Berlin");
            }
        }
        let misplaced = json!({"dataset": "products", "format": "csv", "from": "2026-01-01"});
        let refused = start(&p, &store, &owner, None, &misplaced).await;
        assert_eq!(refused.error_fields(), ["from"], "{}: {}", p.name, refused.body);
    }
}
