//! `kill -9` of the embedded process while shoppers write (group commits in flight), then a
//! restart on the same data and an audit: every acknowledged write is there, and no write is
//! half there — stock, orders and reservations agree once the resumed sagas have finished — and
//! analytics, killed mid-stream with the rest, counted every order once (its verify against the
//! orders history finds no difference).

use crate::harness::alone_turn;
use crate::process::{JsonValue, client, free_port, owner_token, ready, serve, store_with_owner};
use mercato_payments::provider::test::approving_card as card;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const UNITS: i64 = 100_000;
const SHOPPERS: usize = 24;

/// What the shoppers were told: carts created (id → token), lines acknowledged per cart, and
/// checkouts answered 201 (order id → cart id).
#[derive(Default)]
struct Acknowledged {
    carts: HashMap<String, String>,
    lines: HashMap<String, i64>,
    orders: HashMap<String, String>,
}

/// One shopper: cart, line, a new card tokenized, checkout, in a loop, until its requests start
/// failing.
async fn shop(
    http: reqwest::Client,
    url: String,
    store: String,
    shopper: usize,
    acked: Arc<Mutex<Acknowledged>>,
) {
    for round in 0.. {
        let Ok(r) = http.post(format!("{url}/v1/stores/{store}/carts")).send().await else {
            return;
        };
        let Ok(cart) = r.json::<Value>().await else { return };
        let (Some(id), Some(token)) = (cart["id"].as_str(), cart["cart_token"].as_str()) else {
            return;
        };
        acked
            .lock()
            .unwrap()
            .carts
            .insert(id.to_owned(), token.to_owned());
        let add = http
            .post(format!("{url}/v1/stores/{store}/carts/{id}/items"))
            .header("x-cart-token", token)
            .json(&json!({"sku": "TEE-1", "quantity": 1}))
            .send()
            .await;
        match add {
            Ok(r) if r.status().is_success() => {
                *acked.lock().unwrap().lines.entry(id.to_owned()).or_default() += 1
            }
            _ => return,
        }
        let card = card((shopper * 100_000 + round) as u64);
        let Ok(r) = http
            .post(format!("{url}/v1/stores/{store}/payment-methods"))
            .json(&json!({"card_number": card}))
            .send()
            .await
        else {
            return;
        };
        let Ok(method) = r.json::<Value>().await else {
            return;
        };
        let Some(method) = method["id"].as_str() else {
            return;
        };
        let checkout = http
            .post(format!("{url}/v1/stores/{store}/checkout"))
            .header("x-cart-token", token)
            .header("idempotency-key", format!("kill9-{shopper}-{round}"))
            .json(&crate::harness::checkout_body(id, method))
            .send()
            .await;
        let Ok(r) = checkout else { return };
        if r.status().as_u16() == 201 {
            let Ok(order) = r.json::<Value>().await else {
                return;
            };
            let order_id = order["id"].as_str().unwrap_or_default().to_owned();
            acked.lock().unwrap().orders.insert(order_id, id.to_owned());
        }
    }
}

async fn all_orders(http: &reqwest::Client, url: &str, store: &str, owner: &str) -> Vec<Value> {
    let mut orders = Vec::new();
    for page in 1.. {
        let body: Value = http
            .get(format!("{url}/v1/stores/{store}/orders?page={page}&per_page=100"))
            .bearer_auth(owner)
            .json_value()
            .await;
        let items = body["items"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            break;
        }
        orders.extend(items);
    }
    orders
}

#[tokio::test]
async fn after_kill_9_mid_write_every_acknowledged_write_is_there_and_none_is_half_there() {
    let _turn = alone_turn().await;
    let data = crate::process::data_dir("kill9");
    let http = client();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut server = serve(&data, port);
    ready(&http, &url).await;

    let (store, owner) = store_with_owner(&http, &url, "kill").await;
    let product = json!({"slug": "tee", "title": "Tee", "variants": [{"sku": "TEE-1", "price": {"amount_minor": 1500, "currency": "EUR"}}]});
    let created = http
        .post(format!("{url}/v1/stores/{store}/products"))
        .bearer_auth(&owner)
        .json(&product)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let stocked = http
        .put(format!("{url}/v1/stores/{store}/inventory/TEE-1"))
        .bearer_auth(&owner)
        .json(&json!({"on_hand": UNITS}))
        .send()
        .await
        .unwrap();
    assert_eq!(stocked.status(), 200);
    // Orders learns the SKU from catalog's events; wait until a cart takes it.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let cart: Value = http
            .post(format!("{url}/v1/stores/{store}/carts"))
            .json_value()
            .await;
        let add = http
            .post(format!(
                "{url}/v1/stores/{store}/carts/{}/items",
                cart["id"].as_str().unwrap()
            ))
            .header("x-cart-token", cart["cart_token"].as_str().unwrap())
            .json(&json!({"sku": "TEE-1", "quantity": 1}))
            .send()
            .await
            .unwrap();
        if add.status().is_success() {
            break;
        }
        assert!(Instant::now() < deadline, "orders never learnt the SKU");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    let shoppers: Vec<_> = (0..SHOPPERS)
        .map(|n| tokio::spawn(shop(http.clone(), url.clone(), store.clone(), n, acked.clone())))
        .collect();
    // Let the writes pile up, then kill the process without warning.
    let started = Instant::now();
    while acked.lock().unwrap().orders.len() < 150 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    for s in shoppers {
        let _ = s.await;
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert!(
        acked.orders.len() >= 50,
        "too few checkouts before the kill: {}",
        acked.orders.len()
    );

    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut server = serve(&data, port);
    ready(&http, &url).await;
    let owner = owner_token(&http, &url, &store).await;

    // Every acknowledged cart is there, with at least its acknowledged lines (one more only if
    // an unacknowledged add committed just before the kill).
    for (id, token) in &acked.carts {
        let cart: Value = http
            .get(format!("{url}/v1/stores/{store}/carts/{id}"))
            .header("x-cart-token", token)
            .json_value()
            .await;
        assert_eq!(cart["id"], id.as_str(), "acknowledged cart {id} lost: {cart}");
        let quantity: i64 = cart["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["quantity"].as_i64().unwrap())
            .sum();
        let told = acked.lines.get(id).copied().unwrap_or(0);
        assert!(
            quantity == told || quantity == told + 1,
            "cart {id}: {quantity} units, {told} acknowledged"
        );
    }

    // Sagas interrupted by the kill resume (after their lease); wait until every order ended.
    let deadline = Instant::now() + Duration::from_secs(90);
    let orders = loop {
        let orders = all_orders(&http, &url, &store, &owner).await;
        if orders.iter().all(|o| o["status"] != "pending") {
            break orders;
        }
        assert!(
            Instant::now() < deadline,
            "sagas did not finish after the restart"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let status: HashMap<&str, &str> = orders
        .iter()
        .map(|o| (o["id"].as_str().unwrap(), o["status"].as_str().unwrap()))
        .collect();
    for id in acked.orders.keys() {
        assert_eq!(
            status.get(id.as_str()),
            Some(&"confirmed"),
            "acknowledged order {id}"
        );
    }

    // Nothing half there: the units gone from stock are exactly the confirmed orders' units,
    // and no reservation is left holding any.
    let confirmed = status.values().filter(|s| **s == "confirmed").count() as i64;
    eprintln!(
        "kill -9 after {} acknowledged checkouts and {} carts; after the restart {} orders, {confirmed} confirmed",
        acked.orders.len(),
        acked.carts.len(),
        orders.len()
    );
    let stock: Value = http
        .get(format!("{url}/v1/stores/{store}/inventory/TEE-1"))
        .bearer_auth(&owner)
        .json_value()
        .await;
    let level = &stock["locations"][0];
    assert_eq!(level["reserved"], 0, "{stock}");
    assert_eq!(level["on_hand"].as_i64().unwrap(), UNITS - confirmed, "{stock}");
    analytics_counted_every_order_once(&http, &url, &store, &owner, confirmed).await;
    server.kill().unwrap();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&data);
}

/// Analytics' figures settle on the confirmed orders, and its verify (recomputing from the
/// orders history) reports no difference: events redelivered after the restart were counted
/// once, none was lost.
async fn analytics_counted_every_order_once(
    http: &reqwest::Client,
    url: &str,
    store: &str,
    owner: &str,
    confirmed: i64,
) {
    let base = format!("{url}/v1/stores/{store}/analytics");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let summary: Value = http
            .get(format!("{base}/summary"))
            .bearer_auth(owner)
            .json_value()
            .await;
        let verify: Value = http
            .get(format!("{base}/verify"))
            .bearer_auth(owner)
            .json_value()
            .await;
        let orders = summary["figures"]["orders"].as_i64().unwrap_or(-1);
        if orders == confirmed && verify["differences"] == json!([]) {
            eprintln!(
                "analytics after kill -9: {orders} orders, verify: {} figures, no difference",
                verify["figures_checked"]
            );
            return;
        }
        assert!(
            Instant::now() < deadline,
            "analytics did not settle after kill -9: {orders} orders counted, {confirmed} confirmed; verify: {verify}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
