//! Full-text search with facets.

use crate::access::{Public, StoreScope};
use crate::dto::{SearchQuery, SearchView};
use crate::extract::ApiQuery;
use crate::read_cache::ReadCondition;
use crate::state::GatewayState;
use axum::extract::State;
use axum::response::Response;
use mercato_proto::catalog::SearchRequest;
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
