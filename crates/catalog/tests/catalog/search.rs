//! Search: matching, typos, facets and filters, and how the index follows events.

use crate::support::{Catalog, buses};
use mercato_proto::catalog::*;
use mercato_proto::events::ProductChanged;
use mercato_runtime::db::Db;
use mercato_runtime::ids::StoreId;
use prost::Message;

async fn sqlite_catalogs() -> Vec<(&'static str, Catalog)> {
    let mut all = Vec::new();
    for (name, bus) in buses().await {
        all.push((name, Catalog::start(Db::sqlite_temp().await.unwrap(), bus).await));
    }
    all
}

fn titles(r: &SearchResponse) -> Vec<&str> {
    r.hits.iter().map(|h| h.title.as_str()).collect()
}

#[tokio::test]
async fn search_finds_a_product_by_an_exact_word_a_typo_or_a_prefix() {
    for (bus, c) in sqlite_catalogs().await {
        let store = StoreId::new();
        c.category(&store, "tops", "Tops", "").await;
        let shirt = c
            .product(&store, "blue-shirt", "Blue Shirt", "tops", &[("TS-1", 2500)])
            .await;
        c.product(&store, "red-mug", "Red Mug", "", &[("MUG-9", 800)])
            .await;
        c.search_until(&store, "", |r| r.total == 2).await;
        let found = c.search(&store, "shirt").await;
        let hit = &found.hits[0];
        assert_eq!(
            (hit.product_id.as_str(), hit.slug.as_str(), hit.category.as_str()),
            (shirt.id.as_str(), "blue-shirt", "tops"),
            "{bus}"
        );
        assert_eq!(
            hit.min_price.as_ref().unwrap(),
            &Money {
                amount_minor: 2500,
                currency: "EUR".into()
            },
            "{bus}"
        );
        assert_eq!(
            titles(&c.search(&store, "blu shrt").await),
            ["Blue Shirt"],
            "typos ({bus})"
        );
        assert_eq!(
            titles(&c.search(&store, "BLUE SHIRT").await),
            ["Blue Shirt"],
            "{bus}"
        );
        assert_eq!(
            titles(&c.search(&store, "shi").await),
            ["Blue Shirt"],
            "prefix ({bus})"
        );
        assert_eq!(
            titles(&c.search(&store, "mug-9").await),
            ["Red Mug"],
            "sku ({bus})"
        );
        assert_eq!(
            titles(&c.search(&store, "tops").await),
            ["Blue Shirt"],
            "category name ({bus})"
        );
        assert_eq!(
            c.search(&store, "blue mug").await.total,
            0,
            "every word must match ({bus})"
        );
        assert_eq!(c.search(&store, "xylophone").await.total, 0, "{bus}");
        assert_eq!(
            c.search(&store, "").await.total,
            2,
            "an empty query browses everything ({bus})"
        );
        assert_eq!(
            c.search(&StoreId::new(), "shirt").await.total,
            0,
            "other stores see nothing ({bus})"
        );
    }
}

#[tokio::test]
async fn search_counts_categories_and_price_buckets_over_all_matches_and_filters_on_them() {
    for (bus, c) in sqlite_catalogs().await {
        let store = StoreId::new();
        c.category(&store, "tops", "Tops", "").await;
        c.category(&store, "bottoms", "Bottoms", "").await;
        c.product(&store, "cheap-shirt", "Cheap Shirt", "tops", &[("S-1", 500)])
            .await;
        c.product(
            &store,
            "fancy-shirt",
            "Fancy Shirt",
            "tops",
            &[("S-2", 12_000), ("S-3", 7_000)],
        )
        .await;
        c.product(&store, "shirt-dress", "Shirt Dress", "bottoms", &[("S-4", 2_500)])
            .await;
        c.product(&store, "plain-shirt", "Plain Shirt", "", &[("S-5", 1_000)])
            .await;
        c.search_until(&store, "shirt", |r| r.total == 4).await;

        let page = c
            .client
            .search(SearchRequest {
                store_id: store.to_string(),
                query: "shirt".into(),
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!((page.hits.len(), page.total), (1, 4), "{bus}");
        let categories: Vec<_> = page
            .categories
            .iter()
            .map(|f| (f.value.as_str(), f.count))
            .collect();
        assert_eq!(categories, [("tops", 2), ("bottoms", 1)], "{bus}");
        let buckets: Vec<_> = page
            .price_ranges
            .iter()
            .map(|b| (b.from_minor, b.to_minor, b.count))
            .collect();
        assert_eq!(
            buckets,
            [
                (0, 1_000, 1),
                (1_000, 2_500, 1),
                (2_500, 5_000, 1),
                (5_000, 10_000, 1),
                (10_000, -1, 0)
            ],
            "the fancy shirt counts at its lowest price ({bus})"
        );
        let second = c
            .client
            .search(SearchRequest {
                store_id: store.to_string(),
                query: "shirt".into(),
                limit: 1,
                offset: 1,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_ne!(second.hits[0].product_id, page.hits[0].product_id, "{bus}");

        let filtered = c
            .client
            .search(SearchRequest {
                store_id: store.to_string(),
                query: "shirt".into(),
                category: "tops".into(),
                min_price_minor: Some(1_000),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(titles(&filtered), ["Fancy Shirt"], "{bus}");
        let priced = c
            .client
            .search(SearchRequest {
                store_id: store.to_string(),
                max_price_minor: Some(2_500),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(priced.total, 3, "inclusive bounds ({bus})");
    }
}

#[tokio::test]
async fn an_update_becomes_searchable_within_a_second_and_a_deletion_leaves_the_index() {
    for (bus, c) in sqlite_catalogs().await {
        let store = StoreId::new();
        let p = c
            .product(&store, "kettle", "Copper Kettle", "", &[("K-1", 3000)])
            .await;
        c.search_until(&store, "copper", |r| r.total == 1).await;
        c.client
            .update_product(UpdateProductRequest {
                store_id: store.to_string(),
                product_id: p.id.clone(),
                title: Some("Steel Kettle".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        let started = std::time::Instant::now();
        c.search_until(&store, "steel", |r| r.total == 1).await;
        println!("{bus}: update searchable after {:?}", started.elapsed());
        assert_eq!(
            titles(&c.search(&store, "kettle").await),
            ["Steel Kettle"],
            "{bus}"
        );
        c.client
            .delete_product(DeleteProductRequest {
                store_id: store.to_string(),
                product_id: p.id.clone(),
            })
            .await
            .unwrap();
        c.search_until(&store, "kettle", |r| r.total == 0).await;
    }
}

#[tokio::test]
async fn events_older_than_the_indexed_version_are_ignored() {
    for (bus, c) in sqlite_catalogs().await {
        let store = StoreId::new();
        let v1 = c
            .product(&store, "vase", "Glass Vase", "", &[("V-1", 1500)])
            .await;
        c.client
            .update_product(UpdateProductRequest {
                store_id: store.to_string(),
                product_id: v1.id.clone(),
                title: Some("Crystal Vase".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        c.search_until(&store, "crystal", |r| r.total == 1).await;

        // A late redelivery of version 1, as if it had been stuck somewhere.
        let mut stale = v1.clone();
        stale.title = "Ancient Relic".into();
        let event = mercato_runtime::outbox::envelope(
            &store.to_string(),
            "mercato.catalog.product_updated",
            1,
            &ProductChanged {
                product: Some(stale),
                ..Default::default()
            },
        );
        c.bus
            .publish(&event.subject, &event.id, event.encode_to_vec().into())
            .await
            .unwrap();
        // Events reach the index in order: once a later product is searchable, the stale
        // event has been handled.
        c.product(&store, "sentinel", "Sentinel", "", &[("SEN-1", 1)])
            .await;
        c.search_until(&store, "sentinel", |r| r.total == 1).await;
        assert_eq!(c.search(&store, "relic").await.total, 0, "{bus}");
        assert_eq!(titles(&c.search(&store, "vase").await), ["Crystal Vase"], "{bus}");
    }
}

#[tokio::test]
async fn a_new_replica_builds_its_index_from_the_database() {
    let db = Db::sqlite_temp().await.unwrap();
    let (_, bus) = buses().await.remove(0);
    let first = Catalog::start(db.clone(), bus.clone()).await;
    let store = StoreId::new();
    first
        .product(&store, "globe", "Desk Globe", "", &[("G-1", 5000)])
        .await;
    let deleted = first
        .product(&store, "gone", "Gone Globe", "", &[("G-2", 5000)])
        .await;
    first
        .client
        .delete_product(DeleteProductRequest {
            store_id: store.to_string(),
            product_id: deleted.id,
        })
        .await
        .unwrap();
    // A bus nobody publishes on: whatever the new replica finds came from the database.
    let quiet = buses().await.remove(0).1;
    let second = Catalog::replica(db, quiet).await;
    assert_eq!(titles(&second.search(&store, "globe").await), ["Desk Globe"]);
}
