//! Legacy imports into the catalog: created, unchanged, updated and rejected records, with their
//! events, on both backends.

use crate::imports_support::*;
use crate::support::{Catalog, create};
use mercato_proto::catalog::GetProductRequest;
use mercato_proto::events::ProductChanged;
use mercato_proto::imports::*;
use mercato_runtime::ids::StoreId;
use mercato_runtime::testing::outbox_events;
use prost::Message;
use std::time::Instant;

mercato_runtime::backend_tests! {
    setup: Catalog::on,
    cases: [
        imported_products_are_created_then_unchanged_then_updated_with_their_events,
        a_bad_record_is_rejected_with_its_reason_and_the_rest_of_the_batch_is_written,
        a_category_parent_is_resolved_by_legacy_key_in_any_order_within_the_batch,
        a_batch_of_a_thousand_products_is_created_then_reimported_unchanged,
    ],
}

async fn get(c: &Catalog, store: &StoreId, id: &str) -> Option<mercato_proto::catalog::Product> {
    c.client
        .get_product(GetProductRequest {
            store_id: store.to_string(),
            key: id.to_owned(),
            include_hidden: true,
        })
        .await
        .ok()
}

async fn product_events(c: &Catalog) -> Vec<(String, ProductChanged)> {
    outbox_events(&c.db)
        .await
        .into_iter()
        .filter(|e| e.subject.contains("product_"))
        .map(|e| {
            (
                e.subject.clone(),
                ProductChanged::decode(e.payload.as_slice()).unwrap(),
            )
        })
        .collect()
}

async fn imported_products_are_created_then_unchanged_then_updated_with_their_events(c: Catalog) {
    let store = provisioned(&c).await;
    let cats = import_categories(&c, &store, vec![category(1, "tops", None)]).await;
    assert_eq!(kinds(&cats), [Outcome::Created]);
    let batch = vec![simple(10, 1500, Some(1)), variable(20, &["S", "M", "L"])];

    let first = import_products(&c, &store, batch.clone()).await;
    assert_eq!(kinds(&first), [Outcome::Created, Outcome::Created]);
    assert_eq!(first[0].target_id, product_id(&store, 10));
    let tee = get(&c, &store, &product_id(&store, 10))
        .await
        .expect("imported product readable");
    assert_eq!(
        (tee.slug.as_str(), tee.version, tee.status.as_str()),
        ("product-10", 1, "active")
    );
    assert_eq!(tee.category_id, cats[0].target_id);
    let price = tee.variants[0].price.clone().unwrap();
    assert_eq!((price.amount_minor, price.currency.as_str()), (1500, "EUR"));
    let sizes = get(&c, &store, &product_id(&store, 20)).await.unwrap();
    assert_eq!(sizes.variants.len(), 3);
    assert_eq!(sizes.options[0].values, ["S", "M", "L"]);
    let events = product_events(&c).await;
    assert_eq!(events.len(), 2, "one product_created per product");
    assert_eq!(events[0].1.category_slug, "tops");

    let again = import_products(&c, &store, batch.clone()).await;
    assert_eq!(kinds(&again), [Outcome::Unchanged, Outcome::Unchanged]);
    let mut touched = batch.clone();
    touched[0].modified_at_ms += 1000;
    let touched = import_products(&c, &store, touched).await;
    assert_eq!(
        kinds(&touched),
        [Outcome::Unchanged, Outcome::Unchanged],
        "modification time is not compared"
    );
    assert_eq!(
        product_events(&c).await.len(),
        2,
        "unchanged records publish nothing"
    );

    let mut changed = batch.clone();
    changed[0].variants[0].price_minor = 1200;
    changed[1]
        .image_urls
        .push("https://legacy.example/new.jpg".into());
    let updated = import_products(&c, &store, changed).await;
    assert_eq!(kinds(&updated), [Outcome::Updated, Outcome::Updated]);
    let tee = get(&c, &store, &product_id(&store, 10)).await.unwrap();
    assert_eq!(
        (tee.version, tee.variants[0].price.clone().unwrap().amount_minor),
        (2, 1200)
    );
    let events = product_events(&c).await;
    assert_eq!(events.len(), 4);
    assert!(events[2].0.ends_with("product_updated"));
    assert_eq!(events[2].1.product.as_ref().unwrap().version, 2);
}

async fn a_bad_record_is_rejected_with_its_reason_and_the_rest_of_the_batch_is_written(c: Catalog) {
    let store = provisioned(&c).await;
    c.client
        .create_product(create(&store, "native", "Native", "", &[("TAKEN-1", 900)]))
        .await
        .unwrap();
    let mut sku_taken = simple(2, 100, None);
    sku_taken.variants[0].sku = "TAKEN-1".into();
    let negative = simple(3, -5, None);
    let mut untitled = simple(4, 100, None);
    untitled.title = String::new();
    let mut slug_taken = simple(5, 100, None);
    slug_taken.slug = "native".into();
    let no_category = simple(6, 100, Some(999));
    let mut same_sku = simple(8, 100, None);
    same_sku.variants[0].sku = "SKU-1".into();
    let batch = vec![
        simple(1, 100, None),
        sku_taken,
        negative,
        untitled,
        slug_taken,
        no_category,
        simple(7, 100, None),
        same_sku,
    ];
    let outcomes = import_products(&c, &store, batch).await;
    use Outcome::*;
    assert_eq!(
        kinds(&outcomes),
        [
            Created, Rejected, Rejected, Rejected, Rejected, Rejected, Created, Rejected
        ]
    );
    let reasons: Vec<&str> = outcomes.iter().map(|o| o.reason.as_str()).collect();
    assert!(
        reasons[1].contains("sku TAKEN-1 is used by another product"),
        "{}",
        reasons[1]
    );
    assert!(reasons[2].contains("variants[0].price_minor"), "{}", reasons[2]);
    assert!(reasons[3].contains("title"), "{}", reasons[3]);
    assert!(reasons[4].contains("slug native"), "{}", reasons[4]);
    assert!(
        reasons[5].contains("category 00000000000000000999 is not imported"),
        "{}",
        reasons[5]
    );
    assert!(reasons[7].contains("sku SKU-1"), "{}", reasons[7]);
    for (o, id) in outcomes.iter().zip([1, 2, 3, 4, 5, 6, 7, 8]) {
        let stored = get(&c, &store, &product_id(&store, id)).await;
        assert_eq!(stored.is_some(), o.outcome() == Created, "record {id}");
        assert_eq!(o.target_id.is_empty(), o.outcome() == Rejected);
    }
    assert_eq!(c.count("SELECT COUNT(*) FROM products").await, 3);
}

async fn a_category_parent_is_resolved_by_legacy_key_in_any_order_within_the_batch(c: Catalog) {
    let store = provisioned(&c).await;
    let batch = vec![
        category(3, "tees", Some(2)),
        category(2, "tops", None),
        category(4, "orphans", Some(99)),
        category(5, "loop-a", Some(6)),
        category(6, "loop-b", Some(5)),
    ];
    let outcomes = import_categories(&c, &store, batch.clone()).await;
    use Outcome::*;
    assert_eq!(kinds(&outcomes), [Created, Created, Rejected, Rejected, Rejected]);
    assert!(
        outcomes[2]
            .reason
            .contains("00000000000000000099 is not imported"),
        "{}",
        outcomes[2].reason
    );
    assert!(
        outcomes[3].reason.contains("own ancestor"),
        "{}",
        outcomes[3].reason
    );
    let list = c
        .client
        .list_categories(mercato_proto::catalog::ListCategoriesRequest {
            store_id: store.to_string(),
        })
        .await
        .unwrap();
    let tees = list.categories.iter().find(|c| c.slug == "tees").unwrap();
    assert_eq!(tees.parent_id, outcomes[1].target_id);

    let again = import_categories(&c, &store, batch[..2].to_vec()).await;
    assert_eq!(kinds(&again), [Unchanged, Unchanged]);
    let mut moved = category(3, "tees", None);
    moved.name = "T-shirts".into();
    let clash = category(7, "tops", None);
    let outcomes = import_categories(&c, &store, vec![moved, clash]).await;
    assert_eq!(kinds(&outcomes), [Updated, Rejected]);
    assert!(outcomes[1].reason.contains("slug tops"), "{}", outcomes[1].reason);
}

async fn a_batch_of_a_thousand_products_is_created_then_reimported_unchanged(c: Catalog) {
    let store = provisioned(&c).await;
    let batch: Vec<ImportedProduct> = (0..1000u64)
        .map(|i| {
            if i % 2 == 0 {
                simple(100 + 10 * i, 1000 + i as i64, None)
            } else {
                variable(100 + 10 * i, &["S", "M", "L"])
            }
        })
        .collect();
    let started = Instant::now();
    let outcomes = import_products(&c, &store, batch.clone()).await;
    let created = started.elapsed();
    assert!(kinds(&outcomes).iter().all(|k| *k == Outcome::Created));
    let started = Instant::now();
    let outcomes = import_products(&c, &store, batch).await;
    let unchanged = started.elapsed();
    assert!(kinds(&outcomes).iter().all(|k| *k == Outcome::Unchanged));
    assert_eq!(c.count("SELECT COUNT(*) FROM variants").await, 500 + 1500);
    eprintln!(
        "1,000 products (2,000 variants): created in {created:?} ({:.0} records/s), re-imported unchanged in {unchanged:?} ({:.0} records/s)",
        1000.0 / created.as_secs_f64(),
        1000.0 / unchanged.as_secs_f64()
    );
}
