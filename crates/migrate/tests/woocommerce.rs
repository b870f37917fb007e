//! The WooCommerce reader against a real MariaDB/MySQL fixture: it gives exactly the records
//! the generator wrote, reports the planted bad rows with reasons, pages by key and follows
//! modification times. Skipped without `MERCATO_TEST_MYSQL_URL` (fails with
//! `MERCATO_TEST_REQUIRE_MYSQL=1`).

use mercato_migrate::fixture::{self, Spec, TestDatabase};
use mercato_migrate::source::{BadRow, Row, ScanFrom, Source, SourceRecord};
use mercato_migrate::woocommerce::WooCommerce;
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

#[tokio::test]
async fn catalog_and_stock_equal_the_fixture() {
    let spec = Spec {
        products: 45,
        bad_rows: true,
        ..Spec::default()
    };
    let Some((_db, source)) = fixture(&spec).await else {
        return;
    };
    assert_eq!(source.currency().await.unwrap(), fixture::CURRENCY);
    for entity in [Entity::Category, Entity::Product, Entity::Stock] {
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
