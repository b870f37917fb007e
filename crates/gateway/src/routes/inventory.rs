//! Stock levels per SKU and location, for owners and staff; how many units anyone may buy.

use crate::access::{Public, Staff, StoreScope};
use crate::dto::{SetStockBody, StockLevelsView};
use crate::extract::ApiJson;
use crate::state::GatewayState;
use axum::extract::{Path, State};
use mercato_proto::inventory::{GetStockRequest, SetStockRequest};
use mercato_runtime::error::{ErrorCode, ServiceError};

/// Stock of one SKU at every location (owner or staff).
#[utoipa::path(get, path = "/v1/stores/{store}/inventory/{sku}", tag = "inventory",
    params(("store" = String, Path, description = "store slug"), ("sku" = String, Path, description = "SKU: 1–64 characters of `A-Z a-z 0-9 . _ -`", pattern = "^[A-Za-z0-9._-]{1,64}$")),
    security(("bearer" = [])),
    responses((status = 200, body = StockLevelsView, description = "The SKU's stock at every location"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No store has this slug"),
              (status = 422, description = "The SKU is malformed")))]
pub async fn get_stock(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, sku)): Path<(String, String)>,
) -> Result<axum::Json<StockLevelsView>, ServiceError> {
    let levels = state
        .inventory()
        .get_stock(GetStockRequest {
            store_id: scope.store.id,
            sku,
        })
        .await?;
    Ok(axum::Json(levels.into()))
}

/// How many units of a SKU can be bought now, over every location.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct AvailabilityView {
    pub sku: String,
    /// Units on hand and not reserved, summed over the locations; never negative.
    pub available: i64,
}

/// How many units of a SKU can be bought now (anyone): what a storefront shows before the
/// `stock:{store}:{sku}` channel pushes a change. The same figure that channel carries, so it
/// tells nothing the public channel does not. A SKU whose stock was never set has none: 0, not
/// 404 (a new product's page would otherwise log a failed request).
#[utoipa::path(get, path = "/v1/stores/{store}/inventory/{sku}/availability", tag = "inventory",
    params(("store" = String, Path, description = "store slug"), ("sku" = String, Path, description = "SKU: 1–64 characters of `A-Z a-z 0-9 . _ -`", pattern = "^[A-Za-z0-9._-]{1,64}$")),
    responses((status = 200, body = AvailabilityView, description = "Units that can be bought now"),
              (status = 404, description = "No store has this slug"),
              (status = 422, description = "The SKU is malformed")))]
pub async fn get_availability(
    State(state): State<GatewayState>,
    scope: StoreScope<Public>,
    Path((_store, sku)): Path<(String, String)>,
) -> Result<axum::Json<AvailabilityView>, ServiceError> {
    let stock = state
        .inventory()
        .get_stock(GetStockRequest {
            store_id: scope.store.id,
            sku: sku.clone(),
        })
        .await;
    let available = match stock {
        Ok(levels) => levels.available_total.max(0),
        Err(e) if e.code == ErrorCode::NotFound => 0,
        Err(e) => return Err(e),
    };
    Ok(axum::Json(AvailabilityView { sku, available }))
}

/// Set the on-hand quantity of a SKU at a location (owner or staff); refused below what is
/// reserved.
#[utoipa::path(put, path = "/v1/stores/{store}/inventory/{sku}", tag = "inventory", request_body = SetStockBody,
    params(("store" = String, Path, description = "store slug"), ("sku" = String, Path, description = "SKU: 1–64 characters of `A-Z a-z 0-9 . _ -`", pattern = "^[A-Za-z0-9._-]{1,64}$")),
    security(("bearer" = [])),
    responses((status = 200, body = StockLevelsView, description = "The SKU's stock at every location, after the change"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No store has this slug"),
              (status = 409, description = "`stock_out_of_bounds`: the quantity is below what is reserved"),
              (status = 422, description = "A field is invalid; `errors` names each one")))]
pub async fn set_stock(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, sku)): Path<(String, String)>,
    ApiJson(body): ApiJson<SetStockBody>,
) -> Result<axum::Json<StockLevelsView>, ServiceError> {
    let store = scope.store;
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
