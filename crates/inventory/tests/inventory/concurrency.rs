//! Stock under concurrency: never negative, never oversold, no deadlocks, expiry once.

use crate::support::{Inventory, rid};
use futures::future::join_all;
use mercato_runtime::error::ErrorCode;
use mercato_runtime::ids::StoreId;
use mercato_runtime::time::now_ms;
use std::sync::Arc;

mercato_runtime::backend_tests! {
    setup: Inventory::on,
    cases: [
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        two_hundred_concurrent_reservations_of_one_unit_against_fifty_hold_exactly_fifty,
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        reservations_taking_skus_in_opposite_orders_neither_deadlock_nor_oversell,
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        concurrent_commits_and_releases_of_one_reservation_apply_only_one,
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        concurrent_expiry_runs_in_several_replicas_expire_each_reservation_once,
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        the_same_reservation_sent_concurrently_is_held_once_and_every_caller_gets_it,
    ],
}

async fn two_hundred_concurrent_reservations_of_one_unit_against_fifty_hold_exactly_fifty(inv: Inventory) {
    let inv = Arc::new(inv);
    let store = StoreId::new();
    inv.set(&store, "HOT", "", 50).await;
    let tasks = (0..200).map(|_| {
        let inv = inv.clone();
        tokio::spawn(async move { inv.reserve(&store, &rid(), &[("HOT", 1)], 0).await })
    });
    let results: Vec<_> = join_all(tasks).await.into_iter().map(|r| r.unwrap()).collect();
    let held = results.iter().filter(|r| r.is_ok()).count();
    let conflicts = results
        .iter()
        .filter(|r| r.as_ref().is_err_and(|e| e.code == ErrorCode::OutOfStock))
        .count();
    let others: Vec<_> = results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .filter(|e| e.code != ErrorCode::OutOfStock)
        .collect();
    assert!(others.is_empty(), "every failure is out of stock: {others:?}");
    assert_eq!((held, conflicts), (50, 150));
    let level = inv.level(&store, "HOT", "default").await;
    assert_eq!((level.on_hand, level.reserved, level.available), (50, 50, 0));
    assert_eq!(inv.count("SELECT COUNT(*) FROM reservations").await, 50);
    assert_eq!(inv.broken_rows().await, 0);
}

async fn reservations_taking_skus_in_opposite_orders_neither_deadlock_nor_oversell(inv: Inventory) {
    let inv = Arc::new(inv);
    let store = StoreId::new();
    for sku in ["A", "B"] {
        inv.set(&store, sku, "", 30).await;
        inv.set(&store, sku, "spare", 10).await;
    }
    let tasks = (0..60).map(|i| {
        let inv = inv.clone();
        let lines: &[(&str, i64)] = if i % 2 == 0 {
            &[("A", 1), ("B", 1)]
        } else {
            &[("B", 1), ("A", 1)]
        };
        tokio::spawn(async move { inv.reserve(&store, &rid(), lines, 0).await })
    });
    let results: Vec<_> = join_all(tasks).await.into_iter().map(|r| r.unwrap()).collect();
    let failures: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failures.iter().all(|e| e.code == ErrorCode::OutOfStock),
        "no deadlock or busy error: {failures:?}"
    );
    let held = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(held, 40, "40 units of each SKU");
    for sku in ["A", "B"] {
        let levels = inv.get(&store, sku).await.unwrap();
        assert_eq!(levels.available_total, 0);
    }
    assert_eq!(inv.broken_rows().await, 0);
}

async fn concurrent_commits_and_releases_of_one_reservation_apply_only_one(inv: Inventory) {
    let inv = Arc::new(inv);
    let store = StoreId::new();
    inv.set(&store, "A", "", 10).await;
    let id = rid();
    inv.reserve(&store, &id, &[("A", 4)], 0).await.unwrap();
    let tasks = (0..20).map(|i| {
        let (inv, id) = (inv.clone(), id.clone());
        tokio::spawn(async move {
            if i % 2 == 0 {
                inv.commit(&store, &id).await
            } else {
                inv.release(&store, &id).await
            }
        })
    });
    let results: Vec<_> = join_all(tasks).await.into_iter().map(|r| r.unwrap()).collect();
    let a = inv.level(&store, "A", "default").await;
    let moved = inv.events("mercato.inventory.stock_committed").await.len()
        + inv.events("mercato.inventory.stock_released").await.len();
    assert_eq!(moved, 1);
    assert!(
        results.iter().all(|r| r.as_ref().is_ok()
            || r.as_ref()
                .is_err_and(|e| e.code == ErrorCode::ReservationStatusConflict)),
        "{results:?}"
    );
    assert!(
        (a.on_hand, a.reserved) == (6, 0) || (a.on_hand, a.reserved) == (10, 0),
        "either committed or released, once: {a:?}"
    );
}

async fn concurrent_expiry_runs_in_several_replicas_expire_each_reservation_once(inv: Inventory) {
    let replicas: Vec<Arc<Inventory>> = vec![
        Arc::new(inv.replica().await),
        Arc::new(inv.replica().await),
        Arc::new(inv.replica().await),
    ];
    let store = StoreId::new();
    inv.set(&store, "A", "", 1_000).await;
    for _ in 0..120 {
        inv.reserve(&store, &rid(), &[("A", 2)], 1).await.unwrap();
    }
    let later = now_ms() + 5_000;
    let runs = replicas.iter().chain(replicas.iter()).map(|r| {
        let r = r.clone();
        tokio::spawn(async move { r.service.expire_due(later).await })
    });
    let counts: Vec<usize> = join_all(runs)
        .await
        .into_iter()
        .map(|r| r.unwrap().expect("expiry runs"))
        .collect();
    assert_eq!(counts.iter().sum::<usize>(), 120, "{counts:?}");
    let a = inv.level(&store, "A", "default").await;
    assert_eq!((a.on_hand, a.reserved), (1_000, 0));
    assert_eq!(
        inv.events("mercato.inventory.reservation_expired").await.len(),
        120
    );
    assert_eq!(
        inv.count("SELECT COUNT(*) FROM reservations WHERE status = 'expired'")
            .await,
        120
    );
    assert_eq!(inv.broken_rows().await, 0);
}

async fn the_same_reservation_sent_concurrently_is_held_once_and_every_caller_gets_it(inv: Inventory) {
    let inv = Arc::new(inv);
    let store = StoreId::new();
    inv.set(&store, "A", "", 10).await;
    let id = rid();
    let tasks = (0..20).map(|_| {
        let (inv, id) = (inv.clone(), id.clone());
        tokio::spawn(async move { inv.reserve(&store, &id, &[("A", 3)], 0).await })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap().expect("every retry succeeds"))
        .collect();
    assert!(results.iter().all(|r| *r == results[0]));
    assert_eq!(inv.level(&store, "A", "default").await.reserved, 3);
    assert_eq!(inv.events("mercato.inventory.stock_reserved").await.len(), 1);
}
