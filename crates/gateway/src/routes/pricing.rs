//! Pricing rules (owner or staff; tax settings owner only): shipping zones and their methods,
//! tax rates per zone and category, the store's tax settings, and promotions.

use crate::access::{Owner, Staff, StoreScope};
use crate::dto_pricing::{
    MethodBody, PricingConfigView, PromotionBody, PromotionView, ShippingMethodView, TaxRateBody,
    TaxSettingsBody, ZoneBody, ZoneView,
};
use crate::extract::ApiJson;
use crate::state::GatewayState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use mercato_proto::orders::{
    CreatePromotionRequest, DeletePricingItemRequest, DeleteTaxRateRequest, PricingRequest,
    PutShippingMethodRequest, PutShippingZoneRequest, PutTaxRateRequest, PutTaxSettingsRequest, ShippingZone,
};
use mercato_runtime::error::ServiceError;

type Created<T> = (StatusCode, axum::Json<T>);

fn delete_request(scope: &StoreScope<Staff>, id: String) -> DeletePricingItemRequest {
    DeletePricingItemRequest {
        store_id: scope.store.id.clone(),
        caller: Some(scope.orders_caller(None)),
        id,
    }
}

/// The store's shipping zones (with their methods), tax rates and tax settings.
#[utoipa::path(get, path = "/v1/stores/{store}/pricing", tag = "pricing",
    params(("store" = String, Path, description = "store slug")), security(("bearer" = [])),
    responses((status = 200, body = PricingConfigView, description = "The store's shipping and tax rules"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No store has this slug")))]
pub async fn get_pricing(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
) -> Result<axum::Json<PricingConfigView>, ServiceError> {
    let config = state
        .orders()
        .get_pricing_config(PricingRequest {
            caller: Some(scope.orders_caller(None)),
            store_id: scope.store.id,
        })
        .await?;
    Ok(axum::Json(config.into()))
}

async fn put_zone(
    state: &GatewayState,
    scope: StoreScope<Staff>,
    id: String,
    body: ZoneBody,
) -> Result<ZoneView, ServiceError> {
    let zone = state
        .orders()
        .put_shipping_zone(PutShippingZoneRequest {
            caller: Some(scope.orders_caller(None)),
            store_id: scope.store.id,
            zone: Some(ShippingZone {
                id,
                name: body.name,
                countries: body.countries,
                methods: vec![],
            }),
        })
        .await?;
    Ok(zone.into())
}

/// Create a shipping zone: countries served alike.
#[utoipa::path(post, path = "/v1/stores/{store}/shipping-zones", tag = "pricing", request_body = ZoneBody,
    params(("store" = String, Path, description = "store slug")), security(("bearer" = [])),
    responses((status = 201, body = ZoneView, description = "The zone"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No store has this slug"),
              (status = 409, description = "`conflict`: a country is already in another zone"),
              (status = 422, description = "A field is invalid (an unknown country code); `errors` names each one")))]
pub async fn create_zone(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    ApiJson(body): ApiJson<ZoneBody>,
) -> Result<Created<ZoneView>, ServiceError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(put_zone(&state, scope, String::new(), body).await?),
    ))
}

/// Replace a shipping zone's name and countries.
#[utoipa::path(put, path = "/v1/stores/{store}/shipping-zones/{zone}", tag = "pricing", request_body = ZoneBody,
    params(("store" = String, Path, description = "store slug"), ("zone" = String, Path, description = "zone id")),
    security(("bearer" = [])),
    responses((status = 200, body = ZoneView, description = "The zone"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No such store or zone"),
              (status = 409, description = "`conflict`: a country is already in another zone"),
              (status = 422, description = "A field is invalid; `errors` names each one")))]
pub async fn update_zone(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, zone)): Path<(String, String)>,
    ApiJson(body): ApiJson<ZoneBody>,
) -> Result<axum::Json<ZoneView>, ServiceError> {
    Ok(axum::Json(put_zone(&state, scope, zone, body).await?))
}

/// Delete a shipping zone with its methods and tax rates.
#[utoipa::path(delete, path = "/v1/stores/{store}/shipping-zones/{zone}", tag = "pricing",
    params(("store" = String, Path, description = "store slug"), ("zone" = String, Path, description = "zone id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No such store or zone")))]
pub async fn delete_zone(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, zone)): Path<(String, String)>,
) -> Result<StatusCode, ServiceError> {
    state
        .orders()
        .delete_shipping_zone(delete_request(&scope, zone))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn put_method(
    state: &GatewayState,
    scope: StoreScope<Staff>,
    id: String,
    body: MethodBody,
) -> Result<ShippingMethodView, ServiceError> {
    let method = state
        .orders()
        .put_shipping_method(PutShippingMethodRequest {
            caller: Some(scope.orders_caller(None)),
            store_id: scope.store.id,
            method: Some(body.into_message(id)),
        })
        .await?;
    Ok(method.into())
}

/// Create a shipping method of a zone.
#[utoipa::path(post, path = "/v1/stores/{store}/shipping-methods", tag = "pricing", request_body = MethodBody,
    params(("store" = String, Path, description = "store slug")), security(("bearer" = [])),
    responses((status = 201, body = ShippingMethodView, description = "The method"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No store has this slug"),
              (status = 422, description = "A field is invalid (a zone of no such id included); `errors` names each one")))]
pub async fn create_method(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    ApiJson(body): ApiJson<MethodBody>,
) -> Result<Created<ShippingMethodView>, ServiceError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(put_method(&state, scope, String::new(), body).await?),
    ))
}

/// Replace a shipping method.
#[utoipa::path(put, path = "/v1/stores/{store}/shipping-methods/{method}", tag = "pricing", request_body = MethodBody,
    params(("store" = String, Path, description = "store slug"), ("method" = String, Path, description = "method id")),
    security(("bearer" = [])),
    responses((status = 200, body = ShippingMethodView, description = "The method"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No such store or method"),
              (status = 422, description = "A field is invalid; `errors` names each one")))]
pub async fn update_method(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, method)): Path<(String, String)>,
    ApiJson(body): ApiJson<MethodBody>,
) -> Result<axum::Json<ShippingMethodView>, ServiceError> {
    Ok(axum::Json(put_method(&state, scope, method, body).await?))
}

/// Delete a shipping method.
#[utoipa::path(delete, path = "/v1/stores/{store}/shipping-methods/{method}", tag = "pricing",
    params(("store" = String, Path, description = "store slug"), ("method" = String, Path, description = "method id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No such store or method")))]
pub async fn delete_method(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, method)): Path<(String, String)>,
) -> Result<StatusCode, ServiceError> {
    state
        .orders()
        .delete_shipping_method(delete_request(&scope, method))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set the rate of a tax category in a zone.
#[utoipa::path(put, path = "/v1/stores/{store}/tax-rates", tag = "pricing", request_body = TaxRateBody,
    params(("store" = String, Path, description = "store slug")), security(("bearer" = [])),
    responses((status = 200, body = TaxRateBody, description = "The rate"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No store has this slug"),
              (status = 422, description = "A field is invalid (a zone of no such id, a rate over 10000); `errors` names each one")))]
pub async fn put_tax_rate(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    ApiJson(body): ApiJson<TaxRateBody>,
) -> Result<axum::Json<TaxRateBody>, ServiceError> {
    let rate = state
        .orders()
        .put_tax_rate(PutTaxRateRequest {
            caller: Some(scope.orders_caller(None)),
            store_id: scope.store.id,
            rate: Some(mercato_proto::orders::TaxRate {
                zone_id: body.zone_id,
                category: body.category,
                rate_bps: body.rate_bps,
            }),
        })
        .await?;
    Ok(axum::Json(rate.into()))
}

/// Delete the rate of a tax category in a zone.
#[utoipa::path(delete, path = "/v1/stores/{store}/tax-rates/{zone}/{category}", tag = "pricing",
    params(("store" = String, Path, description = "store slug"), ("zone" = String, Path, description = "zone id"),
           ("category" = String, Path, description = "tax category")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No such store or rate")))]
pub async fn delete_tax_rate(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, zone_id, category)): Path<(String, String, String)>,
) -> Result<StatusCode, ServiceError> {
    state
        .orders()
        .delete_tax_rate(DeleteTaxRateRequest {
            caller: Some(scope.orders_caller(None)),
            store_id: scope.store.id,
            zone_id,
            category,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set the store's tax settings: prices with or without tax, and the rounding (owner only).
#[utoipa::path(put, path = "/v1/stores/{store}/tax-settings", tag = "pricing", request_body = TaxSettingsBody,
    params(("store" = String, Path, description = "store slug")), security(("bearer" = [])),
    responses((status = 200, body = TaxSettingsBody, description = "The settings"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner"),
              (status = 404, description = "No store has this slug"),
              (status = 422, description = "`rounding` is neither half_up nor half_even")))]
pub async fn put_tax_settings(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
    ApiJson(body): ApiJson<TaxSettingsBody>,
) -> Result<axum::Json<TaxSettingsBody>, ServiceError> {
    let settings = state
        .orders()
        .put_tax_settings(PutTaxSettingsRequest {
            caller: Some(scope.orders_caller(None)),
            store_id: scope.store.id,
            settings: Some(body.to_message()),
        })
        .await?;
    Ok(axum::Json(settings.into()))
}

/// Create a promotion: a code, or automatic without one.
#[utoipa::path(post, path = "/v1/stores/{store}/promotions", tag = "pricing", request_body = PromotionBody,
    params(("store" = String, Path, description = "store slug")), security(("bearer" = [])),
    responses((status = 201, body = PromotionView, description = "The promotion"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No store has this slug"),
              (status = 409, description = "`conflict`: an active promotion has this code"),
              (status = 422, description = "A field is invalid; `errors` names each one")))]
pub async fn create_promotion(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    ApiJson(body): ApiJson<PromotionBody>,
) -> Result<Created<PromotionView>, ServiceError> {
    let promotion = state
        .orders()
        .create_promotion(CreatePromotionRequest {
            caller: Some(scope.orders_caller(None)),
            store_id: scope.store.id,
            promotion: Some(body.into()),
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(promotion.into())))
}

/// The store's promotions, deleted ones included (inactive), newest first.
#[utoipa::path(get, path = "/v1/stores/{store}/promotions", tag = "pricing",
    params(("store" = String, Path, description = "store slug")), security(("bearer" = [])),
    responses((status = 200, body = Vec<PromotionView>, description = "The promotions"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No store has this slug")))]
pub async fn list_promotions(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
) -> Result<axum::Json<Vec<PromotionView>>, ServiceError> {
    let list = state
        .orders()
        .list_promotions(PricingRequest {
            caller: Some(scope.orders_caller(None)),
            store_id: scope.store.id,
        })
        .await?;
    Ok(axum::Json(list.promotions.into_iter().map(Into::into).collect()))
}

/// Delete a promotion: orders keep it; carts stop getting it.
#[utoipa::path(delete, path = "/v1/stores/{store}/promotions/{promotion}", tag = "pricing",
    params(("store" = String, Path, description = "store slug"), ("promotion" = String, Path, description = "promotion id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No such store or active promotion")))]
pub async fn delete_promotion(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, promotion)): Path<(String, String)>,
) -> Result<StatusCode, ServiceError> {
    state
        .orders()
        .delete_promotion(delete_request(&scope, promotion))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
