//! The funnel's events: `cart_started` once per cart, with the write that gives it its first
//! line (emptied and refilled, or merged into a customer's cart, it does not start again), and
//! `checkout_started` with the order that a checkout places from a cart, which keeps the cart.

use crate::support::*;
use mercato_proto::events::{CartStarted, CheckoutStarted, EventEnvelope};
use mercato_proto::orders::orders_server::Orders;
use mercato_proto::orders::*;
use prost::Message;

mercato_runtime::backend_tests! {
    setup: Env::on,
    cases: [
        a_cart_starts_once_with_its_first_line_however_often_it_is_emptied_and_refilled,
        a_merged_cart_starts_once_for_the_shopper,
        placing_an_order_records_checkout_started_and_the_order_keeps_its_cart,
    ],
}

/// The orders outbox's envelopes under `subject`, oldest first.
async fn outbox(env: &Env, subject: &str) -> Vec<EventEnvelope> {
    let all = mercato_runtime::testing::outbox_events(&env.orders_db).await;
    all.into_iter().filter(|e| e.subject == subject).collect()
}

async fn started(env: &Env) -> Vec<CartStarted> {
    let envelopes = outbox(env, "mercato.orders.cart_started").await;
    envelopes
        .iter()
        .map(|e| {
            assert_eq!(
                (e.store_id.as_str(), e.version),
                (env.store.to_string().as_str(), 1)
            );
            CartStarted::decode(e.payload.as_slice()).unwrap()
        })
        .collect()
}

async fn a_cart_starts_once_with_its_first_line_however_often_it_is_emptied_and_refilled(env: Env) {
    env.sku("A", 100, 10).await;
    env.sku("B", 200, 10).await;
    let ann = customer("ann");
    let cart = env.cart_for(&ann, &[]).await;
    assert!(started(&env).await.is_empty(), "an empty cart has not started");
    env.add(&ann, &cart.id, "A", 1).await.unwrap();
    env.add(&ann, &cart.id, "B", 1).await.unwrap();
    env.set(&ann, &cart.id, "A", 0).await.unwrap();
    env.set(&ann, &cart.id, "B", 0).await.unwrap();
    env.add(&ann, &cart.id, "A", 2).await.unwrap();
    let events = started(&env).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0].cart_id.as_str(), events[0].customer_id.as_str()),
        (cart.id.as_str(), "ann")
    );

    // An anonymous cart starts with no customer.
    let anon = env.cart_for(&anonymous(""), &[]).await;
    env.add(&anonymous(&anon.cart_token), &anon.id, "A", 1)
        .await
        .unwrap();
    let events = started(&env).await;
    assert_eq!(events.len(), 2);
    assert_eq!(
        (events[1].cart_id.as_str(), events[1].customer_id.as_str()),
        (anon.id.as_str(), "")
    );
}

async fn a_merged_cart_starts_once_for_the_shopper(env: Env) {
    env.sku("A", 100, 10).await;
    let anon = env.cart_for(&anonymous(""), &[]).await;
    let holder = anonymous(&anon.cart_token);
    env.add(&holder, &anon.id, "A", 1).await.unwrap();
    let ann = customer("ann");
    let merged = env
        .orders
        .merge_cart(tonic::Request::new(MergeCartRequest {
            store_id: env.store.to_string(),
            caller: Some(ann.clone()),
            anonymous_cart_id: anon.id.clone(),
            anonymous_cart_token: anon.cart_token.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(merged.id, anon.id, "ann had no cart: the merge made one");
    env.add(&ann, &merged.id, "A", 1).await.unwrap();
    let events = started(&env).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].cart_id, anon.id);
}

async fn placing_an_order_records_checkout_started_and_the_order_keeps_its_cart(env: Env) {
    env.sku("A", 1000, 10).await;
    let ann = customer("ann");
    let cart = env.cart_for(&ann, &[("A", 1)]).await;
    let req = env.checkout_request(&ann, &cart.id, "k-1", APPROVE);
    let order = env.checkout(req).await.unwrap().order.unwrap();
    assert_eq!(order.cart_id, cart.id);
    assert_eq!(env.get_order(&ann, &order.id).await.unwrap().cart_id, cart.id);
    let history = env.events(&staff(), &order.id, None).await.unwrap();
    assert_eq!(history.state.unwrap().cart_id, cart.id);

    let checkouts = outbox(&env, "mercato.orders.checkout_started").await;
    assert_eq!(checkouts.len(), 1);
    let event = CheckoutStarted::decode(checkouts[0].payload.as_slice()).unwrap();
    assert_eq!(
        (
            event.cart_id.as_str(),
            event.order_id.as_str(),
            event.customer_id.as_str()
        ),
        (cart.id.as_str(), order.id.as_str(), "ann")
    );
    // A declined checkout is an attempt too: the reopened cart's next checkout is another.
    let declined_cart = env.cart_for(&ann, &[("A", 1)]).await;
    let declined = env
        .checkout(env.checkout_request(&ann, &declined_cart.id, "k-2", DECLINE))
        .await
        .unwrap()
        .order
        .unwrap();
    assert_eq!(declined.status_name(), "failed");
    let retried = env
        .checkout(env.checkout_request(&ann, &declined_cart.id, "k-3", APPROVE))
        .await
        .unwrap()
        .order
        .unwrap();
    assert_eq!(retried.cart_id, declined_cart.id);
    assert_eq!(outbox(&env, "mercato.orders.checkout_started").await.len(), 3);
    assert_eq!(
        started(&env).await.len(),
        2,
        "a cart checked out again does not start again"
    );
}
