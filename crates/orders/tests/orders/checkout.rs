//! Checkout: the happy path, out of stock, a declined card, idempotency keys, and the payment
//! method a checkout names instead of a card.

use crate::support::*;
use mercato_runtime::error::ErrorCode;

local_and_grpc_tests! {
    a_checkout_commits_the_stock_captures_the_payment_and_records_every_step,
    a_checkout_beyond_the_stock_fails_out_of_stock_and_charges_nothing,
    a_declined_card_releases_the_reserved_stock_and_fails_payment_declined,
    a_checkout_needs_a_key_the_carts_owner_and_something_in_the_cart,
    the_same_key_replays_the_first_answer_and_the_same_key_with_another_body_is_refused,
    a_key_is_forgotten_after_twenty_four_hours,
    a_checkout_names_a_payment_method_of_its_store_and_never_a_card_number,
}

const HAPPY: &[&str] = &[
    "placed",
    "stock_reserved",
    "payment_authorized",
    "stock_committed",
    "payment_captured",
    "confirmed",
];

async fn a_checkout_commits_the_stock_captures_the_payment_and_records_every_step(env: Env) {
    env.sku("A", 1250, 10).await;
    let ann = customer("ann");
    let cart = env.cart_for(&ann, &[("A", 2)]).await;
    let answer = env
        .checkout(env.checkout_request(&ann, &cart.id, "k1", APPROVE))
        .await
        .unwrap();
    assert!(!answer.replayed);
    let order = answer.order.unwrap();
    assert_eq!((order.status_name(), order.total_minor), ("confirmed", 2500));
    assert_eq!(order.customer_id, "ann");
    assert!(!order.payment_intent_id.is_empty());
    assert_eq!(env.stock("A").await, (8, 0));
    let captured = env
        .payments_count(
            "SELECT COUNT(*) FROM payment_intents WHERE status = 'captured' AND captured_minor = 2500",
        )
        .await;
    assert_eq!(captured, 1);
    assert_eq!(env.kinds(&order.id).await, HAPPY);
    let subjects = env.outbox_subjects().await;
    assert_eq!(
        subjects,
        [
            "mercato.orders.cart_started",
            "mercato.orders.order_placed",
            "mercato.orders.checkout_started",
            "mercato.orders.order_confirmed"
        ]
    );
    assert_eq!(
        env.get_cart(&ann, &cart.id).await.unwrap().status_name(),
        "checked_out"
    );
    // Card details do not outlive the saga.
    let kept = env
        .orders_count("SELECT COUNT(*) FROM orders WHERE payment_json <> ''")
        .await;
    assert_eq!(kept, 0);
}

async fn a_checkout_beyond_the_stock_fails_out_of_stock_and_charges_nothing(env: Env) {
    env.sku("A", 100, 1).await;
    let ann = customer("ann");
    let cart = env.cart_for(&ann, &[("A", 2)]).await;
    let order = env
        .checkout(env.checkout_request(&ann, &cart.id, "k1", APPROVE))
        .await
        .unwrap()
        .order
        .unwrap();
    assert_eq!(
        (order.status_name(), order.failure_name()),
        ("failed", "out_of_stock")
    );
    assert_eq!(
        env.kinds(&order.id).await,
        ["placed", "stock_unavailable", "failed"]
    );
    assert_eq!(env.stock("A").await, (1, 0));
    assert_eq!(
        env.payments_count("SELECT COUNT(*) FROM payment_intents").await,
        0
    );
    // The cart is open again, to change and retry.
    assert_eq!(env.get_cart(&ann, &cart.id).await.unwrap().status_name(), "open");
    assert!(
        env.outbox_subjects()
            .await
            .contains(&"mercato.orders.order_failed".to_owned())
    );
}

async fn a_declined_card_releases_the_reserved_stock_and_fails_payment_declined(env: Env) {
    env.sku("A", 100, 5).await;
    let order = env.buy("ann", &[("A", 2)], DECLINE).await;
    assert_eq!(
        (order.status_name(), order.failure_name()),
        ("failed", "payment_declined")
    );
    assert_eq!(env.stock("A").await, (5, 0));
    assert_eq!(
        env.kinds(&order.id).await,
        [
            "placed",
            "stock_reserved",
            "payment_declined",
            "stock_released",
            "failed"
        ]
    );
    assert_eq!(
        env.payments_count("SELECT COUNT(*) FROM payment_intents WHERE status = 'declined'")
            .await,
        1
    );
    assert_eq!(
        env.payments_count("SELECT COUNT(*) FROM payment_intents WHERE captured_minor > 0")
            .await,
        0
    );
}

async fn a_checkout_needs_a_key_the_carts_owner_and_something_in_the_cart(env: Env) {
    env.sku("A", 100, 5).await;
    let ann = customer("ann");
    let cart = env.cart_for(&ann, &[("A", 1)]).await;
    let no_key = env
        .checkout(env.checkout_request(&ann, &cart.id, " ", APPROVE))
        .await;
    assert_eq!(code(no_key), ErrorCode::InvalidRequest);
    let bob = customer("bob");
    let stranger = env
        .checkout(env.checkout_request(&bob, &cart.id, "k", APPROVE))
        .await;
    assert_eq!(code(stranger), ErrorCode::NotFound);
    let empty = env.cart_for(&ann, &[]).await;
    let nothing = env
        .checkout(env.checkout_request(&ann, &empty.id, "k2", APPROVE))
        .await;
    assert_eq!(code(nothing), ErrorCode::ValidationFailed);
    assert_eq!(env.orders_count("SELECT COUNT(*) FROM orders").await, 0);
}

async fn the_same_key_replays_the_first_answer_and_the_same_key_with_another_body_is_refused(env: Env) {
    env.sku("A", 100, 5).await;
    let ann = customer("ann");
    let cart = env.cart_for(&ann, &[("A", 1)]).await;
    let request = env.checkout_request(&ann, &cart.id, "k1", APPROVE);
    let first = env.checkout(request.clone()).await.unwrap();
    let again = env.checkout(request.clone()).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.order, first.order);
    let mut other = request.clone();
    other.request_hash = "another body".to_owned();
    let refused = env.checkout(other).await.unwrap_err();
    assert_eq!(
        (refused.code, refused.fields[0].field.as_str()),
        (ErrorCode::ValidationFailed, "idempotency_key")
    );
    assert_eq!(env.orders_count("SELECT COUNT(*) FROM orders").await, 1);
    assert_eq!(
        env.payments_count("SELECT COUNT(*) FROM payment_intents").await,
        1
    );
}

async fn a_key_is_forgotten_after_twenty_four_hours(env: Env) {
    env.sku("A", 100, 5).await;
    let ann = customer("ann");
    let cart = env.cart_for(&ann, &[("A", 1)]).await;
    env.checkout(env.checkout_request(&ann, &cart.id, "k1", APPROVE))
        .await
        .unwrap();
    let day_ago = mercato_runtime::time::now_ms() - 24 * 3600 * 1000 - 1;
    env.orders_db
        .execute(
            "test_age_idempotency_keys",
            "UPDATE idempotency_keys SET created_at = $1",
            &[&day_ago],
        )
        .await
        .unwrap();
    let next = env.cart_for(&ann, &[("A", 1)]).await;
    let answer = env
        .checkout(env.checkout_request(&ann, &next.id, "k1", APPROVE))
        .await
        .unwrap();
    assert!(!answer.replayed);
    assert_eq!(answer.order.unwrap().status_name(), "confirmed");
    assert_eq!(env.orders_count("SELECT COUNT(*) FROM orders").await, 2);
}

async fn a_checkout_names_a_payment_method_of_its_store_and_never_a_card_number(env: Env) {
    env.sku("A", 100, 5).await;
    let ann = customer("ann");
    let cart = env.cart_for(&ann, &[("A", 1)]).await;
    // A card number where the payment method belongs: refused before anything is reserved.
    let number = env.checkout_request(&ann, &cart.id, "k1", APPROVE);
    let refused = env.checkout_as_sent(number).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::ValidationFailed);
    assert_eq!(refused.fields[0].field, "payment.payment_method");
    assert_eq!(env.orders_count("SELECT COUNT(*) FROM orders").await, 0);
    // A well-formed id no payment method of this store has: the authorization refuses it, the
    // saga gives the stock back, and the order fails as `payment_invalid`.
    let unknown = format!("pm_{}", "0".repeat(32));
    let order = env
        .checkout_as_sent(env.checkout_request(&ann, &cart.id, "k2", &unknown))
        .await
        .unwrap()
        .order
        .unwrap();
    assert_eq!(
        (order.status_name(), order.failure_name()),
        ("failed", "payment_invalid")
    );
    assert_eq!(env.stock("A").await, (5, 0));
    // The cart is still open: paid with a payment method of the store, it goes through.
    let method = env.tokenize(APPROVE).await.unwrap();
    let request = env.checkout_request(&ann, &cart.id, "k3", &method);
    let paid = env.checkout_as_sent(request).await.unwrap().order.unwrap();
    assert_eq!(paid.status_name(), "confirmed");
}
