//! What a product carries besides its title and prices: variant weights and shipping, the
//! product's tax category, status and option types; stored on both backends and carried by the product
//! events. Only active products are public: listed, read and found.

use crate::support::{Catalog, create};
use mercato_proto::catalog::*;
use mercato_proto::events::{EventEnvelope, ProductChanged, StoreProvisioned};
use mercato_runtime::error::ErrorCode;
use mercato_runtime::ids::StoreId;
use prost::Message;

mercato_runtime::backend_tests! {
    setup: Catalog::on,
    cases: [
        weights_shipping_and_tax_category_are_stored_returned_and_carried_by_the_events,
        a_bad_weight_or_tax_category_is_refused_and_writes_nothing,
        drafts_and_archived_products_are_seen_by_staff_only_and_never_found,
        a_price_in_another_currency_than_the_stores_is_refused,
        variant_options_are_stored_returned_replaced_and_checked,
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
            include_hidden: false,
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
            include_hidden: false,
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

fn get(store: &StoreId, key: &str, include_hidden: bool) -> GetProductRequest {
    GetProductRequest {
        store_id: store.to_string(),
        key: key.into(),
        include_hidden,
    }
}

async fn listed(c: &Catalog, store: &StoreId, include_hidden: bool) -> Vec<String> {
    let page = c
        .client
        .list_products(ListProductsRequest {
            store_id: store.to_string(),
            sort: "title".into(),
            include_hidden,
            ..Default::default()
        })
        .await
        .unwrap();
    page.products.into_iter().map(|p| p.slug).collect()
}

async fn drafts_and_archived_products_are_seen_by_staff_only_and_never_found(c: Catalog) {
    let store = StoreId::new();
    let mut draft = create(&store, "draft-lamp", "Draft Lamp", "", &[("LAMP-D", 900)]);
    draft.status = "draft".into();
    let draft = c.client.create_product(draft).await.unwrap();
    assert_eq!(draft.status, "draft");
    let active = c
        .product(&store, "live-lamp", "Live Lamp", "", &[("LAMP-L", 900)])
        .await;
    assert_eq!(active.status, "active", "the default");
    assert_eq!(last_product_event(&c).await.status, "active");

    assert_eq!(listed(&c, &store, false).await, ["live-lamp"]);
    assert_eq!(listed(&c, &store, true).await, ["draft-lamp", "live-lamp"]);
    let hidden = c.client.get_product(get(&store, "draft-lamp", false)).await;
    assert_eq!(hidden.unwrap_err().code, ErrorCode::NotFound);
    let hidden = c.client.get_product(get(&store, &draft.id, false)).await;
    assert_eq!(hidden.unwrap_err().code, ErrorCode::NotFound);
    let seen = c.client.get_product(get(&store, &draft.id, true)).await.unwrap();
    assert_eq!(seen, draft);
    c.search_until(&store, "lamp", |r| {
        r.hits.len() == 1 && r.hits[0].slug == "live-lamp"
    })
    .await;

    // Archiving takes a product out of the listing, the reads and the index; activating brings
    // the draft in.
    for (id, status) in [(&active.id, "archived"), (&draft.id, "active")] {
        let changed = c
            .client
            .update_product(UpdateProductRequest {
                store_id: store.to_string(),
                product_id: id.clone(),
                status: Some(status.into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(changed.status, status);
        assert_eq!(
            last_product_event(&c).await.status,
            status,
            "the event carries it"
        );
    }
    assert_eq!(listed(&c, &store, false).await, ["draft-lamp"]);
    let archived = c.client.get_product(get(&store, "live-lamp", false)).await;
    assert_eq!(archived.unwrap_err().code, ErrorCode::NotFound);
    c.search_until(&store, "lamp", |r| {
        r.hits.len() == 1 && r.hits[0].slug == "draft-lamp"
    })
    .await;

    let bad = c
        .client
        .update_product(UpdateProductRequest {
            store_id: store.to_string(),
            product_id: draft.id.clone(),
            status: Some("hidden".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (bad.code, bad.fields[0].field.as_str()),
        (ErrorCode::ValidationFailed, "status")
    );
}

async fn a_price_in_another_currency_than_the_stores_is_refused(c: Catalog) {
    let store = StoreId::new();
    let provisioned = StoreProvisioned {
        time_zone: "UTC".to_owned(),
        store_id: store.to_string(),
        slug: "shop".into(),
        name: "Shop".into(),
        currency: "USD".into(),
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
    let e = c
        .client
        .create_product(create(&store, "tee", "Tee", "", &[("T-1", 1000)]))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::ValidationFailed);
    assert_eq!(e.fields[0].field, "variants[0].currency");
    assert_eq!(e.fields[0].message, "must be the store's currency, USD");
    assert_eq!(c.count("SELECT COUNT(*) FROM products").await, 0);
}

fn option(name: &str, values: &[&str]) -> OptionType {
    OptionType {
        name: name.into(),
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

fn choose(pairs: &[(&str, &str)]) -> Vec<OptionValue> {
    pairs
        .iter()
        .map(|(option, value)| OptionValue {
            option: option.to_string(),
            value: value.to_string(),
        })
        .collect()
}

async fn variant_options_are_stored_returned_replaced_and_checked(c: Catalog) {
    let store = StoreId::new();
    let mut req = create(
        &store,
        "tee",
        "Tee",
        "",
        &[("TEE-S-RED", 1000), ("TEE-M-RED", 1000)],
    );
    req.options = vec![option("Size", &["S", "M"]), option("Colour", &["Red", "Blue"])];
    req.variants[0].option_values = choose(&[("Colour", "Red"), ("Size", "S")]);
    req.variants[1].option_values = choose(&[("Size", "M"), ("Colour", "Red")]);
    let created = c.client.create_product(req.clone()).await.unwrap();
    assert_eq!(created.options, req.options);
    assert_eq!(
        created.variants[0].option_values,
        choose(&[("Size", "S"), ("Colour", "Red")]),
        "in the types' order"
    );
    assert_eq!(last_product_event(&c).await, created);
    let got = c.client.get_product(get(&store, "tee", false)).await.unwrap();
    assert_eq!(got, created, "read back from storage");

    // Two variants with the same combination, a value of no type, a missing type: refused.
    let mut bad = req.clone();
    bad.slug = "tee-2".into();
    bad.variants[0].sku = "TEE2-A".into();
    bad.variants[1].sku = "TEE2-B".into();
    bad.variants[1].option_values = choose(&[("Size", "S"), ("Colour", "Red")]);
    let e = c.client.create_product(bad.clone()).await.unwrap_err();
    assert_eq!(
        (e.code, e.fields[0].field.as_str()),
        (ErrorCode::ValidationFailed, "variants[1].option_values")
    );
    bad.variants[1].option_values = choose(&[("Size", "XL"), ("Colour", "Red")]);
    assert_eq!(
        c.client.create_product(bad.clone()).await.unwrap_err().fields[0].field,
        "variants[1].option_values"
    );
    bad.variants[1].option_values = choose(&[("Size", "M")]);
    assert_eq!(
        c.client.create_product(bad).await.unwrap_err().fields[0].field,
        "variants[1].option_values"
    );

    // Replacing the variants replaces the option types with them.
    let replaced = c
        .client
        .update_product(UpdateProductRequest {
            store_id: store.to_string(),
            product_id: created.id.clone(),
            replace_variants: true,
            options: vec![option("Size", &["One size"])],
            variants: vec![VariantInput {
                sku: "TEE-ONE".into(),
                price_minor: 1200,
                currency: "EUR".into(),
                option_values: choose(&[("Size", "One size")]),
                ..Default::default()
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(replaced.options, [option("Size", &["One size"])]);
    let got = c.client.get_product(get(&store, "tee", false)).await.unwrap();
    assert_eq!(got, replaced);
    let listed = c
        .client
        .list_products(ListProductsRequest {
            store_id: store.to_string(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        listed.products[0].variants[0].option_values,
        choose(&[("Size", "One size")])
    );
    assert_eq!(c.count("SELECT COUNT(*) FROM products").await, 1);
}
