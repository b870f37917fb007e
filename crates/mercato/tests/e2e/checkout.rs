//! Checkout through the edge, in both topologies: cards tokenized first, the happy path,
//! idempotency, a flash sale where many buyers race for little stock, and payment methods that
//! only their store accepts.

use crate::harness::{Platform, platforms, platforms_alone};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

pub(crate) const APPROVE: &str = "4242424242424242";
const DECLINE: &str = "4000000000000002";

/// A distinct, valid (Luhn) test card per buyer: fraud screening rightly blocks one card used
/// by hundreds of buyers in a minute, so a crowd needs a card each.
fn card_for(buyer: usize) -> String {
    let body = format!("424242{buyer:09}");
    let digits: Vec<u32> = body.chars().map(|c| c.to_digit(10).unwrap()).collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                *d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// A store with one product of `units` in stock; returns (store slug, owner token, SKU).
pub(crate) async fn store_with_stock(p: &Platform, units: i64) -> (String, String, String) {
    let (store, _) = p.provision(0).await;
    let (owner, _) = p
        .sign_in(1, &store, "owner@example.com", "correct horse battery")
        .await;
    let sku = "TEE-1".to_owned();
    let product = json!({"slug": "tee", "title": "Tee", "variants": [
        {"sku": sku, "price": {"amount_minor": 1500, "currency": "EUR"}}]});
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
                .json(&json!({"on_hand": units})),
        )
        .await;
    assert_eq!(stock.status, 200, "{}: {}", p.name, stock.body);
    (store, owner, sku)
}

/// An anonymous cart holding `quantity` of `sku`, once orders has learnt the SKU from catalog's
/// events; returns (cart id, cart token).
pub(crate) async fn cart_with(
    p: &Platform,
    n: usize,
    store: &str,
    sku: &str,
    quantity: i64,
) -> (String, String) {
    let cart = p
        .post(n, &format!("/v1/stores/{store}/carts"), None, &json!({}))
        .await;
    assert_eq!(cart.status, 201, "{}: {}", p.name, cart.body);
    let (id, token) = (
        cart.body["id"].as_str().unwrap().to_owned(),
        cart.body["cart_token"].as_str().unwrap().to_owned(),
    );
    let started = Instant::now();
    loop {
        let add = p
            .send(
                n,
                p.http
                    .post(format!("{}/v1/stores/{store}/carts/{id}/items", p.gateway(n)))
                    .header("x-cart-token", &token)
                    .json(&json!({"sku": sku, "quantity": quantity})),
            )
            .await;
        if add.status == 200 {
            return (id, token);
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{}: cart never accepted {sku}: {}",
            p.name,
            add.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Tokenizes `card` in `store` as a storefront does before checkout (anonymously); returns the
/// payment method's id.
pub(crate) async fn payment_method(p: &Platform, n: usize, store: &str, card: &str) -> String {
    let body = json!({"card_number": card, "exp": "12/39", "cvc": "123"});
    let created = p
        .post(n, &format!("/v1/stores/{store}/payment-methods"), None, &body)
        .await;
    assert_eq!(created.status, 201, "{}: {}", p.name, created.body);
    created.body["id"].as_str().unwrap().to_owned()
}

/// Checks `cart` out, paying with the payment method `method`.
async fn checkout(
    p: &Platform,
    n: usize,
    store: &str,
    cart: &(String, String),
    key: &str,
    method: &str,
) -> crate::harness::Reply {
    let body = crate::harness::checkout_body(&cart.0, method);
    let request = p
        .http
        .post(format!("{}/v1/stores/{store}/checkout", p.gateway(n)))
        .header("x-cart-token", &cart.1)
        .header("idempotency-key", key)
        .json(&body);
    p.send(n, request).await
}

/// Checks out, and while the answer is "still running" or "retry" (202, as the API documents when a saga
/// step must wait, e.g. on a dependency past its deadline under a flash sale's lock queue)
/// repeats the same request with the same key until the checkout ends, as a client would.
async fn checkout_to_the_end(
    p: &Platform,
    n: usize,
    store: &str,
    cart: &(String, String),
    key: &str,
    method: &str,
) -> crate::harness::Reply {
    let started = std::time::Instant::now();
    loop {
        let reply = checkout(p, n, store, cart, key, method).await;
        // 503 carries Retry-After and 504 means the answer did not come in time: either way the
        // same key may be sent again, and it never places a second order.
        let running = matches!(reply.status, 202 | 503 | 504)
            || (reply.status == 409 && reply.body["code"] == "checkout_in_progress");
        if !running || started.elapsed() > std::time::Duration::from_secs(180) {
            return reply;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

async fn stock(p: &Platform, store: &str, owner: &str, sku: &str) -> Value {
    p.get(0, &format!("/v1/stores/{store}/inventory/{sku}"), Some(owner))
        .await
        .body
}

#[tokio::test]
async fn a_shopper_checks_out_and_a_retry_with_the_same_key_replays_the_order() {
    for p in platforms().await {
        let (store, owner, sku) = store_with_stock(&p, 10).await;
        let cart = cart_with(&p, 1, &store, &sku, 3).await;
        let approve = payment_method(&p, 0, &store, APPROVE).await;
        let decline = payment_method(&p, 1, &store, DECLINE).await;
        let first = checkout(&p, 0, &store, &cart, "key-1", &approve).await;
        assert_eq!(first.status, 201, "{}: {}", p.name, first.body);
        assert_eq!(first.body["status"], "confirmed");
        assert_eq!(first.body["total_minor"], 4500);

        let again = checkout(&p, 1, &store, &cart, "key-1", &approve).await;
        assert_eq!(again.status, 201, "{}", p.name);
        assert_eq!(again.headers["idempotent-replayed"], "true");
        assert_eq!(again.body["id"], first.body["id"], "{}: the same order", p.name);
        let other_body = checkout(&p, 0, &store, &cart, "key-1", &decline).await;
        assert_eq!(other_body.status, 422, "{}: {}", p.name, other_body.body);
        // The same JSON with other whitespace and key order is the same request: a replay.
        let reordered = format!(
            "{{\n  \"shipping_address\" : {},\n  \"payment\" : {{ \"payment_method\" : \"{approve}\" }},\n  \"cart_id\" : \"{}\"\n}}\n",
            crate::harness::shipping_address(),
            cart.0
        );
        let request = p
            .http
            .post(format!("{}/v1/stores/{store}/checkout", p.gateway(1)))
            .header("x-cart-token", &cart.1)
            .header("idempotency-key", "key-1")
            .header("content-type", "application/json")
            .body(reordered);
        let respaced = p.send(1, request).await;
        assert_eq!(respaced.status, 201, "{}: {}", p.name, respaced.body);
        assert_eq!(respaced.headers["idempotent-replayed"], "true", "{}", p.name);
        assert_eq!(respaced.body["id"], first.body["id"], "{}", p.name);
        // The checked-out cart under a new key: a specific code, not a bare "conflict".
        let closed = checkout(&p, 0, &store, &cart, "key-2", &approve).await;
        assert_eq!(closed.status, 409, "{}: {}", p.name, closed.body);
        assert_eq!(closed.body["code"], "cart_checked_out", "{}", p.name);

        let level = stock(&p, &store, &owner, &sku).await;
        assert_eq!(level["available_total"], 7, "{}: {level}", p.name);
        assert_eq!(level["locations"][0]["reserved"], 0, "{}", p.name);

        let id = first.body["id"].as_str().unwrap();
        let history = p
            .get(1, &format!("/v1/stores/{store}/orders/{id}/events"), Some(&owner))
            .await;
        assert_eq!(history.status, 200, "{}: {}", p.name, history.body);
        assert_eq!(history.body["state"]["status"], "confirmed");
        assert!(
            history.body["events"].as_array().unwrap().len() >= 3,
            "{}: {}",
            p.name,
            history.body
        );
    }
}

#[tokio::test]
async fn checkout_without_an_idempotency_key_is_400_and_a_declined_card_402() {
    for p in platforms().await {
        let (store, owner, sku) = store_with_stock(&p, 5).await;
        let cart = cart_with(&p, 0, &store, &sku, 2).await;
        let approve = payment_method(&p, 0, &store, APPROVE).await;
        let body = crate::harness::checkout_body(&cart.0, &approve);
        let request = p
            .http
            .post(format!("{}/v1/stores/{store}/checkout", p.gateway(1)))
            .header("x-cart-token", &cart.1)
            .json(&body);
        assert_eq!(p.send(1, request).await.status, 400, "{}", p.name);

        let decline = payment_method(&p, 1, &store, DECLINE).await;
        let declined = checkout(&p, 0, &store, &cart, "decline-1", &decline).await;
        assert_eq!(declined.status, 402, "{}: {}", p.name, declined.body);
        let level = stock(&p, &store, &owner, &sku).await;
        assert_eq!(
            level["available_total"], 5,
            "{}: a declined payment gives the stock back: {level}",
            p.name
        );
    }
}

/// The flash sale: 1,000 buyers race for 100 units, one in ten with a card that is declined.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flash_sale_never_oversells_and_every_buyer_gets_a_clear_answer() {
    const UNITS: i64 = 100;
    const BUYERS: usize = 1000;
    for p in platforms_alone(|s| s.http.rate_limit_per_second = 0).await {
        let p = std::sync::Arc::new(p);
        let (store, owner, sku) = store_with_stock(&p, UNITS).await;
        // Carts and cards first, so the race is only the checkouts.
        let mut carts = Vec::new();
        for i in 0..BUYERS {
            let declined = i % 10 == 0;
            let card = if declined { DECLINE.to_owned() } else { card_for(i) };
            let method = payment_method(&p, i, &store, &card).await;
            carts.push((declined, method, cart_with(&p, i, &store, &sku, 1).await));
        }
        let mut racers = Vec::new();
        for (i, (declined, method, cart)) in carts.into_iter().enumerate() {
            let (p, store) = (p.clone(), store.clone());
            racers.push(tokio::spawn(async move {
                let reply = checkout_to_the_end(&p, i, &store, &cart, &format!("buyer-{i}"), &method).await;
                (declined, reply.status, reply.body["code"].clone())
            }));
        }
        let mut confirmed = 0;
        let mut approved_buyers = 0;
        let mut answers = std::collections::BTreeMap::<String, usize>::new();
        for racer in racers {
            let (declined, status, code) = racer.await.unwrap();
            *answers.entry(format!("{declined}/{status}/{code}")).or_default() += 1;
            assert!(
                matches!(status, 201 | 402 | 409),
                "{}: buyer got {status}",
                p.name
            );
            if declined {
                assert_ne!(status, 201, "{}: a declined card bought something", p.name);
            } else {
                approved_buyers += 1;
            }
            if status == 201 {
                confirmed += 1;
            }
        }
        // Every answer is final; nothing is oversold; every unit is either sold or back on sale.
        let level = stock(&p, &store, &owner, &sku).await;
        let context = format!("answers (declined/status/code) {answers:?}, stock {level}");
        assert!(confirmed <= UNITS, "{}: oversold: {context}", p.name);
        assert_eq!(
            level["available_total"],
            UNITS - confirmed,
            "{}: {context}",
            p.name
        );
        assert_eq!(level["locations"][0]["reserved"], 0, "{}: {context}", p.name);
        // A buyer who waited for units other checkouts held gives up after a bounded wait, so on
        // a slow machine a unit a declined card gave back can outlast every waiting buyer. Such
        // a unit is not lost: a late buyer gets all that is left.
        let left = UNITS - confirmed;
        if left > 0 && approved_buyers > UNITS {
            let late = BUYERS + 1;
            let method = payment_method(&p, late, &store, &card_for(late)).await;
            let cart = cart_with(&p, late, &store, &sku, left).await;
            let reply = checkout_to_the_end(&p, late, &store, &cart, "late-buyer", &method).await;
            assert_eq!(reply.status, 201, "{}: {} ({context})", p.name, reply.body);
            confirmed += 1;
            let after = stock(&p, &store, &owner, &sku).await;
            assert_eq!(after["available_total"], 0, "{}: {after}", p.name);
        } else {
            assert_eq!(confirmed, UNITS.min(approved_buyers), "{}: {context}", p.name);
        }
        let mut confirmed_orders = 0;
        for page in 1..=BUYERS.div_ceil(100) + 1 {
            let orders = p
                .get(
                    0,
                    &format!("/v1/stores/{store}/orders?per_page=100&page={page}"),
                    Some(&owner),
                )
                .await;
            assert_eq!(orders.status, 200, "{}: {}", p.name, orders.body);
            confirmed_orders += orders.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|o| o["status"] == "confirmed")
                .count();
        }
        assert_eq!(
            confirmed_orders as i64, confirmed,
            "{}: one order per sale",
            p.name
        );
    }
}

#[test]
fn generated_buyer_cards_pass_the_luhn_check() {
    for buyer in [0, 1, 17, 299] {
        let card = card_for(buyer);
        let sum: u32 = card
            .chars()
            .rev()
            .enumerate()
            .map(|(i, c)| {
                let d = c.to_digit(10).unwrap();
                if i % 2 == 1 {
                    if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
                } else {
                    d
                }
            })
            .sum();
        assert_eq!(sum % 10, 0, "{card}");
    }
}

#[tokio::test]
async fn invalid_payment_details_are_a_422_naming_the_field_and_reserve_nothing() {
    for p in platforms().await {
        let (store, owner, sku) = store_with_stock(&p, 3).await;
        let cart = cart_with(&p, 0, &store, &sku, 2).await;
        let approve = payment_method(&p, 0, &store, APPROVE).await;
        let cases = [
            (json!({"payment_method": "pm_1234"}), "payment.payment_method"),
            (json!({}), "payment.payment_method"),
            (
                json!({"payment_method": approve, "billing_country": "Germany"}),
                "payment.billing_country",
            ),
            // A client of before tokenization: refused, pointing to the payment-methods endpoint.
            (json!({"card_number": APPROVE}), "payment.card_number"),
        ];
        for (n, (payment, field)) in cases.into_iter().enumerate() {
            let request = p
                .http
                .post(format!("{}/v1/stores/{store}/checkout", p.gateway(0)))
                .header("x-cart-token", &cart.1)
                .header("idempotency-key", format!("bad-payment-{n}"))
                .json(&json!({"cart_id": cart.0, "payment": payment}));
            let reply = p.send(0, request).await;
            assert_eq!(reply.status, 422, "{}: {}", p.name, reply.body);
            assert!(reply.headers.get("retry-after").is_none(), "{}", p.name);
            let fields = reply.error_fields();
            assert_eq!(fields, [field], "{}: {}", p.name, reply.body);
            if field == "payment.card_number" {
                let problem = reply.body.to_string();
                assert!(problem.contains("/payment-methods"), "{}: {problem}", p.name);
            }
        }
        let level = stock(&p, &store, &owner, &sku).await;
        assert_eq!(level["available_total"], 3, "{}: nothing held: {level}", p.name);
        let paid = checkout_to_the_end(&p, 0, &store, &cart, "good-payment", &approve).await;
        assert_eq!(
            paid.status, 201,
            "{}: the cart is still open: {}",
            p.name, paid.body
        );
    }
}

#[tokio::test]
async fn a_malformed_checkout_body_is_400_and_a_wrongly_shaped_one_422() {
    for p in platforms().await {
        let (store, _, _) = store_with_stock(&p, 1).await;
        let send = |body: &'static str| {
            p.http
                .post(format!("{}/v1/stores/{store}/checkout", p.gateway(0)))
                .header("idempotency-key", "shape-1")
                .header("content-type", "application/json")
                .body(body)
        };
        assert_eq!(p.send(0, send("{\"cart_id\": ")).await.status, 400, "{}", p.name);
        assert_eq!(
            p.send(0, send("{\"cart_id\": 1, \"payment\": {}}")).await.status,
            422,
            "{}",
            p.name
        );
    }
}

/// Tokenizing answers the card's brand and last four (never more of it) and refuses an invalid
/// card, expiry or code; a payment method works in its own store only, so another store's is a
/// 422 that holds no stock.
#[tokio::test]
async fn a_payment_method_works_in_its_store_only_and_tokenizing_checks_the_card() {
    for p in platforms().await {
        let (store, owner, sku) = store_with_stock(&p, 3).await;
        let path = format!("/v1/stores/{store}/payment-methods");
        let bad = json!({"card_number": "4242424242424241", "exp": "01/20", "cvc": "12"});
        let refused = p.post(0, &path, None, &bad).await;
        assert_eq!(refused.status, 422, "{}: {}", p.name, refused.body);
        assert_eq!(
            refused.error_fields(),
            ["card_number", "exp", "cvc"],
            "{}",
            p.name
        );
        let created = p
            .post(
                1,
                &path,
                None,
                &json!({"card_number": "4242 4242 4242 4242", "billing_country": "de"}),
            )
            .await;
        assert_eq!(created.status, 201, "{}: {}", p.name, created.body);
        assert_eq!(
            (&created.body["brand"], &created.body["last4"]),
            (&json!("visa"), &json!("4242"))
        );
        assert!(
            !created.body.to_string().contains(APPROVE),
            "{}: {}",
            p.name,
            created.body
        );
        let again = payment_method(&p, 0, &store, APPROVE).await;
        assert_ne!(
            created.body["id"],
            json!(again),
            "{}: a new payment method each time",
            p.name
        );

        let (other, _) = p.provision(1).await;
        let theirs = payment_method(&p, 1, &other, APPROVE).await;
        let cart = cart_with(&p, 0, &store, &sku, 2).await;
        let foreign = checkout_to_the_end(&p, 0, &store, &cart, "theirs", &theirs).await;
        assert_eq!(foreign.status, 422, "{}: {}", p.name, foreign.body);
        let level = stock(&p, &store, &owner, &sku).await;
        assert_eq!(level["available_total"], 3, "{}: nothing held: {level}", p.name);
        let cart = cart_with(&p, 1, &store, &sku, 2).await;
        let mine = checkout_to_the_end(&p, 1, &store, &cart, "mine", &again).await;
        assert_eq!(mine.status, 201, "{}: {}", p.name, mine.body);
    }
}
