//! The merchant and shopper journeys of the foundation, in every topology.

use crate::harness::{Platform, platforms};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn product(slug: &str, title: &str, sku: &str, price: i64) -> Value {
    json!({
        "slug": slug, "title": title, "description": "Soft organic cotton, made to last.",
        "variants": [{"sku": sku, "title": "M", "price": {"amount_minor": price, "currency": "EUR"}}]
    })
}

fn product_in(category: &str, slug: &str, title: &str, sku: &str, price: i64) -> Value {
    let mut p = product(slug, title, sku, price);
    p["category"] = json!(category);
    p
}

/// Polls a search until it finds `expected` hits, for at most `within`.
async fn search_until(p: &Platform, path: &str, expected: u64, within: Duration) -> Value {
    let started = Instant::now();
    loop {
        let reply = p.get(1, path, None).await;
        assert_eq!(reply.status, 200, "{}: {}", p.name, reply.body);
        if reply.body["total"].as_u64() == Some(expected) || started.elapsed() > within {
            return reply.body;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_merchant_builds_a_catalog_that_shoppers_browse_and_search() {
    for p in platforms().await {
        let (store, _) = p.provision(0).await;
        let (owner, _) = p
            .sign_in(1, &store, "owner@example.com", "correct horse battery")
            .await;

        let category = p
            .post(
                0,
                &format!("/v1/stores/{store}/categories"),
                Some(&owner),
                &json!({"slug": "apparel", "name": "Apparel"}),
            )
            .await;
        assert_eq!(category.status, 201, "{}: {}", p.name, category.body);
        let sub = json!({"slug": "shirts", "name": "Shirts", "parent": "apparel"});
        assert_eq!(
            p.post(1, &format!("/v1/stores/{store}/categories"), Some(&owner), &sub)
                .await
                .status,
            201
        );

        let created = p
            .post(
                0,
                &format!("/v1/stores/{store}/products"),
                Some(&owner),
                &product_in("shirts", "blue-shirt", "Blue Shirt", "BS-1", 2999),
            )
            .await;
        assert_eq!(created.status, 201, "{}: {}", p.name, created.body);
        let id = created.body["id"].as_str().unwrap().to_owned();
        let other = product("red-scarf", "Red Scarf", "RS-1", 1500);
        assert_eq!(
            p.post(1, &format!("/v1/stores/{store}/products"), Some(&owner), &other)
                .await
                .status,
            201
        );

        // Read through the other gateway: both serve the same data.
        let read = p.get(1, &format!("/v1/stores/{store}/products/{id}"), None).await;
        assert_eq!(read.status, 200, "{}", p.name);
        assert_eq!(read.body["variants"][0]["price"]["amount_minor"], 2999);
        assert_eq!(
            p.get(0, &format!("/v1/stores/{store}/products/blue-shirt"), None)
                .await
                .body["id"],
            id.as_str()
        );

        let listing = p
            .get(
                0,
                &format!("/v1/stores/{store}/products?category=apparel&sort=price_asc"),
                None,
            )
            .await;
        assert_eq!(
            listing.body["total"], 1,
            "{}: the sub-category's product is listed under its parent",
            p.name
        );

        let tree = p.get(1, &format!("/v1/stores/{store}/categories"), None).await;
        assert_eq!(tree.body[0]["children"][0]["slug"], "shirts", "{}", p.name);

        // Searchable within a second of the change, typos and all.
        let found = search_until(
            &p,
            &format!("/v1/stores/{store}/search?q=blu+shrt"),
            1,
            Duration::from_secs(1),
        )
        .await;
        assert_eq!(found["total"], 1, "{}: {found}", p.name);
        assert_eq!(found["hits"][0]["product_id"], id.as_str());
        assert_eq!(found["facets"]["categories"][0]["value"], "shirts");

        // A price change is visible to readers (cache invalidated) and to search.
        let patch = p
            .send(
                0,
                p.http
                    .patch(format!("{}/v1/stores/{store}/products/{id}", p.gateway(0)))
                    .bearer_auth(&owner)
                    .json(&json!({"title": "Navy Shirt"})),
            )
            .await;
        assert_eq!(patch.status, 200, "{}: {}", p.name, patch.body);
        let started = Instant::now();
        loop {
            let r = p.get(1, &format!("/v1/stores/{store}/products/{id}"), None).await;
            if r.body["title"] == "Navy Shirt" {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "{}: stale product after update: {}",
                p.name,
                r.body
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let renamed = search_until(
            &p,
            &format!("/v1/stores/{store}/search?q=navy"),
            1,
            Duration::from_secs(1),
        )
        .await;
        assert_eq!(renamed["total"], 1, "{}: {renamed}", p.name);

        for n in 0..p.gateways.len() {
            let warm = p.get(n, &format!("/v1/stores/{store}/products"), None).await;
            assert_eq!(warm.body["total"], 2, "{}", p.name);
        }
        let deleted = p
            .send(
                1,
                p.http
                    .delete(format!("{}/v1/stores/{store}/products/{id}", p.gateway(1)))
                    .bearer_auth(&owner),
            )
            .await;
        assert_eq!(deleted.status, 204, "{}", p.name);
        assert_eq!(
            p.get(0, &format!("/v1/stores/{store}/products/{id}"), None)
                .await
                .status,
            404,
            "{}",
            p.name
        );
        // Listings are cached per replica; every gateway must stop listing the deleted product.
        for n in 0..p.gateways.len() {
            let started = Instant::now();
            loop {
                let listing = p.get(n, &format!("/v1/stores/{store}/products"), None).await;
                if listing.body["total"] == 1 {
                    break;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(1),
                    "{}: stale listing {}",
                    p.name,
                    listing.body
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

#[tokio::test]
async fn customers_register_but_may_not_change_the_catalog() {
    for p in platforms().await {
        let (store, _) = p.provision(0).await;
        let customer = json!({"email": "ann@example.com", "password": "ann's long password"});
        let registered = p
            .post(1, &format!("/v1/stores/{store}/customers"), None, &customer)
            .await;
        assert_eq!(registered.status, 201, "{}: {}", p.name, registered.body);
        assert_eq!(registered.body["role"], "customer");
        assert_eq!(
            p.post(0, &format!("/v1/stores/{store}/customers"), None, &customer)
                .await
                .status,
            409,
            "{}",
            p.name
        );

        let (token, _) = p
            .sign_in(0, &store, "ann@example.com", "ann's long password")
            .await;
        let attempt = p
            .post(
                1,
                &format!("/v1/stores/{store}/products"),
                Some(&token),
                &product("x", "X", "X-1", 100),
            )
            .await;
        assert_eq!(attempt.status, 403, "{}: {}", p.name, attempt.body);
        assert_eq!(attempt.body["code"], "forbidden");
        let listing = p.get(0, &format!("/v1/stores/{store}/products"), None).await;
        assert_eq!(listing.body["total"], 0, "{}: nothing was written", p.name);
    }
}

#[tokio::test]
async fn a_token_for_one_store_finds_nothing_private_in_another() {
    for p in platforms().await {
        let (store_a, _) = p.provision(0).await;
        let (store_b, _) = p.provision(1).await;
        let (owner_a, _) = p
            .sign_in(0, &store_a, "owner@example.com", "correct horse battery")
            .await;
        let attempt = p
            .post(
                1,
                &format!("/v1/stores/{store_b}/products"),
                Some(&owner_a),
                &product("x", "X", "X-1", 100),
            )
            .await;
        assert_eq!(attempt.status, 404, "{}: {}", p.name, attempt.body);
        let staff = json!({"email": "mallory@example.com", "password": "long enough password"});
        assert_eq!(
            p.post(0, &format!("/v1/stores/{store_b}/staff"), Some(&owner_a), &staff)
                .await
                .status,
            404,
            "{}",
            p.name
        );
        assert_eq!(
            p.get(1, &format!("/v1/stores/{store_b}/products"), None)
                .await
                .body["total"],
            0,
            "{}",
            p.name
        );
    }
}

#[tokio::test]
async fn replaying_a_used_refresh_token_revokes_its_whole_family() {
    for p in platforms().await {
        let (store, _) = p.provision(0).await;
        let (_, first) = p
            .sign_in(0, &store, "owner@example.com", "correct horse battery")
            .await;
        let rotated = p
            .token(1, &[("grant_type", "refresh_token"), ("refresh_token", &first)])
            .await;
        assert_eq!(rotated.status, 200, "{}: {}", p.name, rotated.body);
        let second = rotated.body["refresh_token"].as_str().unwrap().to_owned();
        assert_ne!(second, first);

        let replay = p
            .token(0, &[("grant_type", "refresh_token"), ("refresh_token", &first)])
            .await;
        assert_eq!(replay.status, 400, "{}", p.name);
        assert_eq!(replay.body["error"], "invalid_grant");
        let after = p
            .token(1, &[("grant_type", "refresh_token"), ("refresh_token", &second)])
            .await;
        assert_eq!(
            after.body["error"], "invalid_grant",
            "{}: the newest token of the family is revoked too",
            p.name
        );
    }
}

#[tokio::test]
async fn an_api_client_works_with_client_credentials_and_gets_no_refresh_token() {
    for p in platforms().await {
        let (store, created) = p.provision(0).await;
        let id = created["api_client"]["client_id"].as_str().unwrap();
        let secret = created["api_client"]["client_secret"].as_str().unwrap();
        let reply = p
            .token(
                1,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", id),
                    ("client_secret", secret),
                ],
            )
            .await;
        assert_eq!(reply.status, 200, "{}: {}", p.name, reply.body);
        assert!(reply.body.get("refresh_token").is_none());
        assert!(reply.body["expires_in"].as_i64().unwrap() <= 900);
        let token = reply.body["access_token"].as_str().unwrap();
        let created = p
            .post(
                0,
                &format!("/v1/stores/{store}/products"),
                Some(token),
                &product("via-api", "Via API", "API-1", 500),
            )
            .await;
        assert_eq!(created.status, 201, "{}: {}", p.name, created.body);

        let wrong = p
            .token(
                0,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", id),
                    ("client_secret", "nope"),
                ],
            )
            .await;
        assert_eq!(wrong.status, 401, "{}", p.name);
        assert_eq!(wrong.body["error"], "invalid_client");
    }
}
