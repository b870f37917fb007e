//! Orders as history: state as of a time, who sees which orders, tenants, the catalog feed.

use crate::support::*;
use mercato_proto::catalog::{Money, Product, Variant};
use mercato_proto::events::ProductChanged;
use mercato_proto::orders::orders_server::Orders;
use mercato_proto::orders::*;
use mercato_runtime::bus::{MemoryBus, SharedBus};
use mercato_runtime::error::{ErrorCode, ServiceError};
use prost::Message;
use std::sync::Arc;

mercato_runtime::backend_tests! {
    setup: Env::on,
    cases: [
        the_history_as_of_a_time_gives_the_order_as_it_was_then,
        customers_see_only_their_own_orders_and_staff_see_the_whole_store,
        an_order_of_another_store_is_not_found,
        catalog_events_on_the_bus_feed_the_sku_projection_once,
    ],
}

async fn the_history_as_of_a_time_gives_the_order_as_it_was_then(env: Env) {
    env.sku("A", 1000, 10).await;
    let ann = customer("ann");
    let order = env.buy("ann", &[("A", 1)], APPROVE).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    env.orders
        .cancel_order(tonic::Request::new(CancelOrderRequest {
            store_id: env.store.to_string(),
            caller: Some(ann.clone()),
            order_id: order.id.clone(),
            idempotency_key: "c".to_owned(),
        }))
        .await
        .unwrap();
    let all = env.events(&ann, &order.id, None).await.unwrap();
    assert_eq!(all.state.as_ref().unwrap().status_name(), "cancelled");
    let sequences: Vec<i64> = all.events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (1..=all.events.len() as i64).collect::<Vec<_>>());
    let confirmed_at = all.events.iter().find(|e| kind(e) == "confirmed").unwrap().at_ms;
    let then = env.events(&ann, &order.id, Some(confirmed_at)).await.unwrap();
    assert_eq!(then.state.unwrap().status_name(), "confirmed");
    assert!(then.events.iter().all(|e| e.at_ms <= confirmed_at));
    let before = env
        .events(&ann, &order.id, Some(order.created_at_ms - 1))
        .await
        .unwrap();
    assert!(before.events.is_empty() && before.state.is_none());
    let Some(order_event::Data::Placed(placed)) = &all.events[0].data else {
        panic!("the first event is not the placement: {:?}", all.events[0]);
    };
    assert_eq!(
        (placed.total_minor, placed.lines.len()),
        (order.total_minor, order.lines.len())
    );
}

async fn list(env: &Env, caller: &Caller) -> Result<ListOrdersResponse, ServiceError> {
    env.orders
        .list_orders(tonic::Request::new(ListOrdersRequest {
            store_id: env.store.to_string(),
            caller: Some(caller.clone()),
            page: 1,
            per_page: 10,
            ..ListOrdersRequest::default()
        }))
        .await
        .map(tonic::Response::into_inner)
        .map_err(ServiceError::from)
}

async fn customers_see_only_their_own_orders_and_staff_see_the_whole_store(env: Env) {
    env.sku("A", 1000, 10).await;
    let ann_order = env.buy("ann", &[("A", 1)], APPROVE).await;
    env.buy("bob", &[("A", 1)], &card(7)).await;
    assert_eq!(
        code(env.get_order(&customer("bob"), &ann_order.id).await),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(env.events(&customer("bob"), &ann_order.id, None).await),
        ErrorCode::NotFound
    );
    assert_eq!(
        env.get_order(&customer("ann"), &ann_order.id).await.unwrap().id,
        ann_order.id
    );
    let anns = list(&env, &customer("ann")).await.unwrap();
    assert_eq!((anns.total, anns.orders.len()), (1, 1));
    assert_eq!(anns.orders[0].status_name(), "confirmed");
    assert_eq!(list(&env, &staff()).await.unwrap().total, 2);
    assert_eq!(
        code(list(&env, &Caller::default()).await),
        ErrorCode::Unauthenticated
    );
}

async fn an_order_of_another_store_is_not_found(env: Env) {
    env.sku("A", 1000, 10).await;
    let order = env.buy("ann", &[("A", 1)], APPROVE).await;
    let elsewhere = env
        .orders
        .get_order(tonic::Request::new(GetOrderRequest {
            store_id: mercato_runtime::ids::StoreId::new().to_string(),
            caller: Some(staff()),
            order_id: order.id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(elsewhere.code(), tonic::Code::NotFound);
}

async fn catalog_events_on_the_bus_feed_the_sku_projection_once(env: Env) {
    let bus: SharedBus = Arc::new(MemoryBus::new());
    let shutdown = mercato_runtime::shutdown::Shutdown::new();
    env.orders.start(bus.clone(), shutdown.clone()).await.unwrap();
    let product = Product {
        id: "p1".to_owned(),
        store_id: env.store.to_string(),
        title: "Mug".to_owned(),
        variants: vec![Variant {
            sku: "MUG".to_owned(),
            price: Some(Money {
                amount_minor: 800,
                currency: "EUR".to_owned(),
            }),
            ..Variant::default()
        }],
        version: 1,
        ..Product::default()
    };
    let event = ProductChanged {
        product: Some(product),
        ..ProductChanged::default()
    };
    let e = mercato_runtime::outbox::envelope(
        &env.store.to_string(),
        "mercato.catalog.product_created",
        1,
        &event,
    );
    // Delivered twice (at least once): processed once.
    bus.publish(&e.subject, &e.id, e.encode_to_vec().into())
        .await
        .unwrap();
    bus.publish(&e.subject, &e.id, e.encode_to_vec().into())
        .await
        .unwrap();
    let ann = customer("ann");
    let cart = env.cart_for(&ann, &[("MUG", 2)]).await;
    assert_eq!(cart.total_minor, 1600);
    assert_eq!(cart.lines[0].title, "Mug");
    assert_eq!(
        env.orders_count("SELECT COUNT(*) FROM processed_events WHERE consumer = 'orders-catalog'")
            .await,
        1
    );
    shutdown.cancel();
}
