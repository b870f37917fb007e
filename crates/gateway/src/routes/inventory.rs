//! Stock levels per SKU and location, for owners and staff.

use crate::access::{Caller, STORE_STAFF};
use crate::dto::{SetStockBody, StockLevelsView};
use crate::extract::ApiJson;
use crate::state::GatewayState;
use axum::extract::{Path, State};
use mercato_proto::inventory::{GetStockRequest, SetStockRequest};
use mercato_runtime::error::ServiceError;

/// Stock of one SKU at every location (owner or staff).
#[utoipa::path(get, path = "/v1/stores/{store}/inventory/{sku}", tag = "inventory",
    params(("store" = String, Path, description = "store slug"), ("sku" = String, Path, description = "SKU")),
    security(("bearer" = [])),
    responses((status = 200, body = StockLevelsView), (status = 401), (status = 403), (status = 404)))]
pub async fn get_stock(
    State(state): State<GatewayState>,
    Path((slug, sku)): Path<(String, String)>,
    caller: Caller,
) -> Result<axum::Json<StockLevelsView>, ServiceError> {
    let store = state.store_by_slug(&slug).await?;
    caller.require(&store, STORE_STAFF)?;
    let levels = state
        .inventory()
        .get_stock(GetStockRequest {
            store_id: store.id,
            sku,
        })
        .await?;
    Ok(axum::Json(levels.into()))
}

/// Set the on-hand quantity of a SKU at a location (owner or staff); refused below what is
/// reserved.
#[utoipa::path(put, path = "/v1/stores/{store}/inventory/{sku}", tag = "inventory", request_body = SetStockBody,
    params(("store" = String, Path, description = "store slug"), ("sku" = String, Path, description = "SKU")),
    security(("bearer" = [])),
    responses((status = 200, body = StockLevelsView), (status = 401), (status = 403), (status = 409), (status = 422)))]
pub async fn set_stock(
    State(state): State<GatewayState>,
    Path((slug, sku)): Path<(String, String)>,
    caller: Caller,
    ApiJson(body): ApiJson<SetStockBody>,
) -> Result<axum::Json<StockLevelsView>, ServiceError> {
    let store = state.store_by_slug(&slug).await?;
    caller.require(&store, STORE_STAFF)?;
    state
        .inventory()
        .set_stock(SetStockRequest {
            store_id: store.id.clone(),
            sku: sku.clone(),
            location: body.location.unwrap_or_default(),
            on_hand: body.on_hand,
            low_stock_threshold: body.low_stock_threshold,
        })
        .await?;
    let levels = state
        .inventory()
        .get_stock(GetStockRequest {
            store_id: store.id,
            sku,
        })
        .await?;
    Ok(axum::Json(levels.into()))
}
