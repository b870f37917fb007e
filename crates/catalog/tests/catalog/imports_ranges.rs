//! Reconciliation's reads of the catalog: records and checksums rebuilt from what is stored, over
//! key ranges and segments, progress per entity, and tenancy — on both backends.

use crate::imports_support::*;
use crate::support::Catalog;
use mercato_proto::catalog::UpdateProductRequest;
use mercato_proto::imports::*;
use mercato_runtime::error::ErrorCode;
use mercato_runtime::imports::{Canonical, numeric_key, sum_range};

mercato_runtime::backend_tests! {
    setup: Catalog::on,
    cases: [
        records_and_checksums_rebuilt_from_the_store_equal_what_was_sent,
        a_product_changed_in_mercato_shows_up_as_a_different_checksum,
        segments_split_a_range_and_agree_with_the_importers_sums,
        progress_gives_each_entitys_count_greatest_key_and_newest_change,
        another_store_sees_none_of_the_imported_records,
    ],
}

fn products() -> Vec<ImportedProduct> {
    let mut all: Vec<ImportedProduct> = (1..=9u64)
        .map(|i| simple(i * 10, 1000 + i as i64, Some(1)))
        .collect();
    all.push(variable(200, &["S", "M"]));
    all
}

async fn imported(c: &Catalog) -> (mercato_runtime::ids::StoreId, Vec<ImportedProduct>) {
    let store = provisioned(c).await;
    import_categories(
        c,
        &store,
        vec![category(1, "tops", None), category(2, "tees", Some(1))],
    )
    .await;
    let products = products();
    let outcomes = import_products(c, &store, products.clone()).await;
    assert!(
        kinds(&outcomes).iter().all(|k| *k == Outcome::Created),
        "{outcomes:?}"
    );
    (store, products)
}

async fn records_and_checksums_rebuilt_from_the_store_equal_what_was_sent(c: Catalog) {
    let (store, sent) = imported(&c).await;
    let got = records(&c, range(&store, Entity::Product, "", ""), 0).await;
    let expected: Vec<ImportedProduct> = sent.iter().map(Canonical::canonical).collect();
    assert_eq!(got.products, expected, "every field, in key order");
    assert!(got.categories.is_empty());
    let categories = records(&c, range(&store, Entity::Category, "", ""), 0).await;
    assert_eq!(categories.categories[1].parent_legacy_key, numeric_key(1));
    assert_eq!(categories.categories[1], category(2, "tees", Some(1)).canonical());

    let whole = checksums(&c, range(&store, Entity::Product, "", ""), 1).await;
    let sums = sent_checksums(&sent);
    assert_eq!(whole.len(), 1);
    assert_eq!((whole[0].count, whole[0].checksum), sum_range(&sums, "", ""));

    let limited = records(
        &c,
        range(&store, Entity::Product, &numeric_key(30), &numeric_key(60)),
        2,
    )
    .await;
    let keys: Vec<&str> = limited.products.iter().map(|p| p.legacy_key.as_str()).collect();
    assert_eq!(keys, [numeric_key(30), numeric_key(40)]);
}

async fn a_product_changed_in_mercato_shows_up_as_a_different_checksum(c: Catalog) {
    let (store, sent) = imported(&c).await;
    let before = checksums(&c, range(&store, Entity::Product, "", ""), 4).await;
    c.client
        .update_product(UpdateProductRequest {
            store_id: store.to_string(),
            product_id: product_id(&store, 40),
            title: Some("Renamed in Mercato".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let after = checksums(&c, range(&store, Entity::Product, "", ""), 4).await;
    let differing: Vec<(&Segment, &Segment)> = before.iter().zip(&after).filter(|(b, a)| b != a).collect();
    assert_eq!(differing.len(), 1, "only the segment holding the product changes");
    let (b, a) = differing[0];
    assert_eq!((b.from_key.as_str(), b.count), (a.from_key.as_str(), a.count));
    assert!(b.from_key <= numeric_key(40) && (b.to_key.is_empty() || numeric_key(40) < b.to_key));
    let one = records(
        &c,
        range(&store, Entity::Product, &numeric_key(40), &numeric_key(41)),
        0,
    )
    .await;
    assert_eq!(one.products[0].title, "Renamed in Mercato");
    assert_ne!(one.products[0].checksum(), sent[3].checksum());

    // A re-import puts the source's version back: updated, and the checksums agree again.
    let outcomes = import_products(&c, &store, sent.clone()).await;
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| o.outcome() == Outcome::Updated)
            .count(),
        1
    );
    assert_eq!(
        checksums(&c, range(&store, Entity::Product, "", ""), 4).await,
        before
    );
}

async fn segments_split_a_range_and_agree_with_the_importers_sums(c: Catalog) {
    let (store, sent) = imported(&c).await;
    let sums = sent_checksums(&sent);
    let from = numeric_key(20);
    let segments = checksums(&c, range(&store, Entity::Product, &from, ""), 3).await;
    assert_eq!(segments.len(), 3);
    assert_eq!(segments[0].from_key, from);
    assert_eq!(segments.last().unwrap().to_key, "");
    for pair in segments.windows(2) {
        assert_eq!(pair[0].to_key, pair[1].from_key, "no gap between segments");
    }
    for s in &segments {
        assert_eq!((s.count, s.checksum), sum_range(&sums, &s.from_key, &s.to_key));
    }
    assert_eq!(
        segments.iter().map(|s| s.count).sum::<u64>(),
        9,
        "keys from 20 on"
    );
    let empty = checksums(&c, range(&store, Entity::Product, "a", "b"), 8).await;
    assert_eq!((empty.len(), empty[0].count), (1, 0));

    let wrong = c
        .client
        .import_checksums(ChecksumsRequest {
            range: Some(range(&store, Entity::Order, "", "")),
            segments: 1,
        })
        .await
        .unwrap_err();
    assert_eq!(wrong.code, ErrorCode::ValidationFailed);
}

async fn progress_gives_each_entitys_count_greatest_key_and_newest_change(c: Catalog) {
    let (store, sent) = imported(&c).await;
    let progress = c
        .client
        .get_import_progress(ImportProgressRequest {
            store_id: store.to_string(),
            source: SOURCE.into(),
        })
        .await
        .unwrap();
    let by = |e: Entity| {
        progress
            .entities
            .iter()
            .find(|p| p.entity() == e)
            .unwrap()
            .clone()
    };
    let categories = by(Entity::Category);
    assert_eq!(
        (categories.count, categories.last_key.as_str()),
        (2, numeric_key(2).as_str())
    );
    let products = by(Entity::Product);
    assert_eq!(products.count, 10);
    assert_eq!(products.last_key, numeric_key(200));
    let newest = sent.iter().map(|p| p.modified_at_ms).max().unwrap();
    assert_eq!(products.last_modified_ms, newest);
    let shopify = c
        .client
        .get_import_progress(ImportProgressRequest {
            store_id: store.to_string(),
            source: "shopify".into(),
        })
        .await
        .unwrap();
    assert!(
        shopify
            .entities
            .iter()
            .all(|e| e.count == 0 && e.last_key.is_empty())
    );
}

async fn another_store_sees_none_of_the_imported_records(c: Catalog) {
    let (store, sent) = imported(&c).await;
    let other = provisioned(&c).await;
    assert!(
        records(&c, range(&other, Entity::Product, "", ""), 0)
            .await
            .products
            .is_empty()
    );
    let segments = checksums(&c, range(&other, Entity::Product, "", ""), 4).await;
    assert_eq!(segments.iter().map(|s| s.count).sum::<u64>(), 0);
    // The same legacy records in another store are that store's own: new ids, created.
    let outcomes = import_products(&c, &other, sent[..2].to_vec()).await;
    assert!(
        kinds(&outcomes).iter().all(|k| *k == Outcome::Rejected),
        "their category is not imported in this store"
    );
    let mut uncategorised = sent[0].clone();
    uncategorised.category_legacy_key.clear();
    let outcomes = import_products(&c, &other, vec![uncategorised]).await;
    assert_eq!(kinds(&outcomes), [Outcome::Created]);
    assert_ne!(outcomes[0].target_id, product_id(&store, 10));
    assert_eq!(outcomes[0].target_id, product_id(&other, 10));
}
