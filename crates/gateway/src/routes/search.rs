//! Full-text search with facets, and the store's search synonyms (owner and staff).

use crate::access::{Public, Staff, StoreScope};
use crate::dto::{SearchQuery, SearchView};
use crate::dto_catalog::{SynonymsBody, SynonymsView};
use crate::extract::{ApiJson, ApiQuery};
use crate::read_cache::ReadCondition;
use crate::state::GatewayState;
use axum::extract::State;
use axum::response::Response;
use mercato_proto::catalog::{GetSynonymsRequest, SearchRequest, SetSynonymsRequest, SynonymGroup};
use mercato_runtime::error::ServiceError;

/// The deepest page: with at most 100 hits a page, the catalog's window of 10 000 ranked hits
/// is never exceeded, so `offset` alone decides whether a search is refused.
const MAX_OFFSET: u32 = 9_900;

/// Search a store's products; typos are tolerated; facets count categories and price ranges.
#[utoipa::path(get, path = "/v1/stores/{store}/search", tag = "catalog",
    params(("store" = String, Path, description = "store slug"), SearchQuery, crate::dto::IfNoneMatch),
    responses((status = 200, body = SearchView, description = "The hits and facets", headers(("ETag" = String, description = "The version of this answer, for `If-None-Match`"))),
              (status = 304, description = "The client's copy (`If-None-Match`) is current"),
              (status = 404, description = "No store has this slug"),
              (status = 422, description = "A parameter is out of range; `errors` names each one")))]
pub async fn search(
    State(state): State<GatewayState>,
    scope: StoreScope<Public>,
    ApiQuery(query): ApiQuery<SearchQuery>,
    read: ReadCondition,
) -> Result<Response, ServiceError> {
    if query.offset.unwrap_or(0) > MAX_OFFSET {
        return Err(ServiceError::invalid_field(
            "offset",
            "must be at most 9900; narrow the search instead",
        ));
    }
    let catalog = state.catalog();
    let fetch = |store_id| async move {
        let result = catalog
            .search(SearchRequest {
                store_id,
                query: query.q.unwrap_or_default(),
                category: query.category.unwrap_or_default(),
                min_price_minor: query.min_price,
                max_price_minor: query.max_price,
                limit: query.limit.unwrap_or(0),
                offset: query.offset.unwrap_or(0),
            })
            .await?;
        Ok(SearchView::from(result))
    };
    state.reads().read(&read, scope.store.id.clone(), fetch).await
}

/// The store's search synonyms (owner or staff).
#[utoipa::path(get, path = "/v1/stores/{store}/search/synonyms", tag = "catalog",
    params(("store" = String, Path, description = "store slug")), security(("bearer" = [])),
    responses((status = 200, body = SynonymsView, description = "The synonym groups, in the order they were set"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No store has this slug")))]
pub async fn get_synonyms(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
) -> Result<axum::Json<SynonymsView>, ServiceError> {
    let synonyms = state
        .catalog()
        .get_synonyms(GetSynonymsRequest {
            store_id: scope.store.id,
        })
        .await?;
    Ok(axum::Json(synonyms.into()))
}

/// Replace the store's search synonyms (owner or staff); searches apply them within seconds.
#[utoipa::path(put, path = "/v1/stores/{store}/search/synonyms", tag = "catalog", request_body = SynonymsBody,
    params(("store" = String, Path, description = "store slug")), security(("bearer" = [])),
    responses((status = 200, body = SynonymsView, description = "The synonym groups as stored"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No store has this slug"),
              (status = 422, description = "A group or word is invalid; `errors` names each one (`groups[i].words[j]`)")))]
pub async fn set_synonyms(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    ApiJson(body): ApiJson<SynonymsBody>,
) -> Result<axum::Json<SynonymsView>, ServiceError> {
    let store_id = scope.store.id;
    let synonyms = state
        .catalog()
        .set_synonyms(SetSynonymsRequest {
            store_id: store_id.clone(),
            groups: body
                .groups
                .into_iter()
                .map(|words| SynonymGroup { words })
                .collect(),
        })
        .await?;
    state.reads().invalidate(&store_id);
    Ok(axum::Json(synonyms.into()))
}
