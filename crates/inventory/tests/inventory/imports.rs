//! Stock imported from a legacy shop (ADR 0016): on hand set by SKU at the default location,
//! `unchanged` when equal, negative or below-reserved levels rejected alone, the usual stock
//! events, checksums and records rebuilt from what is stored, progress and tenancy.

use crate::support::{Inventory, rid};
use mercato_proto::events::StockChanged;
use mercato_proto::imports::*;
use mercato_proto::inventory::inventory_server::Inventory as Contract;
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::ids::StoreId;
use mercato_runtime::imports::{Canonical, sum_range};
use prost::Message;
use tonic::Request;

mercato_runtime::backend_tests! {
    setup: Inventory::on,
    cases: [
        levels_are_created_then_unchanged_then_updated_with_stock_events,
        negative_duplicate_and_below_reserved_levels_are_rejected_alone,
        checksums_and_records_follow_what_is_stored,
        another_store_sees_nothing_and_progress_counts_per_store,
    ],
}

const SOURCE: &str = "woocommerce";

fn level(sku: &str, on_hand: i64) -> ImportedStock {
    ImportedStock {
        sku: sku.to_owned(),
        on_hand,
        modified_at_ms: 1_700_000_000_000 + on_hand,
    }
}

async fn import(inv: &Inventory, store: &StoreId, levels: Vec<ImportedStock>) -> Vec<RecordOutcome> {
    let request = ImportStockRequest {
        store_id: store.to_string(),
        source: SOURCE.to_owned(),
        levels,
    };
    Contract::import_stock(inv.service.as_ref(), Request::new(request))
        .await
        .unwrap_or_else(|s| panic!("import failed: {s:?}"))
        .into_inner()
        .outcomes
}

fn outcomes(replies: &[RecordOutcome]) -> Vec<Outcome> {
    replies.iter().map(|r| r.outcome()).collect()
}

fn range(store: &StoreId, from: &str, to: &str) -> KeyRange {
    KeyRange {
        store_id: store.to_string(),
        source: SOURCE.to_owned(),
        entity: Entity::Stock as i32,
        from_key: from.to_owned(),
        to_key: to.to_owned(),
    }
}

async fn records(inv: &Inventory, range: KeyRange, limit: u32) -> Vec<ImportedStock> {
    let request = RecordsRequest {
        range: Some(range),
        limit,
    };
    Contract::imported_records(inv.service.as_ref(), Request::new(request))
        .await
        .unwrap()
        .into_inner()
        .levels
}

async fn segments(inv: &Inventory, range: KeyRange, parts: u32) -> Vec<Segment> {
    let request = ChecksumsRequest {
        range: Some(range),
        segments: parts,
    };
    Contract::import_checksums(inv.service.as_ref(), Request::new(request))
        .await
        .unwrap()
        .into_inner()
        .segments
}

async fn progress(inv: &Inventory, store: &StoreId) -> EntityProgress {
    let request = ImportProgressRequest {
        store_id: store.to_string(),
        source: SOURCE.to_owned(),
    };
    let reply = Contract::get_import_progress(inv.service.as_ref(), Request::new(request))
        .await
        .unwrap()
        .into_inner();
    reply.entities[0].clone()
}

async fn levels_are_created_then_unchanged_then_updated_with_stock_events(inv: Inventory) {
    let store = StoreId::new();
    let first = import(&inv, &store, vec![level("TEA-1", 10), level("TEA-2", 0)]).await;
    assert_eq!(outcomes(&first), [Outcome::Created, Outcome::Created]);
    assert_eq!(first[0].target_id, "TEA-1");
    assert_eq!(inv.level(&store, "TEA-1", "default").await.on_hand, 10);
    assert_eq!(inv.level(&store, "TEA-2", "default").await.on_hand, 0);
    assert_eq!(inv.events("mercato.inventory.stock_changed").await.len(), 2);

    let again = import(&inv, &store, vec![level("TEA-1", 10), level("TEA-2", 0)]).await;
    assert_eq!(outcomes(&again), [Outcome::Unchanged, Outcome::Unchanged]);
    assert_eq!(
        inv.events("mercato.inventory.stock_changed").await.len(),
        2,
        "no event when unchanged"
    );

    let third = import(&inv, &store, vec![level("TEA-1", 7), level("TEA-2", 0)]).await;
    assert_eq!(outcomes(&third), [Outcome::Updated, Outcome::Unchanged]);
    let changed = inv.events("mercato.inventory.stock_changed").await;
    assert_eq!(changed.len(), 3);
    let last = StockChanged::decode(changed[2].payload.as_slice())
        .unwrap()
        .level
        .unwrap();
    assert_eq!(
        (last.sku.as_str(), last.location.as_str(), last.on_hand),
        ("TEA-1", "default", 7)
    );
    // A level staff set before the import is taken over: created for this source, no event
    // when it already holds the quantity.
    inv.set(&store, "TEA-3", "", 5).await;
    let taken = import(&inv, &store, vec![level("TEA-3", 5)]).await;
    assert_eq!(outcomes(&taken), [Outcome::Created]);
    assert_eq!(
        inv.events("mercato.inventory.stock_changed").await.len(),
        4,
        "only staff's own write"
    );
    assert_eq!(inv.broken_rows().await, 0);
}

async fn negative_duplicate_and_below_reserved_levels_are_rejected_alone(inv: Inventory) {
    let store = StoreId::new();
    import(&inv, &store, vec![level("HELD", 5)]).await;
    inv.reserve(&store, &rid(), &[("HELD", 3)], 600).await.unwrap();
    let replies = import(
        &inv,
        &store,
        vec![
            level("HELD", 2),
            level("NEG", -1),
            level("bad sku!", 1),
            level("OK", 4),
            level("OK", 6),
            level("HUGE", 1_000_000_001),
        ],
    )
    .await;
    let expected = [
        Outcome::Rejected,
        Outcome::Rejected,
        Outcome::Rejected,
        Outcome::Created,
        Outcome::Rejected,
        Outcome::Rejected,
    ];
    assert_eq!(outcomes(&replies), expected, "{replies:?}");
    assert!(replies[0].reason.contains("reserved"), "{}", replies[0].reason);
    assert!(replies[1].reason.contains("negative"), "{}", replies[1].reason);
    assert!(replies[4].reason.contains("twice"), "{}", replies[4].reason);
    assert!(
        replies
            .iter()
            .filter(|r| r.outcome() == Outcome::Rejected)
            .all(|r| r.target_id.is_empty())
    );
    let held = inv.level(&store, "HELD", "default").await;
    assert_eq!((held.on_hand, held.reserved), (5, 3), "the reserved units stay");
    assert_eq!(inv.level(&store, "OK", "default").await.on_hand, 4);
    assert!(inv.get(&store, "NEG").await.is_err());
    // At or above what is reserved is fine.
    assert_eq!(
        outcomes(&import(&inv, &store, vec![level("HELD", 3)]).await),
        [Outcome::Updated]
    );

    let too_many = ImportStockRequest {
        store_id: store.to_string(),
        source: SOURCE.to_owned(),
        levels: vec![level("X", 1); 1001],
    };
    let refused = Contract::import_stock(inv.service.as_ref(), Request::new(too_many))
        .await
        .unwrap_err();
    assert_eq!(ServiceError::from(refused).code, ErrorCode::ValidationFailed);
}

async fn checksums_and_records_follow_what_is_stored(inv: Inventory) {
    let store = StoreId::new();
    let sent: Vec<ImportedStock> = (0..12).map(|i| level(&format!("SKU-{i:02}"), i * 3)).collect();
    import(&inv, &store, sent.clone()).await;
    let sums: Vec<(String, u64)> = sent.iter().map(|s| (s.sku.clone(), s.checksum())).collect();

    let parts = segments(&inv, range(&store, "", ""), 4).await;
    assert_eq!(parts.len(), 4);
    for s in &parts {
        assert_eq!(
            (s.count, s.checksum),
            sum_range(&sums, &s.from_key, &s.to_key),
            "{s:?}"
        );
    }
    let listed = records(&inv, range(&store, "SKU-03", "SKU-06"), 0).await;
    let skus: Vec<&str> = listed.iter().map(|s| s.sku.as_str()).collect();
    assert_eq!(skus, ["SKU-03", "SKU-04", "SKU-05"]);
    assert_eq!(listed[1].canonical(), sent[4].canonical());
    assert_eq!(records(&inv, range(&store, "", ""), 5).await.len(), 5);

    // Units sold here since the import show up as a difference.
    let sold = rid();
    inv.reserve(&store, &sold, &[("SKU-04", 2)], 600).await.unwrap();
    inv.commit(&store, &sold).await.unwrap();
    let after = segments(&inv, range(&store, "SKU-03", "SKU-06"), 1).await;
    assert_ne!(after[0].checksum, sum_range(&sums, "SKU-03", "SKU-06").1);
    assert_eq!(
        records(&inv, range(&store, "SKU-04", "SKU-05"), 0).await[0].on_hand,
        10
    );
    // Stock staff made without an import is not part of the source's records.
    inv.set(&store, "LOCAL-1", "", 9).await;
    assert_eq!(records(&inv, range(&store, "", ""), 0).await.len(), 12);
}

async fn another_store_sees_nothing_and_progress_counts_per_store(inv: Inventory) {
    let (tea, coffee) = (StoreId::new(), StoreId::new());
    import(&inv, &tea, vec![level("A", 1), level("C", 3), level("B", 2)]).await;
    assert_eq!(
        outcomes(&import(&inv, &coffee, vec![level("A", 1)]).await),
        [Outcome::Created]
    );
    let p = progress(&inv, &tea).await;
    assert_eq!(
        (p.entity(), p.count, p.last_key.as_str()),
        (Entity::Stock, 3, "C")
    );
    assert_eq!(p.last_modified_ms, 1_700_000_000_003);
    assert_eq!(progress(&inv, &coffee).await.count, 1);
    assert!(records(&inv, range(&StoreId::new(), "", ""), 0).await.is_empty());

    // A newer source time on an unchanged level moves the progress on, without an event.
    let events = inv.outbox().await.len();
    let touched = ImportedStock {
        modified_at_ms: 1_800_000_000_000,
        ..level("A", 1)
    };
    assert_eq!(
        outcomes(&import(&inv, &tea, vec![touched]).await),
        [Outcome::Unchanged]
    );
    assert_eq!(progress(&inv, &tea).await.last_modified_ms, 1_800_000_000_000);
    assert_eq!(inv.outbox().await.len(), events);

    let customers = KeyRange {
        entity: Entity::Customer as i32,
        ..range(&tea, "", "")
    };
    let request = RecordsRequest {
        range: Some(customers),
        limit: 0,
    };
    let refused = Contract::imported_records(inv.service.as_ref(), Request::new(request))
        .await
        .unwrap_err();
    assert_eq!(ServiceError::from(refused).code, ErrorCode::ValidationFailed);
}
