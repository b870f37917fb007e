//! What the legacy import tests share: a provisioned store, records as a WooCommerce reader
//! would send them, and the calls with their outcomes.

use crate::support::Catalog;
use mercato_proto::events::StoreProvisioned;
use mercato_proto::imports::*;
use mercato_runtime::ids::StoreId;
use mercato_runtime::imports::{Canonical, numeric_key, target_id};
use prost::Message;

pub const SOURCE: &str = "woocommerce";

/// A store the catalog knows (with its currency, EUR), as after `store_provisioned`.
pub async fn provisioned(c: &Catalog) -> StoreId {
    let store = StoreId::new();
    let event = StoreProvisioned {
        time_zone: "UTC".to_owned(),
        store_id: store.to_string(),
        slug: format!("shop-{}", &store.to_string()[..8]),
        name: "Shop".into(),
        currency: "EUR".into(),
    };
    let envelope = mercato_runtime::outbox::envelope(
        &store.to_string(),
        "mercato.identity.store_provisioned",
        1,
        &event,
    );
    // The in-process bus returns once the consumer group has processed the event.
    c.bus
        .publish(&envelope.subject, &envelope.id, envelope.encode_to_vec().into())
        .await
        .unwrap();
    store
}

pub fn category(id: u64, slug: &str, parent: Option<u64>) -> ImportedCategory {
    ImportedCategory {
        legacy_key: numeric_key(id),
        name: format!("Category {slug}"),
        slug: slug.into(),
        parent_legacy_key: parent.map(numeric_key).unwrap_or_default(),
        modified_at_ms: 1_700_000_000_000 + id as i64,
    }
}

/// A simple product: one variant, keyed like the product, no options.
pub fn simple(id: u64, price_minor: i64, category: Option<u64>) -> ImportedProduct {
    ImportedProduct {
        legacy_key: numeric_key(id),
        slug: format!("product-{id}"),
        title: format!("Product {id}"),
        description: format!("All about product {id}.\nTwo lines."),
        status: "active".into(),
        category_legacy_key: category.map(numeric_key).unwrap_or_default(),
        variants: vec![ImportedVariant {
            legacy_key: numeric_key(id),
            sku: format!("SKU-{id}"),
            title: String::new(),
            price_minor,
            weight_grams: 250,
            requires_shipping: true,
            option_values: Vec::new(),
        }],
        image_urls: vec![format!("https://legacy.example/wp-content/uploads/{id}.jpg")],
        modified_at_ms: 1_700_000_000_000 + id as i64,
        ..Default::default()
    }
}

/// A variable product with a Size option and one variation per size (keys `id+1`, `id+2`…).
pub fn variable(id: u64, sizes: &[&str]) -> ImportedProduct {
    let variants = sizes
        .iter()
        .enumerate()
        .map(|(i, size)| ImportedVariant {
            legacy_key: numeric_key(id + 1 + i as u64),
            sku: format!("SKU-{id}-{size}"),
            title: format!("Size {size}"),
            price_minor: 2000 + 100 * i as i64,
            weight_grams: 300,
            requires_shipping: true,
            option_values: vec![ImportedOptionValue {
                option: "Size".into(),
                value: (*size).into(),
            }],
        })
        .collect();
    ImportedProduct {
        legacy_key: numeric_key(id),
        slug: format!("variable-{id}"),
        title: format!("Variable {id}"),
        status: "draft".into(),
        options: vec![ImportedOption {
            name: "Size".into(),
            values: sizes.iter().map(|s| (*s).to_owned()).collect(),
        }],
        variants,
        modified_at_ms: 1_700_000_000_000 + id as i64,
        ..Default::default()
    }
}

pub async fn import_categories(
    c: &Catalog,
    store: &StoreId,
    categories: Vec<ImportedCategory>,
) -> Vec<RecordOutcome> {
    c.client
        .import_categories(ImportCategoriesRequest {
            store_id: store.to_string(),
            source: SOURCE.into(),
            categories,
        })
        .await
        .expect("categories imported")
        .outcomes
}

pub async fn import_products(
    c: &Catalog,
    store: &StoreId,
    products: Vec<ImportedProduct>,
) -> Vec<RecordOutcome> {
    c.client
        .import_products(ImportProductsRequest {
            store_id: store.to_string(),
            source: SOURCE.into(),
            products,
        })
        .await
        .expect("products imported")
        .outcomes
}

/// The outcomes as (outcome, reason) pairs, in the batch's order.
pub fn kinds(outcomes: &[RecordOutcome]) -> Vec<Outcome> {
    outcomes.iter().map(RecordOutcome::outcome).collect()
}

pub fn range(store: &StoreId, entity: Entity, from: &str, to: &str) -> KeyRange {
    KeyRange {
        store_id: store.to_string(),
        source: SOURCE.into(),
        entity: entity as i32,
        from_key: from.into(),
        to_key: to.into(),
    }
}

pub async fn checksums(c: &Catalog, range: KeyRange, segments: u32) -> Vec<Segment> {
    c.client
        .import_checksums(ChecksumsRequest {
            range: Some(range),
            segments,
        })
        .await
        .expect("checksums answered")
        .segments
}

pub async fn records(c: &Catalog, range: KeyRange, limit: u32) -> CatalogRecords {
    c.client
        .imported_records(RecordsRequest {
            range: Some(range),
            limit,
        })
        .await
        .expect("records answered")
}

/// The id the platform gives a legacy product of `store`.
pub fn product_id(store: &StoreId, id: u64) -> String {
    target_id(&store.to_string(), SOURCE, Entity::Product, &numeric_key(id)).to_string()
}

/// The sorted (key, checksum) list the importer would build from what it sent.
pub fn sent_checksums<T: Canonical>(records: &[T]) -> Vec<(String, u64)> {
    let mut sums: Vec<(String, u64)> = records
        .iter()
        .map(|r| (r.legacy_key().to_owned(), r.checksum()))
        .collect();
    sums.sort();
    sums
}
