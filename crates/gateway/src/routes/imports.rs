//! Legacy imports (ADR 0016), owner only: `POST /v1/stores/{store}/imports/{source}/{entity}`
//! upserts a batch of records by legacy key; `GET …/{entity}/checksums` and `…/{entity}/records`
//! give a key range's segments and records as stored, for reconciliation; `GET
//! /v1/stores/{store}/imports/{source}` how far each entity got, and `POST …/{source}/passes`
//! records a pass's start and finish (where `--follow` starts). The owning service does the
//! work (catalog: categories and products; inventory: stock; identity: customers; orders:
//! orders); the shapes are `crate::dto_imports`.
//!
//! A source or entity the platform does not know is 404: the path names no resource (the
//! OpenAPI document lists the known ones as enums). The store is always the `{store}` path's,
//! never one a body names.

mod calls;

use crate::access::{Owner, StoreScope};
use crate::dto_imports::{
    ChecksumsView, EntityProgressView, ImportAddress, ImportBatch, ImportCategory, ImportCustomer,
    ImportOption, ImportOptionValue, ImportOrder, ImportOrderLine, ImportPassEvent, ImportProduct,
    ImportProgressView, ImportReplyView, ImportStock, ImportVariant, ImportWatermarkView,
    ImportedRecordsView, PassEventName, RecordOutcomeView, SegmentView, entity_from_path,
};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::GatewayState;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use mercato_proto::imports::{Entity, KeyRange};
use mercato_runtime::error::ServiceError;
use mercato_runtime::imports::{MAX_RECORDS, MAX_SEGMENTS, SOURCES, check_key, check_range};
use serde::Deserialize;

/// The batch route, which alone takes bodies over the gateway's limit.
pub(crate) const BATCH_PATH: &str = "/v1/stores/{store}/imports/{source}/{entity}";

/// A batch's body: 1,000 products with descriptions of 10,000 characters fit. JSON is no
/// smaller than the protobuf it becomes, so a body under this limit also passes the gRPC
/// message limit (`mercato_runtime::clients::MAX_MESSAGE_BYTES`, 24 MiB) on its way on.
pub(crate) const BATCH_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Segments a checksums call answers in when it does not say.
const DEFAULT_SEGMENTS: u32 = 16;

/// Records a records call answers when it does not say.
const DEFAULT_RECORDS: u32 = 100;

/// This module's routes.
pub(crate) fn routes() -> Router<GatewayState> {
    Router::new()
        .route(
            BATCH_PATH,
            post(import_batch).layer(DefaultBodyLimit::max(BATCH_BODY_LIMIT)),
        )
        .route(
            "/v1/stores/{store}/imports/{source}/{entity}/checksums",
            get(import_checksums),
        )
        .route(
            "/v1/stores/{store}/imports/{source}/{entity}/records",
            get(imported_records),
        )
        .route("/v1/stores/{store}/imports/{source}", get(import_progress))
        .route("/v1/stores/{store}/imports/{source}/passes", post(import_pass))
}

/// This module's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(import_batch, import_checksums, imported_records, import_progress, import_pass),
    components(schemas(
        ImportBatch,
        ImportCategory,
        ImportProduct,
        ImportOption,
        ImportOptionValue,
        ImportVariant,
        ImportStock,
        ImportCustomer,
        ImportAddress,
        ImportOrder,
        ImportOrderLine,
        ImportReplyView,
        RecordOutcomeView,
        ChecksumsView,
        SegmentView,
        ImportedRecordsView,
        ImportProgressView,
        EntityProgressView,
        ImportPassEvent,
        PassEventName,
        ImportWatermarkView
    )),
    tags((name = "imports", description = "Moving a shop off a legacy platform: batches of records, and reconciliation"))
)]
pub(crate) struct ApiDoc;

/// A known source, else 404.
fn source_of(name: &str) -> Result<String, ServiceError> {
    SOURCES
        .contains(&name)
        .then(|| name.to_owned())
        .ok_or_else(|| ServiceError::not_found("import source"))
}

/// A known entity, else 404.
fn entity_of(name: &str) -> Result<Entity, ServiceError> {
    entity_from_path(name).ok_or_else(|| ServiceError::not_found("import entity"))
}

/// Imports a batch of one entity's records (owner only): each is created, updated, left
/// `unchanged` (its canonical form equals what is stored) or `rejected` with the reason, in one
/// transaction; the answer has one outcome per record, in order. Importing the same records
/// again changes nothing.
#[utoipa::path(post, path = "/v1/stores/{store}/imports/{source}/{entity}", tag = "imports",
    request_body(content = ImportBatch, description = "The records, in the list named after the path's entity",
        example = json!({"products": [{"legacy_key": "00000000000000000042", "slug": "blue-shirt", "title": "Blue shirt",
            "status": "active", "variants": [{"legacy_key": "00000000000000000042", "sku": "SHIRT-BLUE",
            "title": "Blue shirt", "price_minor": 2500, "requires_shipping": true}], "modified_at_ms": 1_765_000_000_000_i64}]})),
    params(("store" = String, Path, description = "store slug"),
           ("source" = String, Path, description = "where the records come from", pattern = "^(woocommerce|shopify)$"),
           ("entity" = String, Path, description = "what they are; the body's list of that name holds them", pattern = "^(categories|products|stock|customers|orders)$")),
    security(("bearer" = [])),
    responses((status = 200, body = ImportReplyView, description = "One outcome per record, in the request's order"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No store has this slug, or no such source or entity"),
              (status = 413, description = "The body is over 16 MiB"),
              (status = 422, description = "A list other than the path entity's is not empty, the entity's holds over 1,000 records, or a record is malformed beyond a per-record rejection (a bad legacy key); `errors` names the field")))]
pub(crate) async fn import_batch(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
    Path((_store, source, entity)): Path<(String, String, String)>,
    ApiJson(batch): ApiJson<ImportBatch>,
) -> Result<Json<ImportReplyView>, ServiceError> {
    let (source, entity) = (source_of(&source)?, entity_of(&entity)?);
    let reply = calls::import(&state, &scope.store.id, source, entity, batch).await?;
    Ok(Json(reply.into()))
}

/// A key range, as the query gives it.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ChecksumsQuery {
    /// The first legacy key of the range (inclusive); absent: from the first.
    #[param(max_length = 255)]
    from_key: Option<String>,
    /// The key the range ends before (exclusive); absent: to the last.
    #[param(max_length = 255)]
    to_key: Option<String>,
    /// How many segments of about equal counts: 16 when absent, 1 to 256.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 256)]
    segments: Option<u32>,
}

/// The checksums of a key range (owner only), in segments of about equal counts whose bounds
/// the service chooses; together they cover the range without gaps. Each segment's checksum is
/// the wrapping sum of its records' canonical checksums, built from what is stored.
#[utoipa::path(get, path = "/v1/stores/{store}/imports/{source}/{entity}/checksums", tag = "imports",
    params(("store" = String, Path, description = "store slug"),
           ("source" = String, Path, description = "where the records came from", pattern = "^(woocommerce|shopify)$"),
           ("entity" = String, Path, description = "what they are", pattern = "^(categories|products|stock|customers|orders)$"),
           ChecksumsQuery),
    security(("bearer" = [])),
    responses((status = 200, body = ChecksumsView, description = "The range's segments, in key order"),
              (status = 400, description = "An unknown parameter or a `segments` that is not a number"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No store has this slug, or no such source or entity"),
              (status = 422, description = "`segments` outside 1–256, a key over 255 characters or holding control characters, or `to_key` not after `from_key`; `errors` names it")))]
pub(crate) async fn import_checksums(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
    Path((_store, source, entity)): Path<(String, String, String)>,
    ApiQuery(query): ApiQuery<ChecksumsQuery>,
) -> Result<Json<ChecksumsView>, ServiceError> {
    let segments = bounded("segments", query.segments, DEFAULT_SEGMENTS, MAX_SEGMENTS)?;
    let range = key_range(&scope, &source, &entity, query.from_key, query.to_key)?;
    let reply = calls::checksums(&state, range, segments).await?;
    Ok(Json(reply.into()))
}

/// The records of a range, as the query gives it.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RecordsQuery {
    /// The first legacy key of the range (inclusive); absent: from the first.
    #[param(max_length = 255)]
    from_key: Option<String>,
    /// The key the range ends before (exclusive); absent: to the last.
    #[param(max_length = 255)]
    to_key: Option<String>,
    /// At most this many records, the first of the range: 100 when absent, 1 to 1,000.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// The records of a key range as the service stored them (owner only), in key order, each in
/// its canonical shape — what reconciliation compares with the source's. A customer's password
/// hash is never returned (an empty string).
#[utoipa::path(get, path = "/v1/stores/{store}/imports/{source}/{entity}/records", tag = "imports",
    params(("store" = String, Path, description = "store slug"),
           ("source" = String, Path, description = "where the records came from", pattern = "^(woocommerce|shopify)$"),
           ("entity" = String, Path, description = "what they are; the answer's list of that name holds them", pattern = "^(categories|products|stock|customers|orders)$"),
           RecordsQuery),
    security(("bearer" = [])),
    responses((status = 200, body = ImportedRecordsView, description = "The range's first records, in key order, in the list named after the entity"),
              (status = 400, description = "An unknown parameter or a `limit` that is not a number"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No store has this slug, or no such source or entity"),
              (status = 422, description = "`limit` outside 1–1,000, a key over 255 characters or holding control characters, or `to_key` not after `from_key`; `errors` names it")))]
pub(crate) async fn imported_records(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
    Path((_store, source, entity)): Path<(String, String, String)>,
    ApiQuery(query): ApiQuery<RecordsQuery>,
) -> Result<Json<ImportedRecordsView>, ServiceError> {
    let limit = bounded("limit", query.limit, DEFAULT_RECORDS, MAX_RECORDS)?;
    let range = key_range(&scope, &source, &entity, query.from_key, query.to_key)?;
    Ok(Json(calls::records(&state, range, limit).await?))
}

/// How far a store's import from one source got, per entity (owner only): how many records it
/// holds, the greatest legacy key (where a resumed import starts) and the newest source
/// modification time (where `--follow` looks for changes), and the store's `--follow`
/// watermark (see `POST …/passes`). Every entity is listed, in import order; one with nothing
/// imported has count 0.
#[utoipa::path(get, path = "/v1/stores/{store}/imports/{source}", tag = "imports",
    params(("store" = String, Path, description = "store slug"),
           ("source" = String, Path, description = "where the records came from", pattern = "^(woocommerce|shopify)$")),
    security(("bearer" = [])),
    responses((status = 200, body = ImportProgressView, description = "Categories, products, stock, customers and orders, in that order"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No store has this slug, or no such source")))]
pub(crate) async fn import_progress(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
    Path((_store, source)): Path<(String, String)>,
) -> Result<Json<ImportProgressView>, ServiceError> {
    let source = source_of(&source)?;
    Ok(Json(calls::progress(&state, &scope.store.id, source).await?))
}

/// Records that a pass of the store's import (or a `--follow` round) began, with the source's
/// clock then, or that the pass begun then finished (owner only). The importer says both; the
/// progress's `watermark_ms` — where `--follow` reads changes from, after a restart too —
/// moves when a pass finishes to the earlier of its start and the earliest start pending, and
/// never back.
#[utoipa::path(post, path = "/v1/stores/{store}/imports/{source}/passes", tag = "imports",
    request_body(content = ImportPassEvent, example = json!({"event": "began", "source_clock_ms": 1_765_000_000_000_i64})),
    params(("store" = String, Path, description = "store slug"),
           ("source" = String, Path, description = "where the records come from", pattern = "^(woocommerce|shopify)$")),
    security(("bearer" = [])),
    responses((status = 200, body = ImportWatermarkView, description = "Where `--follow` stands now"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No store has this slug, or no such source"),
              (status = 422, description = "No `source_clock_ms` above 0; `errors` names it")))]
pub(crate) async fn import_pass(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
    Path((_store, source)): Path<(String, String)>,
    ApiJson(pass): ApiJson<ImportPassEvent>,
) -> Result<Json<ImportWatermarkView>, ServiceError> {
    let source = source_of(&source)?;
    Ok(Json(
        calls::record_pass(&state, &scope.store.id, source, pass).await?,
    ))
}

/// `value` within 1..=`max`, `default` when absent.
fn bounded(field: &str, value: Option<u32>, default: u32, max: u32) -> Result<u32, ServiceError> {
    match value.unwrap_or(default) {
        n if (1..=max).contains(&n) => Ok(n),
        _ => Err(ServiceError::invalid_field(field, &format!("must be 1 to {max}"))),
    }
}

/// The range of the path's store, source and entity between the query's keys, checked.
fn key_range(
    scope: &StoreScope<Owner>,
    source: &str,
    entity: &str,
    from_key: Option<String>,
    to_key: Option<String>,
) -> Result<KeyRange, ServiceError> {
    let (source, entity) = (source_of(source)?, entity_of(entity)?);
    let (from_key, to_key) = (from_key.unwrap_or_default(), to_key.unwrap_or_default());
    for (field, key) in [("from_key", &from_key), ("to_key", &to_key)] {
        if !key.is_empty() {
            check_key(field, key)?;
        }
    }
    let mut range = KeyRange {
        store_id: scope.store.id.clone(),
        source,
        from_key,
        to_key,
        ..Default::default()
    };
    range.set_entity(entity);
    check_range(&range)?;
    Ok(range)
}
