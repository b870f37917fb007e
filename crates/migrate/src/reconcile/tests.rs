//! Reconciliation against an in-memory source and store.

use super::*;
use crate::report::DifferenceKind;
use crate::runner::tests::{order, product, shop};
use crate::runner::{RunOptions, Runner, Silent};
use crate::source::{Row, SourceRecord};
use crate::target::memory::{MemorySource, MemoryTarget};
use mercato_runtime::imports::numeric_key;
use std::sync::Arc;

async fn imported(source: &Arc<MemorySource>) -> Arc<MemoryTarget> {
    let target = Arc::new(MemoryTarget::default());
    Runner::new(
        source.clone(),
        target.clone(),
        Arc::new(Silent),
        RunOptions::default(),
    )
    .run()
    .await
    .unwrap();
    target
}

#[tokio::test]
async fn a_faithful_import_is_clean_and_skipped_rows_are_listed_apart() {
    let source = Arc::new(shop(200));
    let target = imported(&source).await;
    let report = reconcile(source.as_ref(), target.as_ref(), "shop").await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.exit_code(), 3, "one bad product row was skipped");
    assert_eq!(report.skipped[0].legacy_key, numeric_key(7));
    assert_eq!(report.entities[0].source_count, 199);
    let eur = &report.totals.store.orders["EUR"];
    assert_eq!((eur.orders, eur.total_minor), (300, 300 * 1000 + 300 * 301 / 2));
}

#[tokio::test]
async fn a_changed_source_row_is_located_to_the_record_and_its_field() {
    let source = Arc::new(shop(5000));
    let target = imported(&source).await;
    source.put(product(4321, 1, 10));
    source.put(order(17, 5, 10));
    let report = reconcile(source.as_ref(), target.as_ref(), "shop").await.unwrap();
    assert_eq!(report.exit_code(), 2);
    let products = &report.entities[0];
    assert_eq!(products.differences_found, 1);
    assert_eq!(products.differences[0].legacy_key, numeric_key(4321));
    assert_eq!(products.differences[0].kind, DifferenceKind::Differs);
    assert_eq!(products.differences[0].fields, ["variants[0].price_minor"]);
    let orders = &report.entities[2];
    assert_eq!(orders.differences[0].fields, ["total_minor"]);
    let (s, t) = (
        &report.totals.source.orders["EUR"],
        &report.totals.store.orders["EUR"],
    );
    assert_eq!(t.total_minor - s.total_minor, 1017 - 5);
    assert!(
        crate::report::render(&report)
            .contains("products 00000000000000004321: differs: variants[0].price_minor")
    );
}

#[tokio::test]
async fn records_missing_on_either_side_are_named() {
    let source = Arc::new(shop(300));
    let target = imported(&source).await;
    source
        .rows
        .lock()
        .unwrap()
        .remove(&(Entity::Order as i32, numeric_key(250)));
    target
        .records
        .lock()
        .unwrap()
        .remove(&(Entity::Product as i32, numeric_key(100)));
    let Row::Good(extra) = order(900, 1, 1) else {
        unreachable!()
    };
    target.put(extra);
    let report = reconcile(source.as_ref(), target.as_ref(), "shop").await.unwrap();
    let kinds: Vec<(String, DifferenceKind)> = report
        .entities
        .iter()
        .flat_map(|e| e.differences.iter().map(|d| (d.legacy_key.clone(), d.kind)))
        .collect();
    assert_eq!(
        kinds,
        [
            (numeric_key(100), DifferenceKind::MissingInStore),
            (numeric_key(250), DifferenceKind::MissingInSource),
            (numeric_key(900), DifferenceKind::MissingInSource),
        ]
    );
    assert_eq!(
        (report.entities[0].source_count, report.entities[0].store_count),
        (299, 298)
    );
}

#[tokio::test]
async fn an_empty_store_lists_everything_as_missing() {
    let source = Arc::new(shop(10));
    let target = MemoryTarget::default();
    let report = reconcile(source.as_ref(), &target, "shop").await.unwrap();
    assert_eq!(report.differences(), 9 + 20 + 300);
    assert!(report.totals.store.orders.is_empty());
    let _ = SourceRecord::entity;
}
