//! Full-text search with facets.

use crate::dto::{SearchQuery, SearchView};
use crate::extract::ApiQuery;
use crate::read_cache::ReadCondition;
use crate::state::GatewayState;
use axum::extract::{Path, State};
use axum::response::Response;
use mercato_proto::catalog::SearchRequest;
use mercato_proto::identity::Store;
use mercato_runtime::error::ServiceError;

/// Search a store's products; typos are tolerated; facets count categories and price ranges.
#[utoipa::path(get, path = "/v1/stores/{store}/search", tag = "catalog",
    params(("store" = String, Path, description = "store slug"), SearchQuery),
    responses((status = 200, body = SearchView), (status = 304), (status = 404), (status = 422)))]
pub async fn search(
    State(state): State<GatewayState>,
    Path(slug): Path<String>,
    ApiQuery(query): ApiQuery<SearchQuery>,
    read: ReadCondition,
) -> Result<Response, ServiceError> {
    let catalog = state.catalog();
    let fetch = |store: Store| async move {
        let result = catalog
            .search(SearchRequest {
                store_id: store.id,
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
    state.reads().read(&read, state.store_by_slug(&slug), fetch).await
}
