//! No card number on disk, ever: every database file of the embedded process (`*.db`, `*-wal`,
//! `*-shm`, of every service) is read as bytes after approved and declined checkouts, after a
//! `kill -9` in the middle of one, and after the restart that finishes it, and no test card
//! number is found in them — while the payment method id that stands for the card is.

use crate::harness::alone_turn;
use crate::process::{JsonValue, PASSWORD, client, free_port, owner_token, ready, serve};
use mercato_payments::provider::test::{
    CARD_APPROVE, CARD_DECLINE, CARD_INSUFFICIENT_FUNDS, CARD_SLOW, approving_card,
};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One embedded process over a data directory, and a store of it with stock.
#[derive(Clone)]
struct Shop {
    http: reqwest::Client,
    url: String,
    store: String,
    owner: String,
}

impl Shop {
    async fn post(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> (u16, Value) {
        let mut request = self.http.post(format!("{}{path}", self.url)).json(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("the request is answered");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn sign_in(&mut self) {
        self.owner = owner_token(&self.http, &self.url, &self.store).await;
    }

    /// A new store with a product of plenty of stock, once orders knows its SKU.
    async fn open(http: reqwest::Client, url: String) -> Shop {
        let store = format!("disk-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
        let mut shop = Shop {
            http,
            url,
            store,
            owner: String::new(),
        };
        let owner = json!({"email": "owner@example.com", "password": PASSWORD});
        let body = json!({"slug": shop.store, "name": "Disk", "currency": "EUR", "owner": owner});
        assert_eq!(shop.post("/v1/stores", &[], &body).await.0, 201);
        shop.sign_in().await;
        let product = json!({"slug": "tee", "title": "Tee", "variants": [
            {"sku": "TEE-1", "price": {"amount_minor": 1500, "currency": "EUR"}}]});
        let auth = format!("Bearer {}", shop.owner);
        let path = format!("/v1/stores/{}/products", shop.store);
        assert_eq!(
            shop.post(&path, &[("authorization", &auth)], &product).await.0,
            201
        );
        let stocked = shop
            .http
            .put(format!("{}/v1/stores/{}/inventory/TEE-1", shop.url, shop.store))
            .bearer_auth(&shop.owner)
            .json(&json!({"on_hand": 1000}))
            .send()
            .await
            .unwrap();
        assert_eq!(stocked.status(), 200);
        shop
    }

    /// A new cart holding one tee (waiting until orders has learnt the SKU); (id, token).
    async fn cart(&self) -> (String, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (_, cart) = self
                .post(&format!("/v1/stores/{}/carts", self.store), &[], &json!({}))
                .await;
            let (id, token) = (cart["id"].as_str().unwrap(), cart["cart_token"].as_str().unwrap());
            let path = format!("/v1/stores/{}/carts/{id}/items", self.store);
            let line = json!({"sku": "TEE-1", "quantity": 1});
            if self.post(&path, &[("x-cart-token", token)], &line).await.0 == 200 {
                return (id.to_owned(), token.to_owned());
            }
            assert!(Instant::now() < deadline, "orders never learnt the SKU");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Tokenizes `card` as a storefront does; the payment method's id.
    async fn payment_method(&self, card: &str) -> String {
        let path = format!("/v1/stores/{}/payment-methods", self.store);
        let body = json!({"card_number": card, "exp": "12/39", "cvc": "123", "billing_country": "DE"});
        let (status, method) = self.post(&path, &[], &body).await;
        assert_eq!(status, 201, "{method}");
        method["id"].as_str().unwrap().to_owned()
    }

    /// Checks a new cart out, paying with the payment method `method`; the answer's status.
    async fn checkout(&self, key: &str, method: &str) -> u16 {
        let (cart, token) = self.cart().await;
        let path = format!("/v1/stores/{}/checkout", self.store);
        let body = {
            let mut body = crate::harness::checkout_body(&cart, method);
            body["payment"]["email"] = "ann@example.com".into();
            body
        };
        let headers = [("x-cart-token", token.as_str()), ("idempotency-key", key)];
        self.post(&path, &headers, &body).await.0
    }

    /// The statuses of the store's orders.
    async fn order_statuses(&self) -> Vec<String> {
        let body: Value = self
            .http
            .get(format!(
                "{}/v1/stores/{}/orders?per_page=100",
                self.url, self.store
            ))
            .bearer_auth(&self.owner)
            .json_value()
            .await;
        let orders = body["items"].as_array().cloned().unwrap_or_default();
        orders
            .iter()
            .map(|o| o["status"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// Every SQLite file under `data`: databases and their write-ahead logs and shared memory.
fn database_files(data: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![data.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                dirs.push(path);
            } else if name.ends_with(".db") || name.ends_with(".db-wal") || name.ends_with(".db-shm") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Which of `needles` (ASCII) appear in which database file under `data`.
fn found_on_disk(data: &Path, needles: &[String]) -> Vec<(PathBuf, String)> {
    let files = database_files(data);
    assert!(
        files
            .iter()
            .any(|f| f.to_string_lossy().ends_with("orders.db-wal")),
        "the scan must see the write-ahead logs: {files:?}"
    );
    let mut found = Vec::new();
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        for needle in needles {
            if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                found.push((file.clone(), needle.clone()));
            }
        }
    }
    found
}

/// Polls until the store has a pending order (a saga under way).
async fn until_an_order_is_pending(shop: &Shop) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !shop.order_statuses().await.iter().any(|s| s == "pending") {
        assert!(
            Instant::now() < deadline,
            "the slow checkout never became pending"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls until every order of the store has ended; their statuses.
async fn until_every_order_ended(shop: &Shop) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let statuses = shop.order_statuses().await;
        if statuses.iter().all(|s| s != "pending") {
            return statuses;
        }
        assert!(Instant::now() < deadline, "sagas did not finish: {statuses:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn no_database_file_holds_a_card_number_after_checkouts_and_a_kill_9_mid_checkout() {
    let _turn = alone_turn().await;
    let data = crate::process::data_dir("card-storage");
    let http = client();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut server = serve(&data, port);
    ready(&http, &url).await;
    let mut shop = Shop::open(http.clone(), url).await;

    let mut cards: Vec<String> = [CARD_APPROVE, CARD_DECLINE, CARD_INSUFFICIENT_FUNDS, CARD_SLOW]
        .map(str::to_owned)
        .to_vec();
    cards.extend((0..8).map(approving_card));
    for (i, card) in cards.iter().filter(|c| c.as_str() != CARD_SLOW).enumerate() {
        let method = shop.payment_method(card).await;
        let status = shop.checkout(&format!("disk-{i}"), &method).await;
        assert!(matches!(status, 201 | 402), "{card}: {status}");
    }
    let statuses = shop.order_statuses().await;
    assert!(statuses.iter().any(|s| s == "confirmed") && statuses.iter().any(|s| s == "failed"));
    let found = found_on_disk(&data, &cards);
    assert!(
        found.is_empty(),
        "card numbers on disk after checkouts: {found:?}"
    );

    // The slow card keeps the saga at the provider for 3 s: kill -9 while it waits there.
    let slow = shop.payment_method(CARD_SLOW).await;
    let checkout = {
        let (shop, slow) = (shop.clone(), slow.clone());
        tokio::spawn(async move { shop.checkout("disk-slow", &slow).await })
    };
    until_an_order_is_pending(&shop).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.kill().unwrap();
    server.wait().unwrap();
    let _ = checkout.await;
    let found = found_on_disk(&data, &cards);
    assert!(found.is_empty(), "card numbers on disk after kill -9: {found:?}");
    let control = found_on_disk(&data, std::slice::from_ref(&slow));
    assert!(
        !control.is_empty(),
        "the scan finds what the saga keeps (its payment method id) in the files"
    );

    // The restart resumes the saga from the payment method id alone, and it ends confirmed.
    let port = free_port();
    shop.url = format!("http://127.0.0.1:{port}");
    let mut server = serve(&data, port);
    ready(&http, &shop.url).await;
    shop.sign_in().await;
    let statuses = until_every_order_ended(&shop).await;
    let confirmed = statuses.iter().filter(|s| *s == "confirmed").count();
    assert_eq!(
        confirmed,
        1 + 8 + 1,
        "every approving card and the slow one: {statuses:?}"
    );
    server.kill().unwrap();
    server.wait().unwrap();
    let found = found_on_disk(&data, &cards);
    assert!(
        found.is_empty(),
        "card numbers on disk after the restart: {found:?}"
    );
    let _ = std::fs::remove_dir_all(&data);
}
