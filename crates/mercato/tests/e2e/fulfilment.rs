//! After the sale, through the edge, in both topologies: a customer's checkout of two lines is
//! fulfilled in part with tracking, shipped and delivered; a return of one line received as
//! sellable refunds exactly that line's amount and restocks exactly its quantity, and receiving
//! it again changes nothing; the order is found by its number.

use crate::checkout::payment_method;
use crate::harness::{Platform, Reply, checkout_body, platforms};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A store selling A (1500) and B (2500), ten of each; returns (store, owner token).
async fn store_with_two_products(p: &Platform) -> (String, String) {
    let (store, _) = p.provision(0).await;
    let (owner, _) = p
        .sign_in(1, &store, "owner@example.com", "correct horse battery")
        .await;
    for (slug, sku, price) in [("alpha", "A-1", 1500), ("beta", "B-1", 2500)] {
        let product = json!({"slug": slug, "title": slug, "variants": [
            {"sku": sku, "price": {"amount_minor": price, "currency": "EUR"}}]});
        let created = p
            .post(0, &format!("/v1/stores/{store}/products"), Some(&owner), &product)
            .await;
        assert_eq!(created.status, 201, "{}: {}", p.name, created.body);
        let stock = p
            .send(
                0,
                p.http
                    .put(format!("{}/v1/stores/{store}/inventory/{sku}", p.gateway(0)))
                    .bearer_auth(&owner)
                    .json(&json!({"on_hand": 10})),
            )
            .await;
        assert_eq!(stock.status, 200, "{}: {}", p.name, stock.body);
    }
    (store, owner)
}

/// Units of `sku` on hand, over every location.
async fn on_hand(p: &Platform, store: &str, owner: &str, sku: &str) -> i64 {
    let levels = p
        .get(0, &format!("/v1/stores/{store}/inventory/{sku}"), Some(owner))
        .await;
    assert_eq!(levels.status, 200, "{}: {}", p.name, levels.body);
    levels.body["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["on_hand"].as_i64().unwrap())
        .sum()
}

/// A signed-in customer's cart of `lines`, once orders knows the SKUs; returns the cart id.
async fn customer_cart(p: &Platform, store: &str, token: &str, lines: &[(&str, i64)]) -> String {
    let cart = p
        .post(0, &format!("/v1/stores/{store}/carts"), Some(token), &json!({}))
        .await;
    assert_eq!(cart.status, 201, "{}: {}", p.name, cart.body);
    let id = cart.body["id"].as_str().unwrap().to_owned();
    for (sku, quantity) in lines {
        let started = Instant::now();
        loop {
            let path = format!("/v1/stores/{store}/carts/{id}/items");
            let body = json!({"sku": sku, "quantity": quantity});
            let add = p.post(1, &path, Some(token), &body).await;
            if add.status == 200 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{}: {}",
                p.name,
                add.body
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    id
}

fn line<'a>(order: &'a Value, sku: &str) -> &'a Value {
    order["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["sku"] == sku)
        .unwrap()
}

fn ok(p: &Platform, reply: Reply) -> Value {
    assert_eq!(reply.status, 200, "{}: {}", p.name, reply.body);
    reply.body
}

#[tokio::test]
async fn a_partial_fulfilment_is_tracked_to_delivery_and_a_returned_line_refunds_and_restocks_once() {
    for p in platforms().await {
        let (store, owner) = store_with_two_products(&p).await;
        let ann = json!({"email": "ann@example.com", "password": "ann's long password"});
        let registered = p
            .post(1, &format!("/v1/stores/{store}/customers"), None, &ann)
            .await;
        assert_eq!(registered.status, 201, "{}: {}", p.name, registered.body);
        let (token, _) = p
            .sign_in(0, &store, "ann@example.com", "ann's long password")
            .await;
        let cart = customer_cart(&p, &store, &token, &[("A-1", 2), ("B-1", 1)]).await;
        let method = payment_method(&p, 0, &store, "4242424242424242").await;
        let mut body = checkout_body(&cart, &method);
        body["payment"]["email"] = json!("Ann@Example.com");
        let placed = p
            .post_keyed(1, &format!("/v1/stores/{store}/checkout"), &token, "buy-1", &body)
            .await;
        assert_eq!(placed.status, 201, "{}: {}", p.name, placed.body);
        let order = placed.body;
        let id = order["id"].as_str().unwrap().to_owned();
        assert_eq!(
            (order["number"].as_i64(), order["email"].as_str()),
            (Some(1001), Some("ann@example.com"))
        );
        assert_eq!(order["fulfilment_status"], "unfulfilled");
        let orders = format!("/v1/stores/{store}/orders/{id}");

        // One unit of A leaves with tracking, is shipped, then delivered.
        let sent = p
            .post_keyed(
                0,
                &format!("{orders}/fulfilments"),
                &owner,
                "ship-1",
                &json!({"lines": [{"sku": "A-1", "quantity": 1}], "carrier": "DHL",
                        "tracking_number": "JD0146", "tracking_url": "https://track.example/JD0146"}),
            )
            .await;
        let sent = ok(&p, sent);
        assert_eq!(sent["fulfilment_status"], "partially_fulfilled", "{}", p.name);
        let fulfilment = sent["fulfilments"][0]["id"].as_str().unwrap().to_owned();
        let not_yours = p
            .post(
                1,
                &format!("{orders}/fulfilments/{fulfilment}/ship"),
                Some(&token),
                &json!({}),
            )
            .await;
        assert_eq!(not_yours.status, 403, "{}: {}", p.name, not_yours.body);
        let shipped = p
            .post(
                1,
                &format!("{orders}/fulfilments/{fulfilment}/ship"),
                Some(&owner),
                &json!({}),
            )
            .await;
        assert_eq!(ok(&p, shipped)["fulfilments"][0]["status"], "shipped");
        let delivered = p
            .post(
                0,
                &format!("{orders}/fulfilments/{fulfilment}/deliver"),
                Some(&owner),
                &json!({}),
            )
            .await;
        let delivered = ok(&p, delivered);
        assert_eq!(delivered["fulfilments"][0]["status"], "delivered");
        assert_eq!(
            delivered["status"], "confirmed",
            "{}: the payment state is apart",
            p.name
        );
        // The customer sees the tracking on their order.
        let seen = ok(&p, p.get(1, &orders, Some(&token)).await);
        assert_eq!(
            seen["fulfilments"][0]["tracking_url"],
            "https://track.example/JD0146"
        );
        assert_eq!(seen["fulfilments"][0]["carrier"], "DHL");
        // The rest is sent; everything is fulfilled.
        let rest = p
            .post_keyed(0, &format!("{orders}/fulfilments"), &owner, "ship-2", &json!({}))
            .await;
        assert_eq!(ok(&p, rest)["fulfilment_status"], "fulfilled", "{}", p.name);

        // The customer returns B; it comes back sellable.
        let paid_for_b = line(&seen, "B-1")["charges"]["total_minor"]
            .as_i64()
            .unwrap_or(2500);
        let requested = p
            .post_keyed(
                1,
                &format!("{orders}/returns"),
                &token,
                "return-1",
                &json!({"lines": [{"sku": "B-1", "quantity": 1}], "reason": "wrong colour"}),
            )
            .await;
        let requested = ok(&p, requested);
        let return_id = requested["returns"][0]["id"].as_str().unwrap().to_owned();
        assert_eq!(requested["returns"][0]["status"], "requested");
        let approved = p
            .post(
                0,
                &format!("{orders}/returns/{return_id}/approve"),
                Some(&owner),
                &json!({}),
            )
            .await;
        assert_eq!(ok(&p, approved)["returns"][0]["status"], "approved");
        let (b_before, a_before) = (
            on_hand(&p, &store, &owner, "B-1").await,
            on_hand(&p, &store, &owner, "A-1").await,
        );
        let receipt = json!({"lines": [{"sku": "B-1", "quantity": 1, "sellable": true}]});
        let receive = format!("{orders}/returns/{return_id}/receive");
        let received = ok(&p, p.post_keyed(1, &receive, &owner, "receive-1", &receipt).await);
        assert_eq!(
            received["returns"][0]["status"], "completed",
            "{}: {received}",
            p.name
        );
        assert_eq!(
            received["refunded_minor"], paid_for_b,
            "{}: exactly B's amount",
            p.name
        );
        assert_eq!(received["status"], "partially_refunded");
        assert_eq!(line(&received, "B-1")["returned_quantity"], 1);
        assert_eq!(
            on_hand(&p, &store, &owner, "B-1").await,
            b_before + 1,
            "{}",
            p.name
        );
        assert_eq!(on_hand(&p, &store, &owner, "A-1").await, a_before, "{}", p.name);

        // Receiving it again (same key, or another) changes nothing.
        for key in ["receive-1", "receive-2"] {
            let again = ok(&p, p.post_keyed(0, &receive, &owner, key, &receipt).await);
            assert_eq!(again["version"], received["version"], "{}", p.name);
            assert_eq!(again["refunded_minor"], paid_for_b);
        }
        assert_eq!(
            on_hand(&p, &store, &owner, "B-1").await,
            b_before + 1,
            "{}",
            p.name
        );

        let history = ok(&p, p.get(0, &format!("{orders}/events"), Some(&owner)).await);
        let kinds: Vec<&str> = history["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        for kind in [
            "fulfilment_created",
            "fulfilment_shipped",
            "fulfilment_delivered",
            "return_requested",
            "return_approved",
            "return_received",
            "return_completed",
        ] {
            assert!(kinds.contains(&kind), "{}: {kind} in {kinds:?}", p.name);
        }

        // Staff find the order by its number or e-mail; its customer lists it too.
        for query in [
            "q=%231001",
            "q=ann%40example",
            "fulfilment_status=fulfilled&status=partially_refunded",
        ] {
            let found = ok(
                &p,
                p.get(1, &format!("/v1/stores/{store}/orders?{query}"), Some(&owner))
                    .await,
            );
            assert_eq!(found["total"], 1, "{}: {query}: {found}", p.name);
            assert_eq!(found["items"][0]["id"], id.as_str());
        }
        let none = ok(
            &p,
            p.get(1, &format!("/v1/stores/{store}/orders?q=%231002"), Some(&owner))
                .await,
        );
        assert_eq!(none["total"], 0, "{}", p.name);
        let mine = ok(
            &p,
            p.get(0, &format!("/v1/stores/{store}/orders?per_page=1"), Some(&token))
                .await,
        );
        assert_eq!(mine["total"], 1, "{}: {mine}", p.name);
        assert!(mine["next_cursor"].is_null(), "{}: one page", p.name);
        let bad = p
            .get(
                0,
                &format!("/v1/stores/{store}/orders?fulfilment_status=lost"),
                Some(&owner),
            )
            .await;
        assert_eq!(bad.status, 422, "{}: {}", p.name, bad.body);
    }
}
