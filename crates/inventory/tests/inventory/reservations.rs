//! Reserve, commit, release and restock: all or nothing, allocation across locations,
//! idempotency, illegal transitions and validation.

use crate::support::{Inventory, StatusName, code, lines, rid};
use mercato_proto::events::ReservationChanged;
use mercato_proto::inventory::*;
use mercato_runtime::error::ErrorCode;
use mercato_runtime::ids::StoreId;
use prost::Message;

mercato_runtime::backend_tests! {
    setup: Inventory::on,
    cases: [
        a_reservation_holds_every_line_or_none_and_names_the_sku_that_is_short,
        a_line_is_split_across_locations_taking_the_fullest_first,
        reserving_again_with_the_same_id_returns_the_first_reservation_unless_the_lines_differ,
        commit_release_and_restock_are_idempotent_and_illegal_moves_are_reservation_status_conflicts,
        bad_input_lists_every_bad_field_and_writes_nothing,
    ],
}

fn own(v: &[(&str, &str, i64)]) -> Vec<(String, String, i64)> {
    v.iter().map(|(s, l, q)| ((*s).into(), (*l).into(), *q)).collect()
}

async fn a_reservation_holds_every_line_or_none_and_names_the_sku_that_is_short(inv: Inventory) {
    let store = StoreId::new();
    inv.set(&store, "A", "", 10).await;
    inv.set(&store, "B", "", 2).await;
    let events_before = inv.outbox().await.len();

    let short = inv
        .reserve_outcome(&store, &rid(), &[("A", 5), ("B", 3)], 0)
        .await
        .unwrap();
    assert_eq!(
        short.outcome,
        Some(reserve_response::Outcome::Insufficient(Insufficient {
            sku: "B".into(),
            requested: 3,
            available: 2,
            held_by_others: 0,
        }))
    );
    assert_eq!(
        inv.level(&store, "A", "default").await.reserved,
        0,
        "A is not held"
    );
    assert_eq!(inv.level(&store, "B", "default").await.reserved, 0);
    assert_eq!(inv.count("SELECT COUNT(*) FROM reservations").await, 0);
    assert_eq!(inv.count("SELECT COUNT(*) FROM reservation_lines").await, 0);
    assert_eq!(inv.outbox().await.len(), events_before, "no event either");

    let unknown = inv
        .reserve(&store, &rid(), &[("A", 1), ("NEVER-STOCKED", 1)], 0)
        .await
        .unwrap_err();
    assert_eq!(unknown.code, ErrorCode::OutOfStock, "an unknown SKU has no stock");
    assert!(unknown.message.contains("NEVER-STOCKED"));

    let id = rid();
    let held = inv.reserve(&store, &id, &[("B", 2), ("A", 5)], 60).await.unwrap();
    assert_eq!(held.status_name(), "held");
    assert_eq!(held.id, id);
    assert_eq!(lines(&held), own(&[("A", "default", 5), ("B", "default", 2)]));
    let a = inv.level(&store, "A", "default").await;
    assert_eq!((a.on_hand, a.reserved, a.available, a.version), (10, 5, 5, 2));
    assert_eq!(inv.level(&store, "B", "default").await.available, 0);
    let reserved = inv.events("mercato.inventory.stock_reserved").await;
    assert_eq!(reserved.len(), 1);
    let event = ReservationChanged::decode(reserved[0].payload.as_slice()).unwrap();
    assert_eq!(event.reservation.unwrap(), held);
}

async fn a_line_is_split_across_locations_taking_the_fullest_first(inv: Inventory) {
    let store = StoreId::new();
    inv.set(&store, "A", "east", 3).await;
    inv.set(&store, "A", "west", 5).await;
    inv.set(&store, "A", "north", 1).await;
    let small = inv.reserve(&store, &rid(), &[("A", 2)], 0).await.unwrap();
    assert_eq!(lines(&small), own(&[("A", "west", 2)]));
    // Now east 3, west 3, north 1 available: a tie goes to the first name.
    let split = inv.reserve(&store, &rid(), &[("A", 6)], 0).await.unwrap();
    assert_eq!(lines(&split), own(&[("A", "east", 3), ("A", "west", 3)]));
    let rest = inv
        .reserve(&store, &rid(), &[("A", 1), ("A", 1)], 0)
        .await
        .unwrap_err();
    assert!(rest.message.contains("SKU A"), "only 1 left in north");
    let last = inv.reserve(&store, &rid(), &[("A", 1)], 0).await.unwrap();
    assert_eq!(lines(&last), own(&[("A", "north", 1)]));
    assert_eq!(inv.get(&store, "A").await.unwrap().available_total, 0);

    // Committing a split reservation takes each part from its own location.
    inv.commit(&store, &split.id).await.unwrap();
    assert_eq!(inv.level(&store, "A", "east").await.on_hand, 0);
    let west = inv.level(&store, "A", "west").await;
    assert_eq!((west.on_hand, west.reserved), (2, 2));
}

async fn reserving_again_with_the_same_id_returns_the_first_reservation_unless_the_lines_differ(
    inv: Inventory,
) {
    let store = StoreId::new();
    inv.set(&store, "A", "", 10).await;
    let id = rid();
    let first = inv.reserve(&store, &id, &[("A", 4)], 0).await.unwrap();
    let again = inv.reserve(&store, &id, &[("A", 4)], 0).await.unwrap();
    assert_eq!(again, first);
    let split_the_same = inv.reserve(&store, &id, &[("A", 1), ("A", 3)], 0).await.unwrap();
    assert_eq!(split_the_same, first, "the same units per SKU");
    assert_eq!(inv.level(&store, "A", "default").await.reserved, 4, "held once");
    let other = inv.reserve(&store, &id, &[("A", 5)], 0).await;
    assert_eq!(code(other), ErrorCode::ReservationIdReused);
    inv.commit(&store, &id).await.unwrap();
    let after_commit = inv.reserve(&store, &id, &[("A", 4)], 0).await.unwrap();
    assert_eq!(after_commit.status_name(), "committed", "returned as it is");
    assert_eq!(inv.events("mercato.inventory.stock_reserved").await.len(), 1);
}

async fn commit_release_and_restock_are_idempotent_and_illegal_moves_are_reservation_status_conflicts(
    inv: Inventory,
) {
    let store = StoreId::new();
    inv.set(&store, "A", "", 10).await;
    let sold = rid();
    inv.reserve(&store, &sold, &[("A", 3)], 0).await.unwrap();

    let committed = inv.commit(&store, &sold).await.unwrap();
    assert_eq!(committed.status_name(), "committed");
    assert_eq!(inv.commit(&store, &sold).await.unwrap(), committed);
    let a = inv.level(&store, "A", "default").await;
    assert_eq!((a.on_hand, a.reserved), (7, 0), "committed once");
    assert_eq!(
        code(inv.release(&store, &sold).await),
        ErrorCode::ReservationStatusConflict
    );

    let restocked = inv.restock(&store, &sold).await.unwrap();
    assert_eq!(restocked.status_name(), "restocked");
    assert_eq!(inv.restock(&store, &sold).await.unwrap(), restocked);
    assert_eq!(
        inv.level(&store, "A", "default").await.on_hand,
        10,
        "restocked once"
    );
    assert_eq!(
        code(inv.release(&store, &sold).await),
        ErrorCode::ReservationStatusConflict
    );

    let returned = rid();
    inv.reserve(&store, &returned, &[("A", 2)], 0).await.unwrap();
    assert_eq!(
        code(inv.restock(&store, &returned).await),
        ErrorCode::ReservationStatusConflict,
        "held"
    );
    let released = inv.release(&store, &returned).await.unwrap();
    assert_eq!(released.status_name(), "released");
    assert_eq!(inv.release(&store, &returned).await.unwrap(), released);
    let a = inv.level(&store, "A", "default").await;
    assert_eq!((a.on_hand, a.reserved), (10, 0), "released once");
    assert_eq!(
        code(inv.commit(&store, &returned).await),
        ErrorCode::ReservationStatusConflict
    );
    assert_eq!(
        code(inv.restock(&store, &returned).await),
        ErrorCode::ReservationStatusConflict
    );

    assert_eq!(code(inv.commit(&store, &rid()).await), ErrorCode::NotFound);
    let subjects: Vec<String> = inv
        .outbox()
        .await
        .into_iter()
        .map(|e| e.subject)
        .filter(|s| s != "mercato.inventory.stock_changed")
        .collect();
    assert_eq!(
        subjects,
        [
            "mercato.inventory.stock_reserved",
            "mercato.inventory.stock_committed",
            "mercato.inventory.stock_restocked",
            "mercato.inventory.stock_reserved",
            "mercato.inventory.stock_released"
        ],
        "one event per move, none for repeats"
    );
}

async fn bad_input_lists_every_bad_field_and_writes_nothing(inv: Inventory) {
    let store = StoreId::new();
    inv.set(&store, "A", "", 10).await;
    let events_before = inv.outbox().await.len();
    let bad = ReserveRequest {
        store_id: store.to_string(),
        reservation_id: "order-17".into(),
        lines: vec![
            ReserveLine {
                sku: "A".into(),
                quantity: 0,
            },
            ReserveLine {
                sku: "no spaces".into(),
                quantity: 10_001,
            },
        ],
        ttl_seconds: 86_401,
    };
    let e = inv.client.reserve(bad).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ValidationFailed);
    let fields: Vec<_> = e.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "reservation_id",
            "lines[0].quantity",
            "lines[1].sku",
            "lines[1].quantity",
            "ttl_seconds"
        ]
    );
    let set = SetStockRequest {
        store_id: "not-a-store".into(),
        sku: String::new(),
        location: "Back Room".into(),
        on_hand: 1_000_000_001,
        low_stock_threshold: Some(-1),
    };
    let e = inv.client.set_stock(set).await.unwrap_err();
    let fields: Vec<_> = e.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        fields,
        ["store_id", "sku", "location", "on_hand", "low_stock_threshold"]
    );
    let commit = inv.commit(&store, "nope").await.unwrap_err();
    assert_eq!(commit.code, ErrorCode::ValidationFailed);

    assert_eq!(inv.count("SELECT COUNT(*) FROM reservations").await, 0);
    assert_eq!(inv.count("SELECT COUNT(*) FROM stock").await, 1);
    assert_eq!(inv.level(&store, "A", "default").await.reserved, 0);
    assert_eq!(inv.outbox().await.len(), events_before);
}
