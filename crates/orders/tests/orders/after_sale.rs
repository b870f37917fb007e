//! After the sale: cancellation and (partial) refunds restock and refund exactly once.

use crate::support::*;
use mercato_proto::orders::orders_server::Orders;
use mercato_proto::orders::*;
use mercato_runtime::error::{ErrorCode, ServiceError};

local_and_grpc_tests! {
    cancelling_a_confirmed_order_restocks_it_and_refunds_the_payment_once,
    only_a_confirmed_order_can_be_cancelled_and_only_by_someone_who_may_see_it,
    a_partial_refund_returns_the_value_of_its_lines_and_restocks_those_units,
}

async fn cancel(env: &Env, caller: &Caller, id: &str, key: &str) -> Result<Order, ServiceError> {
    env.orders
        .cancel_order(tonic::Request::new(CancelOrderRequest {
            store_id: env.store.to_string(),
            caller: Some(caller.clone()),
            order_id: id.to_owned(),
            idempotency_key: key.to_owned(),
        }))
        .await
        .map(tonic::Response::into_inner)
        .map_err(ServiceError::from)
}

async fn refund(
    env: &Env,
    caller: &Caller,
    id: &str,
    key: &str,
    lines: &[(&str, i64)],
) -> Result<Order, ServiceError> {
    env.orders
        .refund_order(tonic::Request::new(RefundOrderRequest {
            store_id: env.store.to_string(),
            caller: Some(caller.clone()),
            order_id: id.to_owned(),
            idempotency_key: key.to_owned(),
            lines: lines
                .iter()
                .map(|(sku, quantity)| RefundLine {
                    sku: (*sku).to_owned(),
                    quantity: *quantity,
                })
                .collect(),
        }))
        .await
        .map(tonic::Response::into_inner)
        .map_err(ServiceError::from)
}

async fn cancelling_a_confirmed_order_restocks_it_and_refunds_the_payment_once(env: Env) {
    env.sku("A", 1000, 10).await;
    let ann = customer("ann");
    let order = env.buy("ann", &[("A", 3)], APPROVE).await;
    assert_eq!(env.stock("A").await, (7, 0));
    let cancelled = cancel(&env, &ann, &order.id, "c1").await.unwrap();
    assert_eq!(
        (cancelled.status_name(), cancelled.refunded_minor),
        ("cancelled", 3000)
    );
    assert_eq!(env.stock("A").await, (10, 0));
    let kinds = env.kinds(&order.id).await;
    assert_eq!(
        kinds[6..],
        [
            "cancel_requested",
            "stock_restocked",
            "payment_refunded",
            "cancelled"
        ]
    );
    // Cancelling again (any key) answers the cancelled order and moves nothing.
    let again = cancel(&env, &ann, &order.id, "c2").await.unwrap();
    assert_eq!(again.status_name(), "cancelled");
    assert_eq!(env.stock("A").await, (10, 0));
    assert_eq!(
        env.payments_count("SELECT COUNT(*) FROM payment_intents WHERE refunded_minor = 3000")
            .await,
        1
    );
    assert!(
        env.outbox_subjects()
            .await
            .contains(&"mercato.orders.order_cancelled".to_owned())
    );
}

async fn only_a_confirmed_order_can_be_cancelled_and_only_by_someone_who_may_see_it(env: Env) {
    env.sku("A", 1000, 10).await;
    let failed = env.buy("ann", &[("A", 1)], DECLINE).await;
    assert_eq!(
        code(cancel(&env, &customer("ann"), &failed.id, "c").await),
        ErrorCode::OrderNotCancellable
    );
    let order = env.buy("ann", &[("A", 1)], APPROVE).await;
    assert_eq!(
        code(cancel(&env, &customer("bob"), &order.id, "c").await),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(cancel(&env, &customer("ann"), &order.id, "").await),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        cancel(&env, &staff(), &order.id, "c")
            .await
            .unwrap()
            .status_name(),
        "cancelled"
    );
}

async fn a_partial_refund_returns_the_value_of_its_lines_and_restocks_those_units(env: Env) {
    env.sku("A", 1000, 10).await;
    env.sku("B", 500, 10).await;
    let order = env.buy("ann", &[("A", 3), ("B", 1)], APPROVE).await;
    assert_eq!(order.total_minor, 3500);
    let boss = staff();
    let partial = refund(&env, &boss, &order.id, "r1", &[("A", 2)]).await.unwrap();
    assert_eq!(
        (partial.status_name(), partial.refunded_minor),
        ("partially_refunded", 2000)
    );
    assert_eq!(
        partial
            .lines
            .iter()
            .find(|l| l.sku == "A")
            .unwrap()
            .refunded_quantity,
        2
    );
    assert_eq!(env.stock("A").await, (9, 0));
    // The same key again refunds nothing more.
    let again = refund(&env, &boss, &order.id, "r1", &[("A", 2)]).await.unwrap();
    assert_eq!(again.refunded_minor, 2000);
    assert_eq!(env.stock("A").await, (9, 0));
    // More than bought less refunded is refused; so is a SKU not in the order.
    let too_many = refund(&env, &boss, &order.id, "r2", &[("A", 2)])
        .await
        .unwrap_err();
    assert_eq!(
        (too_many.code, too_many.fields[0].field.as_str()),
        (ErrorCode::ValidationFailed, "lines")
    );
    assert_eq!(
        code(refund(&env, &boss, &order.id, "r3", &[("Z", 1)]).await),
        ErrorCode::ValidationFailed
    );
    // Customers may not refund; the rest goes back with no lines named.
    assert_eq!(
        code(refund(&env, &customer("ann"), &order.id, "r4", &[]).await),
        ErrorCode::Forbidden
    );
    let rest = refund(&env, &boss, &order.id, "r5", &[]).await.unwrap();
    assert_eq!((rest.status_name(), rest.refunded_minor), ("refunded", 3500));
    assert_eq!(env.stock("A").await, (10, 0));
    assert_eq!(env.stock("B").await, (10, 0));
    assert_eq!(
        env.payments_count("SELECT COUNT(*) FROM payment_refunds").await,
        2,
        "one provider refund per key"
    );
    assert_eq!(
        code(refund(&env, &boss, &order.id, "r6", &[]).await),
        ErrorCode::OrderNotRefundable
    );
}
