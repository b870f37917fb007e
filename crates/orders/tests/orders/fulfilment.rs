//! After the sale, through the contract: order numbers, fulfilments with tracking, and returns
//! that refund and restock exactly what they should, once, however often they are retried.

use crate::support::*;
use mercato_proto::inventory::AdjustStockRequest;
use mercato_proto::orders::orders_server::Orders;
use mercato_proto::orders::*;
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::time::now_ms;

local_and_grpc_tests! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    order_numbers_are_consecutive_per_store_and_taken_once_by_concurrent_checkouts,
    a_partial_fulfilment_with_tracking_is_shipped_then_delivered_each_step_in_the_history,
    only_a_confirmed_order_is_fulfilled_and_never_beyond_what_is_owed,
    a_received_return_refunds_exactly_its_lines_and_restocks_its_sellable_units_once,
    a_return_interrupted_after_its_refund_is_finished_by_the_driver_without_restocking_twice,
    a_partial_refund_restock_repeated_after_a_crash_puts_its_units_back_once,
}

fn items(lines: &[(&str, i64)]) -> Vec<ItemQuantity> {
    lines
        .iter()
        .map(|(sku, quantity)| ItemQuantity {
            sku: (*sku).to_owned(),
            quantity: *quantity,
        })
        .collect()
}

async fn fulfil(
    env: &Env,
    caller: &Caller,
    order: &str,
    key: &str,
    lines: &[(&str, i64)],
) -> Result<Order, ServiceError> {
    let req = CreateFulfilmentRequest {
        store_id: env.store.to_string(),
        caller: Some(caller.clone()),
        order_id: order.to_owned(),
        idempotency_key: key.to_owned(),
        lines: items(lines),
        carrier: "DHL".to_owned(),
        tracking_number: "JD0146".to_owned(),
        tracking_url: "https://track.example/JD0146".to_owned(),
        ..CreateFulfilmentRequest::default()
    };
    env.call(|o| async move { o.create_fulfilment(tonic::Request::new(req)).await })
        .await
}

async fn move_fulfilment(
    env: &Env,
    order: &str,
    fulfilment: &str,
    status: ShipmentStatus,
) -> Result<Order, ServiceError> {
    let req = UpdateFulfilmentRequest {
        store_id: env.store.to_string(),
        caller: Some(staff()),
        order_id: order.to_owned(),
        fulfilment_id: fulfilment.to_owned(),
        status: status.into(),
        ..UpdateFulfilmentRequest::default()
    };
    env.call(|o| async move { o.update_fulfilment(tonic::Request::new(req)).await })
        .await
}

async fn request_return(
    env: &Env,
    caller: &Caller,
    order: &str,
    key: &str,
    lines: &[(&str, i64)],
) -> Result<Order, ServiceError> {
    let req = RequestReturnRequest {
        store_id: env.store.to_string(),
        caller: Some(caller.clone()),
        order_id: order.to_owned(),
        idempotency_key: key.to_owned(),
        lines: items(lines),
        reason: "too small".to_owned(),
    };
    env.call(|o| async move { o.request_return(tonic::Request::new(req)).await })
        .await
}

async fn receive(
    env: &Env,
    order: &str,
    return_id: &str,
    lines: &[(&str, i64, bool)],
) -> Result<Order, ServiceError> {
    let req = ReceiveReturnRequest {
        store_id: env.store.to_string(),
        caller: Some(staff()),
        order_id: order.to_owned(),
        return_id: return_id.to_owned(),
        lines: lines
            .iter()
            .map(|(sku, quantity, sellable)| ReturnLine {
                sku: (*sku).to_owned(),
                quantity: *quantity,
                sellable: *sellable,
            })
            .collect(),
    };
    env.call(|o| async move { o.receive_return(tonic::Request::new(req)).await })
        .await
}

fn line<'a>(order: &'a Order, sku: &str) -> &'a OrderLine {
    order.lines.iter().find(|l| l.sku == sku).unwrap()
}

async fn refunds(env: &Env) -> i64 {
    env.payments_count("SELECT COUNT(*) FROM provider_ledger WHERE kind = 'refund'")
        .await
}

async fn order_numbers_are_consecutive_per_store_and_taken_once_by_concurrent_checkouts(env: Env) {
    env.sku("A", 100, 100).await;
    let env = std::sync::Arc::new(env);
    let mut buyers = Vec::new();
    for i in 0..8 {
        let env = env.clone();
        buyers.push(tokio::spawn(async move {
            env.buy(&format!("buyer-{i}"), &[("A", 1)], &card(i)).await.number
        }));
    }
    let mut numbers = Vec::new();
    for b in buyers {
        numbers.push(b.await.unwrap());
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1001..=1008).collect::<Vec<_>>());
    let order = env.buy("later", &[("A", 1)], &card(9)).await;
    assert_eq!(order.number, 1009);
    // The number is in the history: read back, and as it was placed.
    assert_eq!(env.get_order(&staff(), &order.id).await.unwrap().number, 1009);
    let placed = env.events(&staff(), &order.id, Some(order.created_at_ms)).await;
    assert_eq!(placed.unwrap().state.unwrap().number, 1009);
    assert_eq!(
        order.email, "buyer@example.com",
        "the checkout e-mail, lower-cased"
    );
}

async fn a_partial_fulfilment_with_tracking_is_shipped_then_delivered_each_step_in_the_history(env: Env) {
    env.sku("A", 500, 10).await;
    env.sku("B", 1200, 10).await;
    let order = env.buy("ann", &[("A", 2), ("B", 1)], APPROVE).await;
    assert_eq!(
        mercato_proto::names::fulfilment_status(order.fulfilment_status()),
        "unfulfilled"
    );
    let sent = fulfil(&env, &staff(), &order.id, "f1", &[("A", 1)])
        .await
        .unwrap();
    assert_eq!(
        mercato_proto::names::fulfilment_status(sent.fulfilment_status()),
        "partially_fulfilled"
    );
    let f = &sent.fulfilments[0];
    assert_eq!(
        (
            f.location.as_str(),
            f.carrier.as_str(),
            f.tracking_number.as_str()
        ),
        ("default", "DHL", "JD0146")
    );
    assert_eq!(line(&sent, "A").fulfilled_quantity, 1);
    // The same key again sends nothing more.
    let again = fulfil(&env, &staff(), &order.id, "f1", &[("A", 1)])
        .await
        .unwrap();
    assert_eq!(again.fulfilments.len(), 1);
    // The customer sees the tracking on their order.
    let seen = env.get_order(&customer("ann"), &order.id).await.unwrap();
    assert_eq!(seen.fulfilments[0].tracking_url, "https://track.example/JD0146");

    let shipped = move_fulfilment(&env, &order.id, &f.id, ShipmentStatus::Shipped)
        .await
        .unwrap();
    assert_eq!(shipped.fulfilments[0].status(), ShipmentStatus::Shipped);
    let delivered = move_fulfilment(&env, &order.id, &f.id, ShipmentStatus::Delivered)
        .await
        .unwrap();
    assert_eq!(delivered.fulfilments[0].status(), ShipmentStatus::Delivered);
    // Shipped again after delivery changes nothing.
    let unchanged = move_fulfilment(&env, &order.id, &f.id, ShipmentStatus::Shipped)
        .await
        .unwrap();
    assert_eq!(unchanged.version, delivered.version);

    let rest = fulfil(&env, &staff(), &order.id, "f2", &[]).await.unwrap();
    assert_eq!(
        mercato_proto::names::fulfilment_status(rest.fulfilment_status()),
        "fulfilled"
    );
    let f2 = rest.fulfilments[1].id.clone();
    move_fulfilment(&env, &order.id, &f2, ShipmentStatus::Delivered)
        .await
        .unwrap();
    let done = env.get_order(&staff(), &order.id).await.unwrap();
    assert_eq!(
        mercato_proto::names::fulfilment_status(done.fulfilment_status()),
        "delivered"
    );
    assert_eq!(done.status_name(), "confirmed", "the payment status is its own");
    let kinds = env.kinds(&order.id).await;
    assert_eq!(
        kinds[6..],
        [
            "fulfilment_created",
            "fulfilment_shipped",
            "fulfilment_delivered",
            "fulfilment_created",
            "fulfilment_delivered"
        ]
    );
    let subjects = env.outbox_subjects().await;
    for subject in ["fulfilment_created", "fulfilment_shipped", "fulfilment_delivered"] {
        assert!(
            subjects.contains(&format!("mercato.orders.{subject}")),
            "{subject}: {subjects:?}"
        );
    }
    // Sent units cannot be cancelled away: they are returned.
    let cancel = env
        .call(|o| async move {
            o.cancel_order(tonic::Request::new(CancelOrderRequest {
                store_id: env.store.to_string(),
                caller: Some(staff()),
                order_id: order.id.clone(),
                idempotency_key: "c1".into(),
            }))
            .await
        })
        .await;
    assert_eq!(code(cancel), ErrorCode::OrderNotCancellable);
}

async fn only_a_confirmed_order_is_fulfilled_and_never_beyond_what_is_owed(env: Env) {
    env.sku("A", 500, 1).await;
    let order = env.buy("ann", &[("A", 1)], APPROVE).await;
    let failed = env.buy("bob", &[("A", 1)], APPROVE).await;
    assert_eq!(failed.status_name(), "failed", "out of stock");
    assert_eq!(
        code(fulfil(&env, &staff(), &failed.id, "f", &[]).await),
        ErrorCode::OrderNotFulfillable
    );
    assert_eq!(
        code(fulfil(&env, &customer("ann"), &order.id, "f", &[]).await),
        ErrorCode::Forbidden
    );
    let too_many = fulfil(&env, &staff(), &order.id, "f", &[("A", 2)])
        .await
        .unwrap_err();
    assert_eq!(too_many.code, ErrorCode::ValidationFailed);
    assert_eq!(too_many.fields[0].field, "lines[0].quantity");
    assert_eq!(
        code(fulfil(&env, &staff(), &order.id, "f", &[("NOPE", 1)]).await),
        ErrorCode::ValidationFailed
    );
    fulfil(&env, &staff(), &order.id, "f", &[]).await.unwrap();
    assert_eq!(
        code(fulfil(&env, &staff(), &order.id, "f-again", &[]).await),
        ErrorCode::OrderNotFulfillable,
        "every unit was sent"
    );
    // Another store's staff cannot find it.
    let elsewhere = CreateFulfilmentRequest {
        store_id: mercato_runtime::ids::StoreId::new().to_string(),
        caller: Some(staff()),
        order_id: order.id.clone(),
        idempotency_key: "x".into(),
        ..CreateFulfilmentRequest::default()
    };
    let answer = env
        .call(|o| async move { o.create_fulfilment(tonic::Request::new(elsewhere)).await })
        .await;
    assert_eq!(code(answer), ErrorCode::NotFound);
    assert_eq!(
        code(request_return(&env, &customer("bob"), &order.id, "r", &[]).await),
        ErrorCode::NotFound,
        "another customer's order"
    );
}

async fn a_received_return_refunds_exactly_its_lines_and_restocks_its_sellable_units_once(env: Env) {
    env.sku("A", 500, 10).await;
    env.sku("B", 1200, 10).await;
    let ann = customer("ann");
    let order = env.buy("ann", &[("A", 2), ("B", 1)], APPROVE).await;
    assert_eq!(
        code(request_return(&env, &ann, &order.id, "r0", &[("A", 1)]).await),
        ErrorCode::ValidationFailed,
        "nothing was sent yet"
    );
    fulfil(&env, &staff(), &order.id, "f1", &[]).await.unwrap();
    assert_eq!(env.stock("A").await, (8, 0));
    let requested = request_return(&env, &ann, &order.id, "r1", &[("A", 2)])
        .await
        .unwrap();
    let ret = requested.returns[0].clone();
    assert!(ret.requested_by_customer);
    assert_eq!(ret.status(), ReturnStatus::Requested);
    // The same key again answers the same return; more than was sent is refused.
    let again = request_return(&env, &ann, &order.id, "r1", &[("A", 2)])
        .await
        .unwrap();
    assert_eq!(again.returns.len(), 1);
    assert_eq!(
        code(request_return(&env, &ann, &order.id, "r2", &[("A", 1)]).await),
        ErrorCode::ValidationFailed,
        "both units are in the first return"
    );
    let not_staff = ReceiveReturnRequest {
        store_id: env.store.to_string(),
        caller: Some(ann.clone()),
        order_id: order.id.clone(),
        return_id: ret.id.clone(),
        lines: vec![],
    };
    let answer = env
        .call(|o| async move { o.receive_return(tonic::Request::new(not_staff)).await })
        .await;
    assert_eq!(code(answer), ErrorCode::Forbidden);
    let (before, refunded_before) = (env.stock("A").await, refunds(&env).await);
    // One unit comes back sellable, the other damaged.
    let split = [("A", 1, true), ("A", 1, false)];
    let received = receive(&env, &order.id, &ret.id, &split).await.unwrap();
    assert_eq!(received.returns[0].status(), ReturnStatus::Completed);
    assert_eq!(received.returns[0].refund_minor, 1000);
    assert_eq!(
        received.refunded_minor, 1000,
        "exactly the returned line's amount"
    );
    assert_eq!(received.status_name(), "partially_refunded");
    assert_eq!(
        (
            line(&received, "A").returned_quantity,
            line(&received, "A").refunded_quantity
        ),
        (2, 2)
    );
    assert_eq!(env.stock("A").await, (before.0 + 1, 0), "only the sellable unit");
    assert_eq!(refunds(&env).await, refunded_before + 1);
    // Retried: nothing changes; with other lines: refused.
    for _ in 0..2 {
        let again = receive(&env, &order.id, &ret.id, &split).await.unwrap();
        assert_eq!(again.version, received.version);
    }
    let retry_all = receive(&env, &order.id, &ret.id, &[]).await.unwrap();
    assert_eq!(retry_all.version, received.version);
    assert_eq!(
        code(receive(&env, &order.id, &ret.id, &[("A", 2, true)]).await),
        ErrorCode::ReturnStatusConflict
    );
    assert_eq!(env.stock("A").await, (before.0 + 1, 0));
    assert_eq!(refunds(&env).await, refunded_before + 1);
    let kinds = env.kinds(&order.id).await;
    assert_eq!(
        kinds[kinds.len() - 4..],
        [
            "return_received",
            "payment_refunded",
            "stock_restocked",
            "return_completed"
        ]
    );
    let subjects = env.outbox_subjects().await;
    assert!(subjects.contains(&"mercato.orders.return_requested".to_owned()));
    assert!(subjects.contains(&"mercato.orders.return_received".to_owned()));
    assert!(subjects.contains(&"mercato.orders.order_refunded".to_owned()));
    // B was sent and can still be returned; a rejected return frees its units.
    let second = request_return(&env, &staff(), &order.id, "r3", &[("B", 1)])
        .await
        .unwrap();
    let second_id = second.returns[1].id.clone();
    assert!(!second.returns[1].requested_by_customer);
    let decide = |approve: bool| DecideReturnRequest {
        store_id: env.store.to_string(),
        caller: Some(staff()),
        order_id: order.id.clone(),
        return_id: second_id.clone(),
        approve,
    };
    let (reject, approve) = (decide(false), decide(true));
    let rejected = env
        .call(|o| async move { o.decide_return(tonic::Request::new(reject)).await })
        .await
        .unwrap();
    assert_eq!(rejected.returns[1].status(), ReturnStatus::Rejected);
    let late = env
        .call(|o| async move { o.decide_return(tonic::Request::new(approve)).await })
        .await;
    assert_eq!(code(late), ErrorCode::ReturnStatusConflict);
    assert_eq!(
        code(receive(&env, &order.id, &second_id, &[]).await),
        ErrorCode::ReturnStatusConflict
    );
    request_return(&env, &ann, &order.id, "r4", &[("B", 1)])
        .await
        .unwrap();
}

async fn a_return_interrupted_after_its_refund_is_finished_by_the_driver_without_restocking_twice(env: Env) {
    env.sku("A", 700, 10).await;
    let order = env.buy("ann", &[("A", 3)], APPROVE).await;
    fulfil(&env, &staff(), &order.id, "f1", &[]).await.unwrap();
    let ret = request_return(&env, &customer("ann"), &order.id, "r1", &[("A", 2)])
        .await
        .unwrap()
        .returns[0]
        .id
        .clone();
    assert_eq!(env.stock("A").await, (7, 0));
    // The process dies right after the refund is recorded.
    env.orders.stop_after(Some("payment_refunded"));
    let stopped = receive(&env, &order.id, &ret, &[]).await.unwrap();
    assert_eq!(stopped.returns[0].status(), ReturnStatus::Received);
    assert_eq!(env.stock("A").await, (7, 0));
    // And it had already put the units back, without recording it: the restock step will run
    // again, with the same key.
    env.inventory
        .adjust_stock(AdjustStockRequest {
            store_id: env.store.to_string(),
            sku: "A".into(),
            location: "default".into(),
            delta: 2,
            reason: "restocked before the crash".into(),
            idempotency_key: format!("return:{}:{ret}:A:default", order.id),
        })
        .await
        .unwrap();
    env.orders.stop_after(None);
    // A retried receipt while the saga runs under its lease waits for it.
    assert_eq!(env.orders.drive_incomplete(now_ms() + 60_000).await.unwrap(), 1);
    let done = env.get_order(&staff(), &order.id).await.unwrap();
    assert_eq!(done.returns[0].status(), ReturnStatus::Completed);
    assert_eq!(done.refunded_minor, 1400);
    assert_eq!(env.stock("A").await, (9, 0), "two units back, once");
    assert_eq!(refunds(&env).await, 1);
    let again = receive(&env, &order.id, &ret, &[]).await.unwrap();
    assert_eq!(again.version, done.version);
    assert_eq!((env.stock("A").await, refunds(&env).await), ((9, 0), 1));
}

async fn a_partial_refund_restock_repeated_after_a_crash_puts_its_units_back_once(env: Env) {
    env.sku("A", 400, 10).await;
    let order = env.buy("ann", &[("A", 4)], APPROVE).await;
    env.orders.stop_after(Some("payment_refunded"));
    let req = RefundOrderRequest {
        store_id: env.store.to_string(),
        caller: Some(staff()),
        order_id: order.id.clone(),
        idempotency_key: "refund-1".into(),
        lines: vec![RefundLine {
            sku: "A".into(),
            quantity: 1,
        }],
    };
    let stopped = env
        .call(|o| async move { o.refund_order(tonic::Request::new(req)).await })
        .await
        .unwrap();
    assert_eq!(stopped.refunded_minor, 400);
    assert_eq!(env.stock("A").await, (6, 0));
    // The restock had reached inventory before the crash (under the key the step uses).
    env.inventory
        .adjust_stock(AdjustStockRequest {
            store_id: env.store.to_string(),
            sku: "A".into(),
            location: "default".into(),
            delta: 1,
            reason: "refund before the crash".into(),
            idempotency_key: format!("refund:{}:refund-1:A:default", order.id),
        })
        .await
        .unwrap();
    env.orders.stop_after(None);
    assert_eq!(env.orders.drive_incomplete(now_ms() + 60_000).await.unwrap(), 1);
    let done = env.get_order(&staff(), &order.id).await.unwrap();
    assert_eq!(done.status_name(), "partially_refunded");
    assert_eq!(env.stock("A").await, (7, 0), "the refunded unit is back once");
}
