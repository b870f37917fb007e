//! The events the catalog publishes and consumes, and how their envelopes are built.

use crate::domain::{CategoryRecord, ProductId, ProductRecord};
use mercato_proto::events::{CategoryCreated, EventEnvelope, ProductChanged, ProductDeleted};
use mercato_runtime::ids::StoreId;
use mercato_runtime::outbox::envelope;

pub use mercato_proto::subjects::catalog::{
    ALL as ALL_CATALOG, CATEGORY_CREATED, PRODUCT_CREATED, PRODUCT_DELETED, PRODUCT_UPDATED,
    SEARCH_REINDEX_REQUESTED,
};
/// Published by identity when a store is provisioned.
pub use mercato_proto::subjects::identity::STORE_PROVISIONED;

/// `product_created` or `product_updated`, carrying the whole product and its category.
pub fn product_changed(
    subject: &'static str,
    product: &ProductRecord,
    category: Option<&CategoryRecord>,
) -> EventEnvelope {
    let event = ProductChanged {
        product: Some(product.to_proto()),
        category_slug: category.map(|c| c.slug.clone()).unwrap_or_default(),
        category_name: category.map(|c| c.name.clone()).unwrap_or_default(),
    };
    envelope(&product.store_id.to_string(), subject, 1, &event)
}

/// `product_deleted`; `version` is the deleted product's version plus one, so a late update
/// event of the product never outranks its deletion.
pub fn product_deleted(store: &StoreId, id: &ProductId, version: i64) -> EventEnvelope {
    let event = ProductDeleted {
        product_id: id.to_string(),
        version,
    };
    envelope(&store.to_string(), PRODUCT_DELETED, 1, &event)
}

pub fn category_created(store: &StoreId, category: &CategoryRecord) -> EventEnvelope {
    let event = CategoryCreated {
        category: Some(category.to_proto(store)),
    };
    envelope(&store.to_string(), CATEGORY_CREATED, 1, &event)
}
