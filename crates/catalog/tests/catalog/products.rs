//! Product writes and reads.

use crate::support::{Catalog, code, create};
use mercato_proto::catalog::*;
use mercato_proto::events::{EventEnvelope, ProductChanged, ProductDeleted, StoreProvisioned};
use mercato_runtime::error::ErrorCode;
use mercato_runtime::ids::StoreId;
use prost::Message;

mercato_runtime::backend_tests! {
    setup: Catalog::on,
    cases: [
        a_product_round_trips_through_create_get_update_and_delete_with_its_events_in_the_outbox,
        a_taken_slug_or_sku_is_answered_slug_taken_or_sku_taken,
        bad_input_lists_every_bad_field_and_writes_nothing,
        store_b_cannot_read_update_or_delete_a_product_of_store_a,
        a_product_is_found_by_slug_and_ids_that_are_not_uuids_are_not_found,
        replacing_variants_keeps_the_id_of_a_surviving_sku_and_bumps_the_version,
        an_empty_currency_takes_the_provisioned_store_currency_and_is_required_otherwise,
    ],
}

async fn outbox(c: &Catalog) -> Vec<EventEnvelope> {
    let rows: Vec<(Vec<u8>,)> =
        c.db.query_all("SELECT payload FROM outbox ORDER BY id", &[])
            .await
            .unwrap();
    rows.into_iter()
        .map(|(p,)| EventEnvelope::decode(p.as_slice()).unwrap())
        .collect()
}

async fn a_product_round_trips_through_create_get_update_and_delete_with_its_events_in_the_outbox(
    c: Catalog,
) {
    assert!(c.service.ready().await);
    let store = StoreId::new();
    let tops = c.category(&store, "tops", "Tops", "").await;
    let created = c
        .product(
            &store,
            "blue-shirt",
            "Blue Shirt",
            "tops",
            &[("TS-BLU-M", 2500), ("TS-BLU-L", 2700)],
        )
        .await;
    assert_eq!(created.version, 1);
    assert_eq!(created.category_id, tops.id);
    let got = c
        .client
        .get_product(GetProductRequest {
            include_hidden: false,
            store_id: store.to_string(),
            key: created.id.clone(),
        })
        .await
        .unwrap();
    assert_eq!(got, created);

    let updated = c
        .client
        .update_product(UpdateProductRequest {
            store_id: store.to_string(),
            product_id: created.id.clone(),
            title: Some("Navy Shirt".into()),
            category: Some(String::new()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.title, "Navy Shirt");
    assert_eq!(updated.slug, "blue-shirt", "a partial update keeps other fields");
    assert_eq!(updated.variants, created.variants);
    assert_eq!(updated.category_id, "", "an empty category clears it");

    c.client
        .delete_product(DeleteProductRequest {
            store_id: store.to_string(),
            product_id: created.id.clone(),
        })
        .await
        .unwrap();
    let gone = c
        .client
        .get_product(GetProductRequest {
            include_hidden: false,
            store_id: store.to_string(),
            key: created.id.clone(),
        })
        .await;
    assert_eq!(code(gone), ErrorCode::NotFound);
    assert_eq!(
        c.count("SELECT COUNT(*) FROM variants").await,
        0,
        "variants go too"
    );

    let events = outbox(&c).await;
    let subjects: Vec<_> = events.iter().map(|e| e.subject.as_str()).collect();
    assert_eq!(
        subjects,
        [
            "mercato.catalog.category_created",
            "mercato.catalog.product_created",
            "mercato.catalog.product_updated",
            "mercato.catalog.product_deleted"
        ]
    );
    assert!(events.iter().all(|e| e.store_id == store.to_string()));
    let first = ProductChanged::decode(events[1].payload.as_slice()).unwrap();
    assert_eq!(first.product.unwrap(), created);
    assert_eq!(
        (first.category_slug.as_str(), first.category_name.as_str()),
        ("tops", "Tops")
    );
    let second = ProductChanged::decode(events[2].payload.as_slice()).unwrap();
    assert_eq!(second.product.unwrap().title, "Navy Shirt");
    let deleted = ProductDeleted::decode(events[3].payload.as_slice()).unwrap();
    assert_eq!((deleted.product_id, deleted.version), (created.id, 3));
}

async fn a_taken_slug_or_sku_is_answered_slug_taken_or_sku_taken(c: Catalog) {
    let store = StoreId::new();
    let first = c.product(&store, "mug", "Mug", "", &[("MUG-1", 900)]).await;
    let same_slug = c
        .client
        .create_product(create(&store, "mug", "Mug 2", "", &[("MUG-2", 900)]))
        .await;
    assert_eq!(code(same_slug), ErrorCode::SlugTaken);
    let same_sku = c
        .client
        .create_product(create(&store, "cup", "Cup", "", &[("MUG-1", 900)]))
        .await;
    let e = same_sku.unwrap_err();
    assert_eq!((e.code, e.fields[0].field.as_str()), (ErrorCode::SkuTaken, "sku"));

    let other = c.product(&store, "cup", "Cup", "", &[("CUP-1", 500)]).await;
    let rename = c
        .client
        .update_product(UpdateProductRequest {
            store_id: store.to_string(),
            product_id: other.id.clone(),
            slug: Some("mug".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(code(rename), ErrorCode::SlugTaken);
    let steal_sku = c
        .client
        .update_product(UpdateProductRequest {
            store_id: store.to_string(),
            product_id: other.id.clone(),
            replace_variants: true,
            variants: create(&store, "x", "x", "", &[("MUG-1", 1)]).variants,
            ..Default::default()
        })
        .await;
    assert_eq!(code(steal_sku), ErrorCode::SkuTaken);

    // The same slug and SKU are free in another store.
    c.product(&StoreId::new(), "mug", "Mug", "", &[("MUG-1", 900)])
        .await;
    assert_eq!(c.count("SELECT COUNT(*) FROM products").await, 3);
    let _ = first;
}

async fn bad_input_lists_every_bad_field_and_writes_nothing(c: Catalog) {
    let store = StoreId::new();
    let mut req = create(
        &store,
        "Not A Slug",
        "",
        "no-such-category",
        &[("OK-1", -1), ("bad sku!", 100)],
    );
    req.description = "x".repeat(10_001);
    req.variants[1].currency = "USD".into();
    let e = c.client.create_product(req).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ValidationFailed);
    let fields: Vec<_> = e.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "slug",
            "title",
            "description",
            "category",
            "variants[0].price_minor",
            "variants[1].sku"
        ]
    );
    let none = c
        .client
        .create_product(create(&store, "empty", "Empty", "", &[]))
        .await
        .unwrap_err();
    assert_eq!(none.fields[0].field, "variants");
    let too_many: Vec<(String, i64)> = (0..101).map(|i| (format!("SKU-{i}"), 1)).collect();
    let too_many: Vec<(&str, i64)> = too_many.iter().map(|(s, p)| (s.as_str(), *p)).collect();
    let e = c
        .client
        .create_product(create(&store, "many", "Many", "", &too_many))
        .await;
    assert_eq!(code(e), ErrorCode::ValidationFailed);
    let mut mixed = create(&store, "mixed", "Mixed", "", &[("M-1", 1), ("M-2", 2)]);
    mixed.variants[1].currency = "USD".into();
    let e = c.client.create_product(mixed).await.unwrap_err();
    assert_eq!(e.fields[0].field, "variants");

    let p = c.product(&store, "good", "Good", "", &[("G-1", 100)]).await;
    let e = c
        .client
        .update_product(UpdateProductRequest {
            store_id: store.to_string(),
            product_id: p.id.clone(),
            slug: Some("BAD".into()),
            title: Some(String::new()),
            category: Some("nope".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let fields: Vec<_> = e.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["slug", "title", "category"]);
    assert_eq!(c.count("SELECT COUNT(*) FROM products").await, 1);
    assert_eq!(c.count("SELECT COUNT(*) FROM variants").await, 1);
    assert_eq!(
        c.count("SELECT COUNT(*) FROM outbox").await,
        1,
        "only the good product's event"
    );
    let unchanged = c
        .client
        .get_product(GetProductRequest {
            include_hidden: false,
            store_id: store.to_string(),
            key: p.id.clone(),
        })
        .await
        .unwrap();
    assert_eq!(unchanged, p);
}

async fn store_b_cannot_read_update_or_delete_a_product_of_store_a(c: Catalog) {
    let (a, b) = (StoreId::new(), StoreId::new());
    let p = c.product(&a, "secret", "Secret", "", &[("S-1", 100)]).await;
    for key in [p.id.clone(), p.slug.clone()] {
        let read = c
            .client
            .get_product(GetProductRequest {
                include_hidden: false,
                store_id: b.to_string(),
                key,
            })
            .await;
        assert_eq!(code(read), ErrorCode::NotFound);
    }
    let update = c
        .client
        .update_product(UpdateProductRequest {
            store_id: b.to_string(),
            product_id: p.id.clone(),
            title: Some("Mine now".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(code(update), ErrorCode::NotFound);
    let delete = c
        .client
        .delete_product(DeleteProductRequest {
            store_id: b.to_string(),
            product_id: p.id.clone(),
        })
        .await;
    assert_eq!(code(delete), ErrorCode::NotFound);
    let list = c
        .client
        .list_products(ListProductsRequest {
            include_hidden: false,
            store_id: b.to_string(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(list.total, 0);
    let still = c
        .client
        .get_product(GetProductRequest {
            include_hidden: false,
            store_id: a.to_string(),
            key: p.id.clone(),
        })
        .await
        .unwrap();
    assert_eq!(still, p);
}

async fn a_product_is_found_by_slug_and_ids_that_are_not_uuids_are_not_found(c: Catalog) {
    let store = StoreId::new();
    let p = c.product(&store, "lamp", "Lamp", "", &[("L-1", 4000)]).await;
    let get = |key: &str| {
        c.client.get_product(GetProductRequest {
            include_hidden: false,
            store_id: store.to_string(),
            key: key.into(),
        })
    };
    assert_eq!(get("lamp").await.unwrap(), p);
    assert_eq!(code(get("not-a-product").await), ErrorCode::NotFound);
    assert_eq!(code(get("").await), ErrorCode::NotFound);
    let update = c
        .client
        .update_product(UpdateProductRequest {
            store_id: store.to_string(),
            product_id: "12345".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(code(update), ErrorCode::NotFound);
    let delete = c
        .client
        .delete_product(DeleteProductRequest {
            store_id: store.to_string(),
            product_id: "x".into(),
        })
        .await;
    assert_eq!(code(delete), ErrorCode::NotFound);
}

async fn replacing_variants_keeps_the_id_of_a_surviving_sku_and_bumps_the_version(c: Catalog) {
    let store = StoreId::new();
    let p = c
        .product(&store, "sock", "Sock", "", &[("SO-1", 300), ("SO-2", 350)])
        .await;
    let updated = c
        .client
        .update_product(UpdateProductRequest {
            store_id: store.to_string(),
            product_id: p.id.clone(),
            replace_variants: true,
            variants: create(&store, "x", "x", "", &[("SO-2", 400), ("SO-3", 450)]).variants,
            ..Default::default()
        })
        .await
        .unwrap();
    let skus: Vec<_> = updated.variants.iter().map(|v| v.sku.as_str()).collect();
    assert_eq!(skus, ["SO-2", "SO-3"]);
    assert_eq!(updated.variants[0].id, p.variants[1].id);
    assert_eq!(updated.variants[0].price.as_ref().unwrap().amount_minor, 400);
    assert_eq!(updated.version, 2);
    assert_eq!(c.count("SELECT COUNT(*) FROM variants").await, 2);
}

async fn an_empty_currency_takes_the_provisioned_store_currency_and_is_required_otherwise(c: Catalog) {
    let store = StoreId::new();
    let mut req = create(&store, "tea", "Tea", "", &[("TEA-1", 500)]);
    req.variants[0].currency = String::new();
    let e = c.client.create_product(req.clone()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ValidationFailed);
    assert_eq!(e.fields[0].field, "variants[0].currency");
    assert_eq!(e.fields[0].message, "is required");

    let provisioned = StoreProvisioned {
        time_zone: "UTC".to_owned(),
        store_id: store.to_string(),
        slug: "tea-shop".into(),
        name: "Tea Shop".into(),
        currency: "GBP".into(),
    };
    let event = mercato_runtime::outbox::envelope(
        &store.to_string(),
        "mercato.identity.store_provisioned",
        1,
        &provisioned,
    );
    // The in-process bus returns once the consumer group has processed the event.
    c.bus
        .publish(&event.subject, &event.id, event.encode_to_vec().into())
        .await
        .unwrap();
    let p = c.client.create_product(req).await.unwrap();
    assert_eq!(p.variants[0].price.as_ref().unwrap().currency, "GBP");
}
