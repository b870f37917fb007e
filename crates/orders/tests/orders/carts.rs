//! Carts: validation, totals, price snapshots, ownership, merging.

use crate::support::*;
use mercato_proto::orders::orders_server::Orders;
use mercato_proto::orders::*;
use mercato_runtime::error::ErrorCode;

mercato_runtime::backend_tests! {
    setup: Env::on,
    cases: [
        a_cart_totals_its_lines_in_minor_units_and_keeps_the_price_of_when_a_line_was_added,
        cart_lines_are_refused_for_unknown_skus_bad_quantities_too_many_lines_or_another_currency,
        the_sku_projection_ignores_product_versions_it_has_seen_or_passed,
        only_active_products_can_be_put_in_a_cart,
        an_anonymous_cart_answers_only_to_its_token_which_is_stored_hashed,
        merging_moves_the_anonymous_lines_into_the_customers_open_cart_summing_quantities,
        a_cart_of_another_store_is_not_found,
    ],
}

async fn a_cart_totals_its_lines_in_minor_units_and_keeps_the_price_of_when_a_line_was_added(env: Env) {
    env.sku("TEE", 1250, 10).await;
    let buyer = customer("ann");
    let cart = env.cart_for(&buyer, &[("TEE", 2)]).await;
    let cart = env.add(&buyer, &cart.id, "TEE", 1).await.unwrap();
    assert_eq!((cart.lines[0].quantity, cart.total_minor), (3, 3750));
    assert_eq!(cart.currency, "EUR");
    // The catalog raises the price: the line keeps its snapshot, a new cart gets the new one.
    env.product("p-TEE", 2, &[("TEE", 2000, "EUR")]).await;
    let cart = env.get_cart(&buyer, &cart.id).await.unwrap();
    assert_eq!(cart.total_minor, 3750);
    let other = env.cart_for(&buyer, &[("TEE", 1)]).await;
    assert_eq!(other.total_minor, 2000);
    // Setting 0 removes the line.
    let cart = env.set(&buyer, &cart.id, "TEE", 0).await.unwrap();
    assert!(cart.lines.is_empty());
    assert_eq!(cart.total_minor, 0);
}

async fn cart_lines_are_refused_for_unknown_skus_bad_quantities_too_many_lines_or_another_currency(env: Env) {
    env.sku("A", 100, 10).await;
    env.product("p-usd", 1, &[("USD-ONLY", 100, "USD")]).await;
    let buyer = customer("ann");
    let cart = env.cart_for(&buyer, &[("A", 1)]).await;
    let unknown = env.add(&buyer, &cart.id, "NOPE", 1).await.unwrap_err();
    assert_eq!(
        (unknown.code, unknown.fields[0].field.as_str()),
        (ErrorCode::ValidationFailed, "sku")
    );
    for q in [0, -1, 101] {
        let e = env.add(&buyer, &cart.id, "A", q).await.unwrap_err();
        assert_eq!(e.fields[0].field, "quantity", "quantity {q}");
    }
    assert_eq!(
        code(env.add(&buyer, &cart.id, "A", 100).await),
        ErrorCode::ValidationFailed
    );
    assert_eq!(
        code(env.add(&buyer, &cart.id, "USD-ONLY", 1).await),
        ErrorCode::ValidationFailed
    );
    // A deleted product's SKUs are unknown from then on.
    env.delete_product("p-A", 2).await;
    let fresh = env.cart_for(&buyer, &[]).await;
    assert_eq!(
        code(env.add(&buyer, &fresh.id, "A", 1).await),
        ErrorCode::ValidationFailed
    );
    // Fifty lines at most.
    let many: Vec<(String, i64, &str)> = (0..51).map(|i| (format!("S{i}"), 1, "EUR")).collect();
    let variants: Vec<(&str, i64, &str)> = many.iter().map(|(s, p, c)| (s.as_str(), *p, *c)).collect();
    env.product("p-many", 1, &variants).await;
    let big = env.cart_for(&buyer, &[]).await;
    for (sku, _, _) in &variants[..50] {
        env.add(&buyer, &big.id, sku, 1).await.unwrap();
    }
    let e = env.add(&buyer, &big.id, "S50", 1).await.unwrap_err();
    assert_eq!(e.fields[0].field, "sku");
    assert_eq!(env.get_cart(&buyer, &big.id).await.unwrap().lines.len(), 50);
}

async fn the_sku_projection_ignores_product_versions_it_has_seen_or_passed(env: Env) {
    let buyer = customer("ann");
    let price = |cart: Cart| cart.total_minor;
    env.product("p-S", 2, &[("S", 200, "EUR"), ("S2", 20, "EUR")])
        .await;
    let cart = env.cart_for(&buyer, &[("S", 1)]).await;
    assert_eq!(price(cart), 200);
    // An older version, and the same version again (another event), change nothing.
    env.product("p-S", 1, &[("S", 100, "EUR")]).await;
    env.product("p-S", 2, &[("S", 300, "EUR")]).await;
    assert_eq!(price(env.cart_for(&buyer, &[("S", 1)]).await), 200);
    assert_eq!(price(env.cart_for(&buyer, &[("S2", 1)]).await), 20);
    // A newer version replaces the product's SKUs: S2 is gone.
    env.product("p-S", 3, &[("S", 400, "EUR")]).await;
    assert_eq!(price(env.cart_for(&buyer, &[("S", 1)]).await), 400);
    let fresh = env.cart_for(&buyer, &[]).await;
    assert_eq!(
        code(env.add(&buyer, &fresh.id, "S2", 1).await),
        ErrorCode::ValidationFailed
    );
    // Deleted at version 4: that version cannot bring it back, the next one does.
    env.delete_product("p-S", 4).await;
    env.product("p-S", 4, &[("S", 500, "EUR")]).await;
    assert_eq!(
        code(env.add(&buyer, &fresh.id, "S", 1).await),
        ErrorCode::ValidationFailed
    );
    env.product("p-S", 5, &[("S", 600, "EUR")]).await;
    assert_eq!(price(env.cart_for(&buyer, &[("S", 1)]).await), 600);
}

async fn only_active_products_can_be_put_in_a_cart(env: Env) {
    let buyer = customer("ann");
    let cart = env.cart_for(&buyer, &[]).await;
    env.product_in_status("p-D", 1, &[("D", 100, "EUR")], "draft")
        .await;
    assert_eq!(
        code(env.add(&buyer, &cart.id, "D", 1).await),
        ErrorCode::ValidationFailed
    );
    env.product_in_status("p-D", 2, &[("D", 100, "EUR")], "active")
        .await;
    env.add(&buyer, &cart.id, "D", 1).await.unwrap();
    env.product_in_status("p-D", 3, &[("D", 100, "EUR")], "archived")
        .await;
    let fresh = env.cart_for(&buyer, &[]).await;
    assert_eq!(
        code(env.add(&buyer, &fresh.id, "D", 1).await),
        ErrorCode::ValidationFailed
    );
}

async fn an_anonymous_cart_answers_only_to_its_token_which_is_stored_hashed(env: Env) {
    env.sku("A", 100, 10).await;
    let cart = env
        .orders
        .create_cart(tonic::Request::new(CreateCartRequest {
            store_id: env.store.to_string(),
            caller: None,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cart.cart_token.len(), 64);
    let holder = anonymous(&cart.cart_token);
    env.add(&holder, &cart.id, "A", 2).await.unwrap();
    let again = env.get_cart(&holder, &cart.id).await.unwrap();
    assert!(again.cart_token.is_empty(), "the token is returned once");
    assert_eq!(
        code(env.get_cart(&anonymous("guess"), &cart.id).await),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(env.get_cart(&customer("bob"), &cart.id).await),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(env.add(&customer("bob"), &cart.id, "A", 1).await),
        ErrorCode::NotFound
    );
    let stored = env
        .orders_count("SELECT COUNT(*) FROM carts WHERE LENGTH(token_hash) = 64")
        .await;
    assert_eq!(stored, 1);
    let (hash,): (String,) = env
        .orders_db
        .query_one("SELECT token_hash FROM carts", &[])
        .await
        .unwrap();
    assert_ne!(hash, cart.cart_token);
}

async fn merging_moves_the_anonymous_lines_into_the_customers_open_cart_summing_quantities(env: Env) {
    env.sku("A", 100, 10).await;
    env.sku("B", 300, 10).await;
    let anon = env
        .orders
        .create_cart(tonic::Request::new(CreateCartRequest {
            store_id: env.store.to_string(),
            caller: None,
        }))
        .await
        .unwrap()
        .into_inner();
    let holder = anonymous(&anon.cart_token);
    env.add(&holder, &anon.id, "A", 2).await.unwrap();
    env.add(&holder, &anon.id, "B", 1).await.unwrap();
    let ann = customer("ann");
    let own = env.cart_for(&ann, &[("A", 1)]).await;
    let merge = |token: &str| MergeCartRequest {
        store_id: env.store.to_string(),
        caller: Some(ann.clone()),
        anonymous_cart_id: anon.id.clone(),
        anonymous_cart_token: token.to_owned(),
    };
    let wrong = env
        .orders
        .merge_cart(tonic::Request::new(merge("wrong")))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), tonic::Code::NotFound);
    let merged = env
        .orders
        .merge_cart(tonic::Request::new(merge(&anon.cart_token)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(merged.id, own.id);
    let a = merged.lines.iter().find(|l| l.sku == "A").unwrap();
    assert_eq!(a.quantity, 3);
    assert_eq!(merged.total_minor, 3 * 100 + 300);
    let source = env.get_cart(&holder, &anon.id).await.unwrap();
    assert_eq!(source.status_name(), "merged");
    // A merged cart cannot be merged (or changed) again.
    assert!(
        env.orders
            .merge_cart(tonic::Request::new(merge(&anon.cart_token)))
            .await
            .is_err()
    );
    assert_eq!(
        code(env.add(&holder, &anon.id, "A", 1).await),
        ErrorCode::CartCheckedOut
    );
}

async fn a_cart_of_another_store_is_not_found(env: Env) {
    env.sku("A", 100, 10).await;
    let ann = customer("ann");
    let cart = env.cart_for(&ann, &[("A", 1)]).await;
    let elsewhere = env
        .orders
        .get_cart(tonic::Request::new(GetCartRequest {
            store_id: mercato_runtime::ids::StoreId::new().to_string(),
            caller: Some(ann.clone()),
            cart_id: cart.id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(elsewhere.code(), tonic::Code::NotFound);
}
