//! Shipping, tax and a promotion code through the edge, in both topologies: staff set a zone, a
//! method, a tax rate and a code; a shopper's cart with an address is offered the method with
//! its price, and its total is right to the cent; checkout charges exactly that total, the
//! order shows the breakdown, and a refund returns it all. A cart of goods that ship without an
//! address, or to a country outside every zone, is a clear 422.

use crate::checkout::{cart_with, payment_method, store_with_stock};
use crate::harness::{Platform, platforms, shipping_address};
use serde_json::{Value, json};

const APPROVE: &str = "4242424242424242";

/// Sends `body` to `path` with `method` as the store's owner; asserts the status.
async fn as_owner(
    p: &Platform,
    method: reqwest::Method,
    path: &str,
    owner: &str,
    body: &Value,
    status: u16,
) -> Value {
    let request = p
        .http
        .request(method, format!("{}{path}", p.gateway(0)))
        .bearer_auth(owner)
        .json(body);
    let reply = p.send(0, request).await;
    assert_eq!(reply.status, status, "{}: {path}: {}", p.name, reply.body);
    reply.body
}

/// Sends `body` to a cart path with its token.
async fn on_cart(
    p: &Platform,
    method: reqwest::Method,
    path: &str,
    cart: &(String, String),
    body: Option<&Value>,
) -> crate::harness::Reply {
    let mut request = p
        .http
        .request(method, format!("{}{path}", p.gateway(1)))
        .header("x-cart-token", &cart.1);
    if let Some(body) = body {
        request = request.json(body);
    }
    p.send(1, request).await
}

async fn checkout(
    p: &Platform,
    store: &str,
    cart: &(String, String),
    key: &str,
    body: &Value,
) -> crate::harness::Reply {
    let request = p
        .http
        .post(format!("{}/v1/stores/{store}/checkout", p.gateway(0)))
        .header("x-cart-token", &cart.1)
        .header("idempotency-key", key)
        .json(body);
    p.send(0, request).await
}

#[tokio::test]
async fn an_address_a_shipping_method_tax_and_a_code_give_the_total_to_the_cent_and_checkout_charges_it() {
    for p in platforms().await {
        let (store, owner, sku) = store_with_stock(&p, 20).await;
        let zone = as_owner(
            &p,
            reqwest::Method::POST,
            &format!("/v1/stores/{store}/shipping-zones"),
            &owner,
            &json!({"name": "Germany", "countries": ["DE"]}),
            201,
        )
        .await;
        let zone_id = zone["id"].as_str().unwrap();
        let method = as_owner(
            &p,
            reqwest::Method::POST,
            &format!("/v1/stores/{store}/shipping-methods"),
            &owner,
            &json!({"zone_id": zone_id, "name": "DHL Paket", "flat_price_minor": 490}),
            201,
        )
        .await;
        let method_id = method["id"].as_str().unwrap();
        as_owner(
            &p,
            reqwest::Method::PUT,
            &format!("/v1/stores/{store}/tax-rates"),
            &owner,
            &json!({"zone_id": zone_id, "category": "standard", "rate_bps": 1900}),
            200,
        )
        .await;
        as_owner(&p, reqwest::Method::POST, &format!("/v1/stores/{store}/promotions"), &owner,
            &json!({"code": "WELCOME10", "name": "Welcome", "kind": "percent", "percent_bps": 1000, "target": "order"}), 201).await;
        let pay = payment_method(&p, 0, &store, APPROVE).await;

        // Goods that ship, no address anywhere: 422 with its code.
        let cart = cart_with(&p, 1, &store, &sku, 3).await;
        let bare = json!({"cart_id": cart.0, "payment": {"payment_method": pay}});
        let refused = checkout(&p, &store, &cart, "no-address", &bare).await;
        assert_eq!(refused.status, 422, "{}: {}", p.name, refused.body);
        assert_eq!(refused.body["code"], "shipping_address_required", "{}", p.name);

        // The address, the methods offered, the method chosen, the code.
        let base = format!("/v1/stores/{store}/carts/{}", cart.0);
        let addressed = on_cart(
            &p,
            reqwest::Method::PUT,
            &format!("{base}/addresses"),
            &cart,
            Some(&json!({"shipping_address": shipping_address()})),
        )
        .await;
        assert_eq!(addressed.status, 200, "{}: {}", p.name, addressed.body);
        let offered = on_cart(
            &p,
            reqwest::Method::GET,
            &format!("{base}/shipping-methods"),
            &cart,
            None,
        )
        .await;
        assert_eq!(offered.status, 200, "{}: {}", p.name, offered.body);
        assert_eq!(
            offered.body["options"],
            json!([{"method_id": method_id, "name": "DHL Paket", "price_minor": 490}]),
            "{}",
            p.name
        );
        let chosen = on_cart(
            &p,
            reqwest::Method::PUT,
            &format!("{base}/shipping-method"),
            &cart,
            Some(&json!({"method_id": method_id})),
        )
        .await;
        assert_eq!(chosen.status, 200, "{}: {}", p.name, chosen.body);
        let unknown = on_cart(
            &p,
            reqwest::Method::POST,
            &format!("{base}/promotion-code"),
            &cart,
            Some(&json!({"code": "NOPE"})),
        )
        .await;
        assert_eq!(
            (unknown.status, unknown.body["code"].as_str()),
            (422, Some("promotion_unknown")),
            "{}",
            p.name
        );
        let coded = on_cart(
            &p,
            reqwest::Method::POST,
            &format!("{base}/promotion-code"),
            &cart,
            Some(&json!({"code": "welcome10"})),
        )
        .await;
        assert_eq!(coded.status, 200, "{}: {}", p.name, coded.body);
        // 3 × 15.00 = 45.00; 10 % off: 4.50; net 40.50 + 19 % = 7.695 → 7.70;
        // shipping 4.90 + 19 % = 0.931 → 0.93; total 40.50 + 7.70 + 4.90 + 0.93 = 54.03.
        let charges = &coded.body["charges"];
        assert_eq!(
            (
                &charges["subtotal_minor"],
                &charges["discount_minor"],
                &charges["shipping_minor"],
                &charges["tax_minor"],
                &charges["total_minor"]
            ),
            (&json!(4500), &json!(450), &json!(490), &json!(863), &json!(5403)),
            "{}: {charges}",
            p.name
        );
        assert_eq!(coded.body["total_minor"], 5403, "{}", p.name);

        // Checkout charges exactly that, and the order shows how.
        let placed = checkout(&p, &store, &cart, "with-all", &bare).await;
        assert_eq!(placed.status, 201, "{}: {}", p.name, placed.body);
        assert_eq!(placed.body["total_minor"], 5403, "{}", p.name);
        let id = placed.body["id"].as_str().unwrap();
        let order = p
            .get(1, &format!("/v1/stores/{store}/orders/{id}"), Some(&owner))
            .await;
        assert_eq!(order.status, 200, "{}: {}", p.name, order.body);
        let charges = &order.body["charges"];
        assert_eq!(charges["shipping_method_name"], "DHL Paket", "{}", p.name);
        assert_eq!(charges["shipping_tax_minor"], 93, "{}", p.name);
        assert_eq!(charges["promotions"][0]["code"], "WELCOME10", "{}", p.name);
        assert_eq!(
            order.body["lines"][0]["charges"],
            json!({"subtotal_minor": 4500, "discount_minor": 450, "tax_minor": 770, "total_minor": 4820}),
            "{}",
            p.name
        );
        assert_eq!(order.body["shipping_address"]["country"], "DE", "{}", p.name);
        // What was captured is the total: a whole refund returns exactly it.
        let refund = p
            .post_keyed(
                0,
                &format!("/v1/stores/{store}/orders/{id}/refunds"),
                &owner,
                "refund-all",
                &json!({}),
            )
            .await;
        assert!(matches!(refund.status, 200 | 202), "{}: {}", p.name, refund.body);
        let started = std::time::Instant::now();
        loop {
            let now = p
                .get(0, &format!("/v1/stores/{store}/orders/{id}"), Some(&owner))
                .await;
            if now.body["status"] == "refunded" {
                assert_eq!(now.body["refunded_minor"], 5403, "{}", p.name);
                break;
            }
            assert!(started.elapsed().as_secs() < 20, "{}: {}", p.name, now.body);
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }

        // An address no zone covers: no method, a clear 422.
        let elsewhere = cart_with(&p, 1, &store, &sku, 1).await;
        let mut france = shipping_address();
        france["country"] = json!("FR");
        france["postal_code"] = json!("75001");
        let body =
            json!({"cart_id": elsewhere.0, "payment": {"payment_method": pay}, "shipping_address": france});
        let outside = checkout(&p, &store, &elsewhere, "outside", &body).await;
        assert_eq!(
            (outside.status, outside.body["code"].as_str()),
            (422, Some("shipping_unavailable")),
            "{}: {}",
            p.name,
            outside.body
        );
    }
}
