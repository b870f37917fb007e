//! What a product carries besides its title and prices: variant weights and shipping, the
//! product's tax category; stored on both backends and carried by the product events.

use crate::support::{Catalog, create};
use mercato_proto::catalog::*;
use mercato_proto::events::{EventEnvelope, ProductChanged};
use mercato_runtime::error::ErrorCode;
use mercato_runtime::ids::StoreId;
use prost::Message;

mercato_runtime::backend_tests! {
    setup: Catalog::on,
    cases: [
        weights_shipping_and_tax_category_are_stored_returned_and_carried_by_the_events,
        a_bad_weight_or_tax_category_is_refused_and_writes_nothing,
    ],
}

/// The product in the last product event in the outbox.
pub async fn last_product_event(c: &Catalog) -> Product {
    let rows: Vec<(Vec<u8>,)> =
        c.db.query_all("SELECT payload FROM outbox ORDER BY id", &[])
            .await
            .unwrap();
    let changed = rows
        .iter()
        .map(|(p,)| EventEnvelope::decode(p.as_slice()).unwrap())
        .rfind(|e| e.subject.starts_with("mercato.catalog.product_"))
        .expect("a product event");
    ProductChanged::decode(changed.payload.as_slice())
        .unwrap()
        .product
        .expect("the product")
}

async fn weights_shipping_and_tax_category_are_stored_returned_and_carried_by_the_events(c: Catalog) {
    let store = StoreId::new();
    let mut req = create(
        &store,
        "ebook-and-print",
        "Book",
        "",
        &[("BK-E", 900), ("BK-P", 2000)],
    );
    req.tax_category = "reduced".into();
    req.variants[0].requires_shipping = Some(false);
    req.variants[1].weight_grams = Some(450);
    let created = c.client.create_product(req).await.unwrap();
    assert_eq!(created.tax_category, "reduced");
    let shipped: Vec<_> = created
        .variants
        .iter()
        .map(|v| (v.weight_grams, v.requires_shipping))
        .collect();
    assert_eq!(shipped, [(0, Some(false)), (450, Some(true))]);
    assert_eq!(last_product_event(&c).await, created);

    let got = c
        .client
        .get_product(GetProductRequest {
            store_id: store.to_string(),
            key: created.id.clone(),
        })
        .await
        .unwrap();
    assert_eq!(got, created, "read back from storage");

    let updated = c
        .client
        .update_product(UpdateProductRequest {
            store_id: store.to_string(),
            product_id: created.id.clone(),
            tax_category: Some("zero".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(updated.tax_category, "zero");
    assert_eq!(updated.variants, created.variants, "variants untouched");
    let listed = c
        .client
        .list_products(ListProductsRequest {
            store_id: store.to_string(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.products, std::slice::from_ref(&updated));
    assert_eq!(last_product_event(&c).await, updated);
}

async fn a_bad_weight_or_tax_category_is_refused_and_writes_nothing(c: Catalog) {
    let store = StoreId::new();
    let mut req = create(&store, "anvil", "Anvil", "", &[("AN-1", 9000)]);
    req.tax_category = "Heavy Goods".into();
    req.variants[0].weight_grams = Some(2_000_000);
    let e = c.client.create_product(req).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ValidationFailed);
    let fields: Vec<_> = e.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["tax_category", "variants[0].weight_grams"]);
    assert_eq!(c.count("SELECT COUNT(*) FROM products").await, 0);
}
