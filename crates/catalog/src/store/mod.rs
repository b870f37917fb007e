//! Storage behind a trait the service owns, with one SQL implementation for SQLite and PostgreSQL.
//!
//! Every method takes the store (tenant) id first and every query filters on it, so one tenant
//! can never read or change another's rows. The one exception is [`CatalogStore::store_ids`],
//! which the search index uses to rebuild itself for every tenant at start-up.
//!
//! Writes take the event describing them and append it to the outbox in the same transaction.

mod images;
pub(crate) mod imports;
mod imports_batch;
mod migrations;
mod rows;
mod sql;

pub use images::{Derived, ImagePatch, ImageStore};
pub use migrations::MIGRATIONS;
pub use sql::SqlCatalogStore;

use crate::domain::{CategoryId, CategoryRecord, ProductId, ProductRecord, Sort, Synonyms};
use mercato_proto::events::EventEnvelope;
use mercato_runtime::error::{ErrorCode, FieldError, ServiceError};
use mercato_runtime::ids::StoreId;

/// A page of products in a given order, optionally limited to some categories.
#[derive(Clone, Debug)]
pub struct ProductQuery {
    /// `None` for every category (and products without one).
    pub categories: Option<Vec<CategoryId>>,
    /// Only active products (what shoppers see), or every status (what the store's staff see).
    pub public_only: bool,
    pub sort: Sort,
    pub limit: i64,
    pub offset: i64,
}

/// A value that must be unique within a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UniqueField {
    /// A product's or a category's slug.
    Slug,
    /// A variant's SKU.
    Sku,
}

impl UniqueField {
    /// The request field that carries the value.
    pub fn name(self) -> &'static str {
        match self {
            UniqueField::Slug => "slug",
            UniqueField::Sku => "sku",
        }
    }

    /// The 409 code a client sees when the value is taken.
    pub fn taken_code(self) -> ErrorCode {
        match self {
            UniqueField::Slug => ErrorCode::SlugTaken,
            UniqueField::Sku => ErrorCode::SkuTaken,
        }
    }
}

/// The catalog store's own refusals; everything else any store can run into is in
/// [`mercato_runtime::store_error::StoreError`].
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// A unique value (`slug` or `sku`) is already taken in this store.
    #[error("{} already taken", .0.name())]
    Taken(UniqueField),
    /// The product or image a change is for does not exist (in this store).
    #[error("no such {0}")]
    Missing(&'static str),
    /// The product has as many images as it may.
    #[error("the product has {0} images, the most it may have")]
    TooManyImages(usize),
}

impl From<Refusal> for ServiceError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Taken(field) => ServiceError {
                code: field.taken_code(),
                message: format!("{} is already taken in this store", field.name()),
                fields: vec![FieldError {
                    field: field.name().to_owned(),
                    message: "is already taken in this store".to_owned(),
                }],
            },
            Refusal::Missing(what) => ServiceError::not_found(what),
            Refusal::TooManyImages(n) => ServiceError::conflict(format!(
                "the product has {n} images, the most it may have; delete one first"
            )),
        }
    }
}

/// What can go wrong in the catalog store.
pub type StoreError = mercato_runtime::store_error::StoreError<Refusal>;

/// The catalog's storage.
#[async_trait::async_trait]
pub trait CatalogStore: Send + Sync + 'static {
    /// The currency of a store known from `store_provisioned`, if any.
    async fn store_currency(&self, store: &StoreId) -> Result<Option<String>, StoreError>;

    /// Records a provisioned store unless `consumer` already processed `event_id`; returns
    /// whether this delivery had an effect.
    async fn record_store(
        &self,
        store: &StoreId,
        slug: &str,
        currency: &str,
        consumer: &str,
        event_id: &str,
    ) -> Result<bool, StoreError>;

    async fn insert_category(
        &self,
        store: &StoreId,
        category: &CategoryRecord,
        event: &EventEnvelope,
    ) -> Result<(), StoreError>;

    async fn category_by_id(
        &self,
        store: &StoreId,
        id: &CategoryId,
    ) -> Result<Option<CategoryRecord>, StoreError>;

    async fn category_by_slug(
        &self,
        store: &StoreId,
        slug: &str,
    ) -> Result<Option<CategoryRecord>, StoreError>;

    /// Every category of the store, by name.
    async fn categories(&self, store: &StoreId) -> Result<Vec<CategoryRecord>, StoreError>;

    async fn insert_product(
        &self,
        store: &StoreId,
        product: &ProductRecord,
        event: &EventEnvelope,
    ) -> Result<(), StoreError>;

    /// Replaces a product (and its variants) if it is still at `expected_version`.
    async fn update_product(
        &self,
        store: &StoreId,
        product: &ProductRecord,
        expected_version: i64,
        event: &EventEnvelope,
    ) -> Result<(), StoreError>;

    /// Deletes a product and its variants if it is still at `expected_version`.
    async fn delete_product(
        &self,
        store: &StoreId,
        id: &ProductId,
        expected_version: i64,
        event: &EventEnvelope,
    ) -> Result<(), StoreError>;

    async fn product(&self, store: &StoreId, id: &ProductId) -> Result<Option<ProductRecord>, StoreError>;

    async fn product_id_by_slug(&self, store: &StoreId, slug: &str) -> Result<Option<ProductId>, StoreError>;

    /// One page of products with their variants, and how many match in all.
    async fn products(
        &self,
        store: &StoreId,
        query: &ProductQuery,
    ) -> Result<(Vec<ProductRecord>, u64), StoreError>;

    /// The store's search synonym groups, in the order they were set.
    async fn synonyms(&self, store: &StoreId) -> Result<Synonyms, StoreError>;

    /// Replaces all of the store's synonym groups.
    async fn set_synonyms(&self, store: &StoreId, synonyms: &Synonyms) -> Result<(), StoreError>;

    /// Every store that has products; only for rebuilding the search index.
    async fn store_ids(&self) -> Result<Vec<StoreId>, StoreError>;
}
