//! Isolation through the edge, in both topologies: no customer reaches another's cart or
//! order, and no store another's.

use crate::checkout::{APPROVE, payment_method, store_with_stock};
use crate::harness::platforms;
use serde_json::json;
use std::time::{Duration, Instant};

/// (d) of the commerce-core issue: no customer reaches another's cart or order, no store
/// another's.
#[tokio::test]
async fn customers_cannot_reach_each_others_carts_or_orders_nor_stores_each_others() {
    for p in platforms().await {
        let (store, owner, sku) = store_with_stock(&p, 10).await;
        for who in ["ann", "bob"] {
            let body = json!({"email": format!("{who}@example.com"), "password": "customer password"});
            assert_eq!(
                p.post(0, &format!("/v1/stores/{store}/customers"), None, &body)
                    .await
                    .status,
                201
            );
        }
        let (ann, _) = p.sign_in(0, &store, "ann@example.com", "customer password").await;
        let (bob, _) = p.sign_in(1, &store, "bob@example.com", "customer password").await;

        let cart = p
            .post(0, &format!("/v1/stores/{store}/carts"), Some(&ann), &json!({}))
            .await;
        assert_eq!(cart.status, 201, "{}: {}", p.name, cart.body);
        let cart_id = cart.body["id"].as_str().unwrap().to_owned();
        let started = Instant::now();
        loop {
            let add = p
                .post(
                    1,
                    &format!("/v1/stores/{store}/carts/{cart_id}/items"),
                    Some(&ann),
                    &json!({"sku": sku, "quantity": 1}),
                )
                .await;
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
        // Bob can neither see nor fill nor check out Ann's cart.
        assert_eq!(
            p.get(0, &format!("/v1/stores/{store}/carts/{cart_id}"), Some(&bob))
                .await
                .status,
            404,
            "{}",
            p.name
        );
        let stolen = p
            .post(
                1,
                &format!("/v1/stores/{store}/carts/{cart_id}/items"),
                Some(&bob),
                &json!({"sku": sku, "quantity": 1}),
            )
            .await;
        assert_eq!(stolen.status, 404, "{}", p.name);
        let approve = payment_method(&p, 0, &store, APPROVE).await;
        let body = crate::harness::checkout_body(&cart_id, &approve);
        let hijack = p
            .post_keyed(0, &format!("/v1/stores/{store}/checkout"), &bob, "bob-1", &body)
            .await;
        assert_eq!(hijack.status, 404, "{}: {}", p.name, hijack.body);

        let bought = p
            .post_keyed(1, &format!("/v1/stores/{store}/checkout"), &ann, "ann-1", &body)
            .await;
        assert_eq!(bought.status, 201, "{}: {}", p.name, bought.body);
        let order = bought.body["id"].as_str().unwrap();
        assert_eq!(
            p.get(0, &format!("/v1/stores/{store}/orders/{order}"), Some(&ann))
                .await
                .status,
            200,
            "{}",
            p.name
        );
        assert_eq!(
            p.get(1, &format!("/v1/stores/{store}/orders/{order}"), Some(&bob))
                .await
                .status,
            404,
            "{}",
            p.name
        );
        assert_eq!(
            p.get(0, &format!("/v1/stores/{store}/orders"), Some(&bob))
                .await
                .body["total"],
            0,
            "{}",
            p.name
        );
        assert_eq!(
            p.get(1, &format!("/v1/stores/{store}/orders/{order}"), Some(&owner))
                .await
                .status,
            200,
            "{}",
            p.name
        );
        let cancel = p
            .send(
                0,
                p.http
                    .post(format!(
                        "{}/v1/stores/{store}/orders/{order}/cancel",
                        p.gateway(0)
                    ))
                    .bearer_auth(&bob)
                    .header("idempotency-key", "bob-cancel"),
            )
            .await;
        assert_eq!(cancel.status, 404, "{}: bob cannot cancel ann's order", p.name);

        let (other, _) = p.provision(1).await;
        let (other_owner, _) = p
            .sign_in(0, &other, "owner@example.com", "correct horse battery")
            .await;
        assert_eq!(
            p.get(
                1,
                &format!("/v1/stores/{store}/orders/{order}"),
                Some(&other_owner)
            )
            .await
            .status,
            404,
            "{}",
            p.name
        );
        assert_eq!(
            p.get(
                0,
                &format!("/v1/stores/{other}/orders/{order}"),
                Some(&other_owner)
            )
            .await
            .status,
            404,
            "{}",
            p.name
        );
    }
}
