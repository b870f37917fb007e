//! The WooCommerce reader against a real MariaDB/MySQL fixture: it gives exactly the records
//! the generator wrote, reports the planted bad rows with reasons, pages by key and follows
//! modification times. Skipped without `MERCATO_TEST_MYSQL_URL` (fails with
//! `MERCATO_TEST_REQUIRE_MYSQL=1`).

use mercato_migrate::fixture::{self, Spec, TestDatabase};
use mercato_migrate::source::{BadRow, Row, ScanFrom, Source, SourceRecord};
use mercato_migrate::woocommerce::{OrderStorage, WooCommerce};
use mercato_proto::imports::Entity;

/// Every row of `entity`, `page` at a time, each page after the last key of the one before.
async fn scan_all(
    source: &WooCommerce,
    entity: Entity,
    page: usize,
    since: Option<i64>,
) -> (Vec<SourceRecord>, Vec<BadRow>) {
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    let mut from = ScanFrom {
        after_key: None,
        modified_since_ms: since,
    };
    loop {
        let rows = source.scan(entity, &from, page).await.unwrap();
        let full = rows.len() == page;
        if let Some(last) = rows.last() {
            from.after_key = Some(last.legacy_key().to_owned());
        }
        for row in rows {
            match row {
                Row::Good(r) => good.push(r),
                Row::Bad(b) => bad.push(b),
            }
        }
        if !full {
            return (good, bad);
        }
    }
}

async fn fixture(spec: &Spec) -> Option<(TestDatabase, WooCommerce)> {
    let db = TestDatabase::create().await.unwrap()?;
    fixture::generate(db.pool(), spec).await.unwrap();
    let source = WooCommerce::connect(db.url(), &spec.prefix).await.unwrap();
    Some((db, source))
}

fn keys(records: &[SourceRecord]) -> Vec<&str> {
    records.iter().map(SourceRecord::legacy_key).collect()
}

/// A page of more owners than one `IN (…)` list holds (100) is read in several lists: every
/// entity, in both order storages, still reads as the fixture, in key order. The sizes are
/// chosen to pass 100 products, customers, orders and line items in one page of 1,000; raise
/// them with the list's length.
#[tokio::test]
async fn pages_read_in_several_id_lists_equal_the_fixture() {
    for order_storage in [OrderStorage::Hpos, OrderStorage::Posts] {
        let spec = Spec {
            products: 130,
            customers: 110,
            orders: 260,
            order_storage,
            ..Spec::default()
        };
        let Some((_db, source)) = fixture(&spec).await else {
            return;
        };
        for entity in source.entities() {
            let (good, bad) = scan_all(&source, entity, 1000, None).await;
            let expected = spec.expected(entity);
            assert!(bad.is_empty(), "{entity:?}: {bad:?}");
            assert_eq!(keys(&good), keys(&expected), "{entity:?} keys");
            assert_eq!(good, expected, "{entity:?} ({order_storage:?})");
        }
    }
}

#[tokio::test]
async fn every_entity_equals_the_fixture_and_bad_rows_have_reasons() {
    let spec = Spec {
        products: 45,
        bad_rows: true,
        ..Spec::default()
    };
    let Some((_db, source)) = fixture(&spec).await else {
        return;
    };
    assert_eq!(source.currency().await.unwrap(), fixture::CURRENCY);
    for entity in source.entities() {
        let (good, bad) = scan_all(&source, entity, 7, None).await;
        let expected = spec.expected(entity);
        assert_eq!(keys(&good), keys(&expected), "{entity:?} keys");
        for (got, want) in good.iter().zip(&expected) {
            assert_eq!(got, want, "{entity:?} {}", want.legacy_key());
            assert_eq!(got.checksum(), want.checksum());
        }
        let planted: Vec<String> = spec
            .bad_keys()
            .into_iter()
            .filter(|(e, _)| *e == entity)
            .map(|(_, k)| k)
            .collect();
        assert_eq!(
            bad.iter().map(|b| b.legacy_key.clone()).collect::<Vec<_>>(),
            planted,
            "{entity:?} bad rows: {bad:?}"
        );
    }
    let (_, bad) = scan_all(&source, Entity::Product, 100, None).await;
    let reasons: Vec<&str> = bad.iter().map(|b| b.reason.as_str()).collect();
    assert!(reasons[0].contains("negative"), "{reasons:?}");
    assert!(reasons[1].contains("not UTF-8"), "{reasons:?}");
    assert!(reasons[2].contains("without its parent"), "{reasons:?}");
    // The product without a SKU is given `WC-<id>`; the one whose given SKU is taken is bad.
    let ids = spec.bad_ids();
    assert!(
        reasons[3].contains(&format!("WC-{}", ids.sku_clash_product))
            && reasons[3].contains(&format!("post {}", ids.negative_price_product)),
        "{reasons:?}"
    );
    assert!(
        bad[0]
            .location
            .ends_with(&format!("posts.ID={}", spec.bad_ids().negative_price_product))
    );
}

#[tokio::test]
async fn a_table_prefix_is_honoured() {
    let spec = Spec {
        products: 6,
        customers: 0,
        orders: 0,
        prefix: "shop7_".into(),
        ..Spec::default()
    };
    let Some((db, source)) = fixture(&spec).await else {
        return;
    };
    let (good, _) = scan_all(&source, Entity::Product, 4, None).await;
    assert_eq!(good.len(), 6);
    let other = WooCommerce::connect(db.url(), "wp_").await.unwrap();
    assert!(
        other
            .scan(Entity::Product, &ScanFrom::default(), 10)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn customer_and_order_bad_rows_say_why() {
    let spec = Spec {
        products: 9,
        customers: 5,
        orders: 6,
        bad_rows: true,
        ..Spec::default()
    };
    let Some((_db, source)) = fixture(&spec).await else {
        return;
    };
    let (_, bad) = scan_all(&source, Entity::Customer, 100, None).await;
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].reason, "no e-mail address");
    assert!(
        bad[0]
            .location
            .ends_with(&format!("users.ID={}", spec.bad_ids().customer_without_email))
    );
    let (good, bad) = scan_all(&source, Entity::Order, 100, None).await;
    assert!(bad.is_empty(), "{bad:?}");
    // An order whose products are gone is history all the same: its lines are kept.
    let deleted = spec.deleted_product_order();
    let last = good.last().unwrap();
    assert_eq!(last, &SourceRecord::Order(deleted.clone()));
    let skus: Vec<&str> = deleted.lines.iter().map(|l| l.sku.as_str()).collect();
    assert_eq!(skus, ["OLD-SKU-7", "WC-999999997"]);
    let statuses: Vec<String> = good
        .iter()
        .map(|r| match r {
            SourceRecord::Order(o) => o.status.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(
        statuses.contains(&"partially_refunded".to_owned()),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn scans_page_after_a_key_and_follow_modification_times() {
    let spec = Spec {
        products: 12,
        customers: 8,
        orders: 20,
        ..Spec::default()
    };
    let Some((db, source)) = fixture(&spec).await else {
        return;
    };
    // After a key: exactly the rows after it, whatever the page size.
    let all = spec.expected(Entity::Order);
    let from = ScanFrom {
        after_key: Some(all[4].legacy_key().to_owned()),
        modified_since_ms: None,
    };
    let rows = source.scan(Entity::Order, &from, 3).await.unwrap();
    let got: Vec<&str> = rows.iter().map(Row::legacy_key).collect();
    assert_eq!(got, keys(&all[5..8]));
    // Modified since: only products changed at or after the time, and a change is seen.
    let product = spec.product(7);
    let since = product.record.modified_at_ms;
    let (changed, _) = scan_all(&source, Entity::Product, 5, Some(since)).await;
    assert_eq!(keys(&changed), keys(&spec.expected(Entity::Product)[7..]));
    let later = since + 3_600_000;
    let (none, _) = scan_all(&source, Entity::Product, 5, Some(later)).await;
    assert!(none.is_empty());
    let touched = spec.product(2);
    sqlx::query("UPDATE wp_posts SET post_modified_gmt = '2030-01-01 00:00:00' WHERE ID = ?")
        .bind(touched.variants[1].post_id)
        .execute(db.pool())
        .await
        .unwrap();
    sqlx::query(
        "UPDATE wp_postmeta SET meta_value = '9.99' WHERE post_id = ? AND meta_key = '_regular_price'",
    )
    .bind(touched.variants[1].post_id)
    .execute(db.pool())
    .await
    .unwrap();
    let (changed, _) = scan_all(&source, Entity::Product, 5, Some(later)).await;
    assert_eq!(keys(&changed), vec![touched.record.legacy_key.as_str()]);
    let SourceRecord::Product(p) = &changed[0] else {
        panic!()
    };
    assert_eq!(p.variants[1].price_minor, 999);
    let (orders, _) = scan_all(&source, Entity::Order, 5, Some(all[10].modified_at_ms())).await;
    assert_eq!(orders.len(), all.len() - 10);
    let (customers, _) = scan_all(&source, Entity::Customer, 3, Some(i64::MAX / 4)).await;
    assert!(customers.is_empty());
}

#[tokio::test]
async fn orders_stored_as_posts_read_as_the_same_records_as_hpos_orders() {
    let Some(db) = TestDatabase::create().await.unwrap() else {
        return;
    };
    let mut read = Vec::new();
    for (prefix, storage) in [("hpos_", OrderStorage::Hpos), ("cpt_", OrderStorage::Posts)] {
        let spec = Spec {
            products: 12,
            customers: 8,
            orders: 45,
            bad_rows: true,
            prefix: prefix.into(),
            order_storage: storage,
            ..Spec::default()
        };
        fixture::generate(db.pool(), &spec).await.unwrap();
        let source = WooCommerce::connect(db.url(), prefix).await.unwrap();
        assert_eq!(source.order_storage_in_use().await.unwrap(), storage);
        assert!(source.estimate(Entity::Order).await.unwrap() > 40);
        let (good, bad) = scan_all(&source, Entity::Order, 7, None).await;
        assert_eq!(good, spec.expected(Entity::Order), "{storage:?}");
        assert_eq!(
            bad.len(),
            spec.bad_keys()
                .iter()
                .filter(|(e, _)| *e == Entity::Order)
                .count()
        );
        let since = good[20].modified_at_ms();
        let (changed, _) = scan_all(&source, Entity::Order, 5, Some(since)).await;
        let later: Vec<SourceRecord> = good
            .iter()
            .filter(|r| r.modified_at_ms() >= since)
            .cloned()
            .collect();
        assert_eq!(keys(&changed), keys(&later), "{storage:?}");
        read.push(good);
    }
    let checksums = |records: &[SourceRecord]| records.iter().map(SourceRecord::checksum).collect::<Vec<_>>();
    assert_eq!(checksums(&read[0]), checksums(&read[1]));
    let refunded = read[1]
        .iter()
        .any(|r| matches!(r, SourceRecord::Order(o) if o.refunded_minor > 0));
    assert!(refunded, "a refund is read from posts too");
}

#[tokio::test]
async fn the_source_clock_is_the_database_s_in_utc() {
    let spec = Spec {
        products: 1,
        customers: 0,
        orders: 0,
        ..Spec::default()
    };
    let Some((_db, source)) = fixture(&spec).await else {
        return;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let clock = source.now_ms().await.unwrap().expect("WooCommerce has a clock");
    assert!((clock - now).abs() < 60_000, "database {clock}, here {now}");
}

#[tokio::test]
async fn woocommerce_s_option_names_the_order_storage_even_where_both_exist() {
    let spec = Spec {
        products: 3,
        customers: 2,
        orders: 5,
        ..Spec::default()
    };
    let Some((db, source)) = fixture(&spec).await else {
        return;
    };
    assert_eq!(source.order_storage_in_use().await.unwrap(), OrderStorage::Hpos);
    // Turned off (compatibility mode kept the tables): posts are authoritative, and here empty.
    sqlx::query(
        "UPDATE wp_options SET option_value = 'no' \
         WHERE option_name = 'woocommerce_custom_orders_table_enabled'",
    )
    .execute(db.pool())
    .await
    .unwrap();
    let off = WooCommerce::connect(db.url(), "wp_").await.unwrap();
    assert_eq!(off.order_storage_in_use().await.unwrap(), OrderStorage::Posts);
    let (orders, _) = scan_all(&off, Entity::Order, 10, None).await;
    assert!(orders.is_empty(), "{orders:?}");
    // On, but the tables are gone: posts.
    sqlx::query("UPDATE wp_options SET option_value = 'yes' WHERE option_name = 'woocommerce_custom_orders_table_enabled'")
        .execute(db.pool())
        .await
        .unwrap();
    sqlx::query("DROP TABLE wp_wc_orders")
        .execute(db.pool())
        .await
        .unwrap();
    let gone = WooCommerce::connect(db.url(), "wp_").await.unwrap();
    assert_eq!(gone.order_storage_in_use().await.unwrap(), OrderStorage::Posts);
}
