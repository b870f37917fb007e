//! Setting, adjusting and reading stock; low-stock events; tenant isolation of stock.

use crate::support::{Inventory, code, rid};
use mercato_proto::events::{LowStock, StockChanged};
use mercato_proto::inventory::*;
use mercato_runtime::error::ErrorCode;
use mercato_runtime::ids::StoreId;
use prost::Message;

mercato_runtime::backend_tests! {
    setup: Inventory::on,
    cases: [
        stock_is_set_adjusted_and_read_per_location_with_a_stock_changed_event_for_each_write,
        stock_of_a_sku_without_rows_is_not_found,
        on_hand_cannot_be_set_or_adjusted_below_what_is_reserved,
        a_low_stock_event_is_appended_exactly_when_available_crosses_the_threshold,
        another_store_can_neither_see_nor_reserve_nor_change_a_stores_stock,
        an_adjustment_retried_with_its_idempotency_key_is_made_once,
    ],
}

async fn stock_is_set_adjusted_and_read_per_location_with_a_stock_changed_event_for_each_write(
    inv: Inventory,
) {
    assert!(inv.service.ready().await);
    let store = StoreId::new();
    let first = inv.set(&store, "TS-1", "", 10).await;
    assert_eq!(first.location, "default", "an empty location is the default one");
    assert_eq!(
        (first.on_hand, first.reserved, first.available, first.version),
        (10, 0, 10, 1)
    );
    inv.set(&store, "TS-1", "east-2", 4).await;

    let adjusted = inv
        .client
        .adjust_stock(AdjustStockRequest {
            store_id: store.to_string(),
            sku: "TS-1".into(),
            location: "east-2".into(),
            delta: -3,
            reason: "damaged".into(),
            idempotency_key: String::new(),
        })
        .await
        .unwrap();
    assert_eq!((adjusted.on_hand, adjusted.version), (1, 2));
    let reset = inv.set(&store, "TS-1", "default", 7).await;
    assert_eq!((reset.on_hand, reset.version), (7, 2));

    let levels = inv.get(&store, "TS-1").await.unwrap();
    assert_eq!(levels.sku, "TS-1");
    let by_location: Vec<_> = levels
        .locations
        .iter()
        .map(|l| (l.location.as_str(), l.on_hand, l.available))
        .collect();
    assert_eq!(by_location, [("default", 7, 7), ("east-2", 1, 1)]);
    assert_eq!(levels.available_total, 8);

    let changed = inv.events("mercato.inventory.stock_changed").await;
    assert_eq!(changed.len(), 4);
    assert!(changed.iter().all(|e| e.store_id == store.to_string()));
    let last = StockChanged::decode(changed[3].payload.as_slice()).unwrap();
    assert_eq!(last.level.unwrap(), reset);
}

async fn stock_of_a_sku_without_rows_is_not_found(inv: Inventory) {
    let store = StoreId::new();
    assert_eq!(code(inv.get(&store, "NOPE").await), ErrorCode::NotFound);
}

async fn on_hand_cannot_be_set_or_adjusted_below_what_is_reserved(inv: Inventory) {
    let store = StoreId::new();
    inv.set(&store, "A", "", 10).await;
    inv.reserve(&store, &rid(), &[("A", 6)], 0).await.unwrap();
    let set = inv
        .client
        .set_stock(SetStockRequest {
            store_id: store.to_string(),
            sku: "A".into(),
            location: String::new(),
            on_hand: 5,
            low_stock_threshold: None,
        })
        .await;
    assert_eq!(code(set), ErrorCode::StockOutOfBounds);
    let adjust = |delta| AdjustStockRequest {
        store_id: store.to_string(),
        sku: "A".into(),
        location: String::new(),
        delta,
        reason: String::new(),
        idempotency_key: String::new(),
    };
    assert_eq!(
        code(inv.client.adjust_stock(adjust(-5)).await),
        ErrorCode::StockOutOfBounds
    );
    let down = inv.client.adjust_stock(adjust(-4)).await.unwrap();
    assert_eq!((down.on_hand, down.reserved, down.available), (6, 6, 0));
    let missing = AdjustStockRequest {
        sku: "NEW".into(),
        ..adjust(-1)
    };
    assert_eq!(
        code(inv.client.adjust_stock(missing).await),
        ErrorCode::StockOutOfBounds,
        "a new location starts at zero"
    );
    assert_eq!(inv.set(&store, "A", "", 6).await.on_hand, 6);
    assert_eq!(inv.broken_rows().await, 0);
}

async fn threshold(inv: &Inventory, store: &StoreId, sku: &str, on_hand: i64, threshold: i64) {
    inv.client
        .set_stock(SetStockRequest {
            store_id: store.to_string(),
            sku: sku.into(),
            location: String::new(),
            on_hand,
            low_stock_threshold: Some(threshold),
        })
        .await
        .unwrap();
}

async fn a_low_stock_event_is_appended_exactly_when_available_crosses_the_threshold(inv: Inventory) {
    let store = StoreId::new();
    let lows = || async { inv.events("mercato.inventory.low_stock").await };
    threshold(&inv, &store, "A", 10, 3).await;
    assert_eq!(lows().await.len(), 0, "a new row does not cross");
    inv.reserve(&store, &rid(), &[("A", 6)], 0).await.unwrap();
    assert_eq!(lows().await.len(), 0, "4 available is above 3");
    let held = rid();
    inv.reserve(&store, &held, &[("A", 1)], 0).await.unwrap();
    let after_crossing = lows().await;
    assert_eq!(after_crossing.len(), 1, "3 available crosses");
    let low = LowStock::decode(after_crossing[0].payload.as_slice()).unwrap();
    let level = low.level.unwrap();
    assert_eq!(
        (level.sku.as_str(), level.available, level.low_stock_threshold),
        ("A", 3, 3)
    );
    inv.reserve(&store, &rid(), &[("A", 1)], 0).await.unwrap();
    assert_eq!(lows().await.len(), 1, "already low: no second event");
    inv.release(&store, &held).await.unwrap();
    assert_eq!(lows().await.len(), 1, "going up never alerts");
    inv.client
        .adjust_stock(AdjustStockRequest {
            store_id: store.to_string(),
            sku: "A".into(),
            location: String::new(),
            delta: 5,
            reason: "delivery".into(),
            idempotency_key: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(inv.level(&store, "A", "default").await.available, 8);
    inv.reserve(&store, &rid(), &[("A", 5)], 0).await.unwrap();
    assert_eq!(lows().await.len(), 2, "above again, then down to 3");
    threshold(&inv, &store, "A", 20, 3).await;
    assert_eq!(lows().await.len(), 2, "8 available is above 3");
    threshold(&inv, &store, "A", 20, 9).await;
    assert_eq!(
        lows().await.len(),
        3,
        "raising the threshold above available crosses it"
    );
}

async fn another_store_can_neither_see_nor_reserve_nor_change_a_stores_stock(inv: Inventory) {
    let (a, b) = (StoreId::new(), StoreId::new());
    inv.set(&a, "SHARED-SKU", "", 5).await;
    assert_eq!(code(inv.get(&b, "SHARED-SKU").await), ErrorCode::NotFound);
    let r = inv.reserve(&b, &rid(), &[("SHARED-SKU", 1)], 0).await;
    assert_eq!(code(r), ErrorCode::OutOfStock);
    inv.set(&b, "SHARED-SKU", "", 1).await;
    assert_eq!(inv.level(&a, "SHARED-SKU", "default").await.on_hand, 5);
    let id = rid();
    inv.reserve(&a, &id, &[("SHARED-SKU", 2)], 0).await.unwrap();
    assert_eq!(code(inv.commit(&b, &id).await), ErrorCode::NotFound);
    assert_eq!(code(inv.release(&b, &id).await), ErrorCode::NotFound);
    assert_eq!(inv.level(&a, "SHARED-SKU", "default").await.reserved, 2);
    assert_eq!(inv.level(&b, "SHARED-SKU", "default").await.reserved, 0);
}

async fn an_adjustment_retried_with_its_idempotency_key_is_made_once(inv: Inventory) {
    let store = StoreId::new();
    inv.set(&store, "A", "", 5).await;
    let restock = |key: &str, delta| AdjustStockRequest {
        store_id: store.to_string(),
        sku: "A".into(),
        location: String::new(),
        delta,
        reason: "return r1".into(),
        idempotency_key: key.into(),
    };
    let first = inv.client.adjust_stock(restock("return:r1:A", 2)).await.unwrap();
    assert_eq!(first.on_hand, 7);
    // A retry (the saga resumed after a crash between the call and its record) changes nothing.
    for _ in 0..3 {
        let again = inv.client.adjust_stock(restock("return:r1:A", 2)).await.unwrap();
        assert_eq!((again.on_hand, again.version), (7, first.version));
    }
    assert_eq!(
        code(inv.client.adjust_stock(restock("return:r1:A", 3)).await),
        ErrorCode::IdempotencyKeyReused
    );
    // Another key is another adjustment; one without a key is made every time.
    assert_eq!(
        inv.client
            .adjust_stock(restock("return:r2:A", 1))
            .await
            .unwrap()
            .on_hand,
        8
    );
    assert_eq!(inv.client.adjust_stock(restock("", 1)).await.unwrap().on_hand, 9);
    assert_eq!(inv.client.adjust_stock(restock("", 1)).await.unwrap().on_hand, 10);
    // A refused adjustment leaves its key free: nothing of it was kept.
    assert_eq!(
        code(inv.client.adjust_stock(restock("big", -11)).await),
        ErrorCode::StockOutOfBounds
    );
    assert_eq!(
        inv.client.adjust_stock(restock("big", -1)).await.unwrap().on_hand,
        9
    );
    // Keys are per store.
    let other = StoreId::new();
    inv.set(&other, "A", "", 0).await;
    let elsewhere = AdjustStockRequest {
        store_id: other.to_string(),
        ..restock("return:r1:A", 2)
    };
    assert_eq!(inv.client.adjust_stock(elsewhere).await.unwrap().on_hand, 2);
}
