//! The catalog basics of issue 12 through the edge: a draft product is invisible to shoppers
//! (listing, read, search) while its store's owner sees it; a price in another currency than
//! the store's is refused; weights, shipping and tax category round-trip.

use crate::harness::{Platform, platforms};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn product(slug: &str, status: &str, currency: &str) -> Value {
    json!({
        "slug": slug, "title": format!("Wool {slug}"), "status": status, "tax_category": "reduced",
        "variants": [{"sku": format!("SKU-{slug}"), "price": {"amount_minor": 2500, "currency": currency},
                      "weight_grams": 300, "requires_shipping": true}]
    })
}

/// Creates the store's first product with no currency, retrying until the catalog has learnt
/// the store's currency from its `store_provisioned` event (before, the currency is required).
async fn first_product(p: &Platform, store: &str, owner: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    let path = format!("/v1/stores/{store}/products");
    loop {
        let body = json!({"slug": "wool-scarf", "title": "Wool scarf",
            "variants": [{"sku": "SCARF-1", "price": {"amount_minor": 1900}}]});
        let reply = p.post(0, &path, Some(owner), &body).await;
        if reply.status == 201 {
            return reply.body;
        }
        assert_eq!(reply.status, 422, "{}: {}", p.name, reply.body);
        assert!(
            Instant::now() < deadline,
            "{}: the store's currency never arrived",
            p.name
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn search_slugs(p: &Platform, store: &str, q: &str) -> Vec<String> {
    let reply = p.get(1, &format!("/v1/stores/{store}/search?q={q}"), None).await;
    assert_eq!(reply.status, 200, "{}: {}", p.name, reply.body);
    reply.body["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["slug"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn drafts_are_invisible_to_shoppers_and_foreign_currencies_are_refused() {
    for p in platforms().await {
        let (store, _) = p.provision(0).await;
        let (owner, _) = p
            .sign_in(0, &store, "owner@example.com", "correct horse battery")
            .await;
        let scarf = first_product(&p, &store, &owner).await;
        assert_eq!(scarf["variants"][0]["price"]["currency"], "EUR", "{}", p.name);
        assert_eq!(scarf["status"], "active", "{}: the default", p.name);
        assert_eq!(scarf["tax_category"], "standard", "{}", p.name);
        assert_eq!(scarf["variants"][0]["requires_shipping"], true, "{}", p.name);

        let path = format!("/v1/stores/{store}/products");
        let usd = p
            .post(0, &path, Some(&owner), &product("hat", "active", "USD"))
            .await;
        assert_eq!(usd.status, 422, "{}: {}", p.name, usd.body);
        assert_eq!(usd.error_fields(), ["variants[0].currency"], "{}", p.name);

        let draft = p
            .post(0, &path, Some(&owner), &product("mitts", "draft", "EUR"))
            .await;
        assert_eq!(draft.status, 201, "{}: {}", p.name, draft.body);
        assert_eq!(draft.body["status"], "draft");
        assert_eq!(draft.body["tax_category"], "reduced");
        assert_eq!(draft.body["variants"][0]["weight_grams"], 300);

        // Shoppers: the listing, a read by slug and the search know the scarf only.
        let listed = p.get(1, &path, None).await;
        let slugs: Vec<&str> = listed.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["slug"].as_str().unwrap())
            .collect();
        assert_eq!(slugs, ["wool-scarf"], "{}", p.name);
        assert_eq!(
            p.get(1, &format!("{path}/mitts"), None).await.status,
            404,
            "{}",
            p.name
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while search_slugs(&p, &store, "wool").await != ["wool-scarf"] {
            assert!(Instant::now() < deadline, "{}: search never settled", p.name);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        // The owner, signed in, sees the draft in the listing and by slug.
        let mine = p.get(1, &path, Some(&owner)).await;
        assert_eq!(mine.body["total"], 2, "{}: {}", p.name, mine.body);
        let read = p.get(0, &format!("{path}/mitts"), Some(&owner)).await;
        assert_eq!(read.status, 200, "{}: {}", p.name, read.body);

        // Activated, the product is public.
        let id = draft.body["id"].as_str().unwrap();
        let activate = p
            .send(
                0,
                p.http
                    .patch(format!("{}{path}/{id}", p.gateway(0)))
                    .bearer_auth(&owner)
                    .json(&json!({"status": "active"})),
            )
            .await;
        assert_eq!(activate.status, 200, "{}: {}", p.name, activate.body);
        let deadline = Instant::now() + Duration::from_secs(10);
        while search_slugs(&p, &store, "wool").await.len() != 2 {
            assert!(
                Instant::now() < deadline,
                "{}: the activated product is never found",
                p.name
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while p.get(1, &format!("{path}/mitts"), None).await.status != 200 {
            assert!(
                Instant::now() < deadline,
                "{}: the activated product is never public",
                p.name
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
