//! Saga resume: a checkout stopped after a step (as a killed process would be) is finished by
//! the driver, exactly once, however many replicas drive.

use crate::support::*;
use mercato_orders::{OrdersDeps, OrdersService};
use mercato_runtime::time::now_ms;
use std::sync::Arc;
use tokio::sync::Notify;

local_and_grpc_tests! {
    a_checkout_stopped_after_reserving_stock_is_finished_by_the_driver_with_one_capture,
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    two_replicas_driving_a_checkout_stopped_after_authorization_capture_once,
    the_driver_started_with_the_service_resumes_a_stopped_checkout,
}

const LATER_MS: i64 = 60_000;

async fn a_checkout_stopped_after_reserving_stock_is_finished_by_the_driver_with_one_capture(env: Env) {
    env.sku("A", 900, 5).await;
    env.orders.stop_after(Some("stock_reserved"));
    let ann = customer("ann");
    let cart = env.cart_for(&ann, &[("A", 2)]).await;
    let request = env.checkout_request(&ann, &cart.id, "k1", APPROVE);
    let pending = env.checkout(request.clone()).await.unwrap().order.unwrap();
    assert_eq!(pending.status_name(), "pending");
    assert_eq!(env.kinds(&pending.id).await, ["placed", "stock_reserved"]);
    assert_eq!(env.stock("A").await, (5, 2));
    // Still running: the same key is 409 `checkout_in_progress` until the saga ends, saying
    // when the runner's lease ends (at most the lease and one driver pass away).
    let running = env.checkout(request.clone()).await.unwrap_err();
    assert_eq!(
        running.code,
        mercato_runtime::error::ErrorCode::CheckoutInProgress
    );
    let wait = running.retry_after().expect("Retry-After seconds");
    assert!((1..=16).contains(&wait), "{wait}");
    env.orders.stop_after(None);
    // The lease of the stopped runner has not run out yet: nothing to drive now.
    assert_eq!(env.orders.drive_incomplete(now_ms()).await.unwrap(), 0);
    assert_eq!(env.orders.drive_incomplete(now_ms() + LATER_MS).await.unwrap(), 1);
    let order = env.get_order(&ann, &pending.id).await.unwrap();
    assert_eq!(order.status_name(), "confirmed");
    assert_eq!(env.stock("A").await, (3, 0));
    assert_eq!(
        env.payments_count("SELECT COUNT(*) FROM provider_ledger WHERE kind = 'capture'")
            .await,
        1
    );
    assert_eq!(
        env.orders
            .drive_incomplete(now_ms() + 2 * LATER_MS)
            .await
            .unwrap(),
        0
    );
    let replay = env.checkout(request).await.unwrap();
    assert!(replay.replayed);
    assert_eq!(replay.order.unwrap().status_name(), "confirmed");
}

async fn two_replicas_driving_a_checkout_stopped_after_authorization_capture_once(env: Env) {
    env.sku("A", 900, 5).await;
    env.orders.stop_after(Some("payment_authorized"));
    let pending = env.buy("ann", &[("A", 1)], APPROVE).await;
    assert_eq!(pending.status_name(), "pending");
    env.orders.stop_after(None);
    let replica = OrdersService::new(
        env.orders_db.clone(),
        Arc::new(Notify::new()),
        OrdersDeps {
            inventory: env.inventory.clone(),
            payments: env.payments.clone(),
        },
    )
    .await
    .unwrap();
    let later = now_ms() + LATER_MS;
    let (a, b) = tokio::join!(
        env.orders.drive_incomplete(later),
        replica.drive_incomplete(later)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 1, "one replica claims the saga");
    let order = env.get_order(&staff(), &pending.id).await.unwrap();
    assert_eq!(order.status_name(), "confirmed");
    assert_eq!(
        env.payments_count("SELECT COUNT(*) FROM payment_intents").await,
        1
    );
    assert_eq!(
        env.payments_count("SELECT COUNT(*) FROM provider_ledger WHERE kind = 'capture'")
            .await,
        1
    );
    assert_eq!(env.stock("A").await, (4, 0));
}

async fn the_driver_started_with_the_service_resumes_a_stopped_checkout(env: Env) {
    env.sku("A", 900, 5).await;
    env.orders.stop_after(Some("placed"));
    let pending = env.buy("ann", &[("A", 1)], APPROVE).await;
    env.orders.stop_after(None);
    // Make the lease run out now instead of in 15 s.
    env.orders_db
        .execute("test_expire_leases", "UPDATE orders SET locked_until = 0", &[])
        .await
        .unwrap();
    let bus: mercato_runtime::bus::SharedBus = Arc::new(mercato_runtime::bus::MemoryBus::new());
    let shutdown = mercato_runtime::shutdown::Shutdown::new();
    env.orders.start(bus, shutdown.clone()).await.unwrap();
    let mut status = String::new();
    for _ in 0..100 {
        status = env
            .get_order(&staff(), &pending.id)
            .await
            .unwrap()
            .status_name()
            .to_owned();
        if status == "confirmed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    shutdown.cancel();
    assert_eq!(status, "confirmed");
}
