//! Legacy imports into the catalog service (ADR 0016): categories and products upserted by
//! legacy key with ids derived from it (`runtime::imports::target_id`), and the checksums and
//! records of a key range, rebuilt from what is stored, for reconciliation.
//!
//! - `check`: each sent record on its own, with the catalog's usual rules.
//! - `categories`, `products`: a batch decided and written in one transaction — one outcome per
//!   record (created, updated, unchanged — nothing written, no event — or rejected with why).
//! - `canonical`: stored records as the contract's records; `ranges`: checksums, records and
//!   progress over `store::imports`' `imported_records` table.

mod canonical;
mod categories;
mod check;
mod products;
mod ranges;

use crate::service::{CatalogService, store_id};
use check::Target;
use futures::StreamExt;
use mercato_proto::imports::*;
use mercato_runtime::error::ServiceError;
use mercato_runtime::imports::{MAX_BATCH, MAX_RECORDS, check_range, check_source};
use mercato_runtime::money::Currency;
use mercato_runtime::time::now_ms;

/// Cache evictions in flight at once after a batch.
const EVICTIONS_IN_FLIGHT: usize = 32;

/// The catalog's name for a range's entity; the catalog holds categories and products only.
fn entity_name(entity: Entity) -> Result<&'static str, ServiceError> {
    match entity {
        Entity::Category => Ok("category"),
        Entity::Product => Ok("product"),
        _ => Err(ServiceError::invalid_field(
            "entity",
            "the catalog holds categories and products only",
        )),
    }
}

fn check_batch(len: usize) -> Result<(), ServiceError> {
    if len > MAX_BATCH {
        return Err(ServiceError::invalid_field(
            "records",
            "must hold at most 1000 records",
        ));
    }
    Ok(())
}

impl CatalogService {
    /// The store and source a batch is for, with the store's currency (prices are in it).
    async fn import_target(&self, store: &str, source: &str) -> Result<Target, ServiceError> {
        let store = store_id(store)?;
        check_source(source)?;
        let currency = self.store.store_currency(&store).await?;
        Ok(Target {
            store,
            source: source.to_owned(),
            currency: currency.and_then(|c| Currency::parse(&c).ok()),
        })
    }

    /// See `proto/mercato/imports.proto`.
    pub(crate) async fn import_categories(
        &self,
        request: ImportCategoriesRequest,
    ) -> Result<ImportReply, ServiceError> {
        check_batch(request.categories.len())?;
        let target = self.import_target(&request.store_id, &request.source).await?;
        let batch: Vec<_> = request
            .categories
            .iter()
            .map(|c| check::category(&target, c).map_err(|why| (c.legacy_key.clone(), why)))
            .collect();
        let store = target.store;
        let now = now_ms();
        let outcomes = self
            .db
            .write("import_categories", move |tx| {
                categories::apply(tx, &target, now, batch)
            })
            .await?;
        self.listings.invalidate(&store);
        self.committed();
        Ok(ImportReply { outcomes })
    }

    /// See `proto/mercato/imports.proto`.
    pub(crate) async fn import_products(
        &self,
        request: ImportProductsRequest,
    ) -> Result<ImportReply, ServiceError> {
        check_batch(request.products.len())?;
        let target = self.import_target(&request.store_id, &request.source).await?;
        let batch: Vec<_> = request
            .products
            .iter()
            .map(|p| check::product(&target, p).map_err(|why| (p.legacy_key.clone(), why)))
            .collect();
        let store = target.store;
        let now = now_ms();
        let (outcomes, written) = self
            .db
            .write("import_products", move |tx| {
                products::apply(tx, &target, now, batch)
            })
            .await?;
        if !written.is_empty() {
            self.after_import(store, written).await;
        }
        Ok(ImportReply { outcomes })
    }

    /// After a batch commits: drops the written products' cache keys (in a task of its own, as
    /// `after_commit` does, so a caller who gives up cannot leave the cache stale), then wakes
    /// the relay.
    async fn after_import(&self, store: mercato_runtime::ids::StoreId, written: Vec<products::Written>) {
        self.listings.invalidate(&store);
        let cache = self.cache.clone();
        let task = tokio::spawn(async move {
            futures::stream::iter(written)
                .for_each_concurrent(EVICTIONS_IN_FLIGHT, |(id, slugs)| {
                    let cache = cache.clone();
                    async move {
                        let slugs: Vec<&str> = slugs.iter().map(String::as_str).collect();
                        cache.invalidate(&store, &id, &slugs).await;
                    }
                })
                .await;
        });
        let _ = task.await;
        self.committed();
    }

    /// See `proto/mercato/imports.proto`.
    pub(crate) async fn import_checksums(
        &self,
        request: ChecksumsRequest,
    ) -> Result<ChecksumsReply, ServiceError> {
        let range = request
            .range
            .ok_or_else(|| ServiceError::invalid_field("range", "must be given"))?;
        check_range(&range)?;
        let store = store_id(&range.store_id)?;
        let entity = entity_name(range.entity())?;
        let parts = request.segments;
        let segments = self
            .db
            .read("import_checksums", move |tx| {
                ranges::checksums(tx, &store, &range, entity, parts)
            })
            .await?;
        Ok(ChecksumsReply { segments })
    }

    /// See `proto/mercato/imports.proto`.
    pub(crate) async fn imported_records(
        &self,
        request: RecordsRequest,
    ) -> Result<CatalogRecords, ServiceError> {
        let range = request
            .range
            .ok_or_else(|| ServiceError::invalid_field("range", "must be given"))?;
        check_range(&range)?;
        let store = store_id(&range.store_id)?;
        let entity = entity_name(range.entity())?;
        let limit = match request.limit {
            0 => MAX_RECORDS,
            n => n.min(MAX_RECORDS),
        };
        Ok(self
            .db
            .read("imported_records", move |tx| {
                ranges::records(tx, &store, &range, entity, limit)
            })
            .await?)
    }

    /// See `proto/mercato/imports.proto`.
    pub(crate) async fn get_import_progress(
        &self,
        request: ImportProgressRequest,
    ) -> Result<ImportProgress, ServiceError> {
        let store = store_id(&request.store_id)?;
        check_source(&request.source)?;
        let source = request.source;
        let entities = self
            .db
            .read("import_progress", move |tx| ranges::progress(tx, &store, &source))
            .await?;
        Ok(ImportProgress {
            entities,
            ..ImportProgress::default()
        })
    }
}
