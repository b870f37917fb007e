//! Customers through the edge, in both topologies: a customer signs up with a name, edits the
//! profile, builds an address book with defaults (a bad postal code changing nothing), is
//! invisible to another customer, and appears to staff with the order count and total spent
//! that the orders service's events bring after a checkout.

use crate::harness::{Platform, Reply, platforms};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const PASSWORD: &str = "customer password";

async fn patch(p: &Platform, n: usize, path: &str, token: &str, body: &Value) -> Reply {
    let url = format!("{}{path}", p.gateway(n));
    p.send(n, p.http.patch(url).bearer_auth(token).json(body)).await
}

/// A store with one product in stock; returns (slug, owner token, SKU).
async fn store_with_a_product(p: &Platform) -> (String, String, String) {
    let (store, _) = p.provision(0).await;
    let (owner, _) = p
        .sign_in(1, &store, "owner@example.com", "correct horse battery")
        .await;
    let product = json!({"slug": "tee", "title": "Tee", "variants": [
        {"sku": "TEE-1", "price": {"amount_minor": 1500, "currency": "EUR"}}]});
    let created = p
        .post(0, &format!("/v1/stores/{store}/products"), Some(&owner), &product)
        .await;
    assert_eq!(created.status, 201, "{}: {}", p.name, created.body);
    let url = format!("{}/v1/stores/{store}/inventory/TEE-1", p.gateway(0));
    let stock = p
        .send(
            0,
            p.http.put(url).bearer_auth(&owner).json(&json!({"on_hand": 10})),
        )
        .await;
    assert_eq!(stock.status, 200, "{}: {}", p.name, stock.body);
    (store, owner, "TEE-1".to_owned())
}

/// Signs a customer up with a name and consent, and signs them in; returns their token.
async fn customer(p: &Platform, store: &str, who: &str) -> String {
    let body = json!({"email": format!("{who}@example.com"), "password": PASSWORD,
        "first_name": who, "last_name": "Example", "marketing_consent": true});
    let created = p
        .post(0, &format!("/v1/stores/{store}/customers"), None, &body)
        .await;
    assert_eq!(created.status, 201, "{}: {}", p.name, created.body);
    p.sign_in(1, store, &format!("{who}@example.com"), PASSWORD)
        .await
        .0
}

/// Buys `quantity` of `sku` as the signed-in customer; returns the order's total.
async fn buy(p: &Platform, store: &str, token: &str, sku: &str, quantity: i64) -> i64 {
    let cart = p
        .post(0, &format!("/v1/stores/{store}/carts"), Some(token), &json!({}))
        .await;
    assert_eq!(cart.status, 201, "{}: {}", p.name, cart.body);
    let cart_id = cart.body["id"].as_str().unwrap().to_owned();
    let started = Instant::now();
    let items = format!("/v1/stores/{store}/carts/{cart_id}/items");
    while p
        .post(1, &items, Some(token), &json!({"sku": sku, "quantity": quantity}))
        .await
        .status
        != 200
    {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{}: cart never took {sku}",
            p.name
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let method = crate::checkout::payment_method(p, 0, store, "4242424242424242").await;
    let body = crate::harness::checkout_body(&cart_id, &method);
    let bought = p
        .post_keyed(1, &format!("/v1/stores/{store}/checkout"), token, &cart_id, &body)
        .await;
    assert_eq!(bought.status, 201, "{}: {}", p.name, bought.body);
    assert_eq!(bought.body["status"], "confirmed", "{}: {}", p.name, bought.body);
    bought.body["total_minor"].as_i64().unwrap()
}

#[tokio::test]
async fn a_customer_keeps_a_profile_and_address_book_that_staff_see_with_their_orders() {
    for p in platforms().await {
        let (store, owner, sku) = store_with_a_product(&p).await;
        let ann = customer(&p, &store, "ann").await;
        let me = format!("/v1/stores/{store}/customers/me");

        let profile = p.get(0, &me, Some(&ann)).await;
        assert_eq!(profile.status, 200, "{}: {}", p.name, profile.body);
        assert_eq!(profile.body["first_name"], "ann");
        assert_eq!(profile.body["marketing_consent"], true);
        let edited = patch(
            &p,
            1,
            &me,
            &ann,
            &json!({"last_name": "Lee", "phone": "+49 30 1234567"}),
        )
        .await;
        assert_eq!(edited.status, 200, "{}: {}", p.name, edited.body);
        assert_eq!(
            (
                edited.body["first_name"].as_str(),
                edited.body["last_name"].as_str()
            ),
            (Some("ann"), Some("Lee"))
        );

        let book = format!("{me}/addresses");
        let home = json!({"address": {"name": "Ann Lee", "line1": "Invalidenstraße 117",
            "city": "Berlin", "postal_code": "10115", "country": "de"}});
        let home = p.post(0, &book, Some(&ann), &home).await;
        assert_eq!(home.status, 201, "{}: {}", p.name, home.body);
        assert_eq!(home.body["address"]["country"], "DE");
        assert_eq!(
            (
                home.body["default_shipping"].as_bool(),
                home.body["default_billing"].as_bool()
            ),
            (Some(true), Some(true))
        );
        let office = json!({"address": {"name": "Ann Lee", "company": "Acme", "line1": "1 Main St",
            "city": "Springfield", "region": "il", "postal_code": "62701", "country": "US"},
            "default_shipping": true});
        let office = p.post(1, &book, Some(&ann), &office).await;
        assert_eq!(office.status, 201, "{}: {}", p.name, office.body);
        assert_eq!(office.body["address"]["region"], "IL");
        let office_id = office.body["id"].as_str().unwrap().to_owned();
        let home_id = home.body["id"].as_str().unwrap().to_owned();
        let billing = patch(
            &p,
            0,
            &format!("{book}/{office_id}"),
            &ann,
            &json!({"default_billing": true}),
        )
        .await;
        assert_eq!(billing.status, 200, "{}: {}", p.name, billing.body);
        assert_eq!(billing.body["default_billing"], true);

        // A bad postal code is a 422 naming the field, and changes nothing.
        let bad = patch(
            &p,
            1,
            &format!("{book}/{home_id}"),
            &ann,
            &json!({"address": {"postal_code": "1011"}}),
        )
        .await;
        assert_eq!(bad.status, 422, "{}: {}", p.name, bad.body);
        assert_eq!(bad.error_fields(), ["address.postal_code"], "{}", p.name);
        let listed = p.get(0, &book, Some(&ann)).await;
        let addresses = listed.body["addresses"].as_array().unwrap().clone();
        assert_eq!(addresses.len(), 2, "{}: {}", p.name, listed.body);
        assert_eq!(addresses[0]["address"]["postal_code"], "10115");
        let defaults: Vec<(bool, bool)> = addresses
            .iter()
            .map(|a| (a["default_shipping"] == true, a["default_billing"] == true))
            .collect();
        assert_eq!(defaults, [(false, false), (true, true)], "{}", p.name);

        // Another customer sees nothing of Ann's, not even whether she exists.
        let bob = customer(&p, &store, "bob").await;
        let ann_id = profile.body["id"].as_str().unwrap();
        let peek = p
            .get(1, &format!("/v1/stores/{store}/customers/{ann_id}"), Some(&bob))
            .await;
        assert_eq!(peek.status, 404, "{}: {}", p.name, peek.body);
        let theirs = p.get(0, &format!("{book}/{home_id}"), Some(&bob)).await;
        assert_eq!(theirs.status, 404, "{}: {}", p.name, theirs.body);
        let listing = p
            .get(0, &format!("/v1/stores/{store}/customers"), Some(&bob))
            .await;
        assert_eq!(listing.status, 403, "{}: {}", p.name, listing.body);

        // Staff find her by name and, once the order's events arrive, see what she bought.
        let spent = buy(&p, &store, &ann, &sku, 2).await;
        let search = format!("/v1/stores/{store}/customers?q=ANN%20LEE");
        let started = Instant::now();
        let found = loop {
            let page = p.get(1, &search, Some(&owner)).await;
            assert_eq!(page.status, 200, "{}: {}", p.name, page.body);
            let found = page.body["customers"][0].clone();
            if found["order_count"] == 1 {
                break found;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{}: figures never arrived: {}",
                p.name,
                page.body
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(found["email"], "ann@example.com");
        assert_eq!(found["total_spent_minor"], spent, "{}", p.name);
        assert_eq!(found["currency"], "EUR");
        let one = p
            .get(0, &format!("/v1/stores/{store}/customers/{ann_id}"), Some(&owner))
            .await;
        assert_eq!(one.status, 200, "{}: {}", p.name, one.body);
        assert_eq!(one.body["addresses"].as_array().map(Vec::len), Some(2));
        assert_eq!(one.body["total_spent_minor"], spent);
    }
}
