//! The product cache: read-your-writes on the writer, eviction by event on other replicas.

use crate::support::{Catalog, buses, eventually};
use mercato_proto::catalog::*;
use mercato_runtime::cache::Cache;
use mercato_runtime::db::Db;
use mercato_runtime::ids::StoreId;

fn get(store: &StoreId, key: &str) -> GetProductRequest {
    GetProductRequest {
        include_hidden: false,
        store_id: store.to_string(),
        key: key.into(),
    }
}

fn retitle(store: &StoreId, id: &str, title: &str) -> UpdateProductRequest {
    UpdateProductRequest {
        store_id: store.to_string(),
        product_id: id.into(),
        title: Some(title.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_cached_product_read_reflects_an_update_after_invalidation() {
    let (_, bus) = buses().await.remove(0);
    let c = Catalog::start(Db::sqlite_temp().await.unwrap(), bus).await;
    let store = StoreId::new();
    let p = c
        .product(&store, "chair", "Oak Chair", "", &[("CH-1", 9000)])
        .await;
    assert_eq!(
        c.client.get_product(get(&store, &p.id)).await.unwrap().title,
        "Oak Chair"
    );
    assert_eq!(
        c.client.get_product(get(&store, "chair")).await.unwrap().title,
        "Oak Chair"
    );
    let key = format!("product:{store}:{}", p.id);
    assert!(c.cache.get(&key).await.is_some(), "the read filled the cache");

    c.client
        .update_product(retitle(&store, &p.id, "Pine Chair"))
        .await
        .unwrap();
    assert_eq!(
        c.client.get_product(get(&store, &p.id)).await.unwrap().title,
        "Pine Chair"
    );
    assert_eq!(
        c.client.get_product(get(&store, "chair")).await.unwrap().title,
        "Pine Chair"
    );

    let renamed = UpdateProductRequest {
        slug: Some("stool".into()),
        ..retitle(&store, &p.id, "Stool")
    };
    c.client.update_product(renamed).await.unwrap();
    assert_eq!(
        c.client.get_product(get(&store, "stool")).await.unwrap().title,
        "Stool"
    );
    assert!(
        c.client.get_product(get(&store, "chair")).await.is_err(),
        "the old slug is free"
    );
}

#[tokio::test]
async fn another_replica_evicts_its_cached_copy_when_the_update_event_arrives() {
    for (name, bus) in buses().await {
        let db = Db::sqlite_temp().await.unwrap();
        let writer = Catalog::start(db.clone(), bus.clone()).await;
        let reader = Catalog::replica(db, bus.clone()).await;
        let store = StoreId::new();
        let p = writer
            .product(&store, "desk", "Walnut Desk", "", &[("D-1", 30_000)])
            .await;
        assert_eq!(
            reader.client.get_product(get(&store, &p.id)).await.unwrap().title,
            "Walnut Desk"
        );

        writer
            .client
            .update_product(retitle(&store, &p.id, "Maple Desk"))
            .await
            .unwrap();
        eventually(&format!("{name}: the reader's cache evicted"), || async {
            reader.client.get_product(get(&store, &p.id)).await.unwrap().title == "Maple Desk"
        })
        .await;
    }
}
