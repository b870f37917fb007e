//! A cart's shipping and discounts: its addresses, the shipping methods it is offered and the
//! one chosen, and its promotion code. For the cart's owner (a customer, or whoever holds an
//! anonymous cart's `X-Cart-Token`).

use crate::access::{Anyone, StoreScope};
use crate::dto_orders::CartView;
use crate::dto_pricing::{CartAddressesBody, PromotionCodeBody, ShippingMethodBody, ShippingOptionsView};
use crate::extract::ApiJson;
use crate::routes::carts::cart_token;
use crate::state::GatewayState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use mercato_proto::orders::{
    GetCartRequest, SetCartAddressesRequest, SetCartPromotionCodeRequest, SetCartShippingMethodRequest,
};
use mercato_runtime::error::ServiceError;

/// Set a cart's shipping and billing addresses (one left out is removed).
#[utoipa::path(put, path = "/v1/stores/{store}/carts/{cart}/addresses", tag = "orders", request_body = CartAddressesBody,
    params(("store" = String, Path, description = "store slug"), ("cart" = uuid::Uuid, Path, description = "cart id"),
           ("X-Cart-Token" = Option<String>, Header, description = "an anonymous cart's token")),
    responses((status = 200, body = CartView, description = "The cart, priced for its addresses, with its shipping options"),
              (status = 401, description = "The bearer token is invalid"),
              (status = 404, description = "No such store or cart, or the cart is not the caller's"),
              (status = 409, description = "`cart_checked_out`: the cart is checked out"),
              (status = 422, description = "An address field is invalid; `errors` names each one")))]
pub async fn set_cart_addresses(
    State(state): State<GatewayState>,
    scope: StoreScope<Anyone>,
    Path((_store, cart_id)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CartAddressesBody>,
) -> Result<axum::Json<CartView>, ServiceError> {
    let cart = state
        .orders()
        .set_cart_addresses(SetCartAddressesRequest {
            caller: Some(scope.orders_caller(cart_token(&headers))),
            store_id: scope.store.id,
            cart_id,
            shipping_address: body.shipping_address.map(Into::into),
            billing_address: body.billing_address.map(Into::into),
        })
        .await?;
    Ok(axum::Json(cart.into()))
}

/// The shipping methods that reach the cart's shipping address and carry its parcel, with
/// their prices, cheapest first.
#[utoipa::path(get, path = "/v1/stores/{store}/carts/{cart}/shipping-methods", tag = "orders",
    params(("store" = String, Path, description = "store slug"), ("cart" = uuid::Uuid, Path, description = "cart id"),
           ("X-Cart-Token" = Option<String>, Header, description = "an anonymous cart's token")),
    responses((status = 200, body = ShippingOptionsView, description = "The methods offered (none without a shipping address, or outside every zone)"),
              (status = 401, description = "The bearer token is invalid"),
              (status = 404, description = "No such store or cart, or the cart is not the caller's"),
              (status = 409, description = "`cart_checked_out`: the cart is checked out"),
              (status = 422, description = "The cart id is not a UUID")))]
pub async fn list_shipping_methods(
    State(state): State<GatewayState>,
    scope: StoreScope<Anyone>,
    Path((_store, cart_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<axum::Json<ShippingOptionsView>, ServiceError> {
    let options = state
        .orders()
        .list_shipping_options(GetCartRequest {
            caller: Some(scope.orders_caller(cart_token(&headers))),
            store_id: scope.store.id,
            cart_id,
        })
        .await?;
    Ok(axum::Json(options.into()))
}

/// Choose the cart's shipping method, one of its shipping options.
#[utoipa::path(put, path = "/v1/stores/{store}/carts/{cart}/shipping-method", tag = "orders", request_body = ShippingMethodBody,
    params(("store" = String, Path, description = "store slug"), ("cart" = uuid::Uuid, Path, description = "cart id"),
           ("X-Cart-Token" = Option<String>, Header, description = "an anonymous cart's token")),
    responses((status = 200, body = CartView, description = "The cart, with the method's price in its charges"),
              (status = 401, description = "The bearer token is invalid"),
              (status = 404, description = "No such store or cart, or the cart is not the caller's"),
              (status = 409, description = "`cart_checked_out`: the cart is checked out"),
              (status = 422, description = "`shipping_address_required`: the cart has no shipping address yet; `validation_failed`: the method is not one of the cart's options")))]
pub async fn set_cart_shipping_method(
    State(state): State<GatewayState>,
    scope: StoreScope<Anyone>,
    Path((_store, cart_id)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ShippingMethodBody>,
) -> Result<axum::Json<CartView>, ServiceError> {
    let cart = state
        .orders()
        .set_cart_shipping_method(SetCartShippingMethodRequest {
            caller: Some(scope.orders_caller(cart_token(&headers))),
            store_id: scope.store.id,
            cart_id,
            method_id: body.method_id,
        })
        .await?;
    Ok(axum::Json(cart.into()))
}

async fn set_code(
    state: &GatewayState,
    scope: StoreScope<Anyone>,
    cart_id: String,
    headers: &HeaderMap,
    code: String,
) -> Result<axum::Json<CartView>, ServiceError> {
    let cart = state
        .orders()
        .set_cart_promotion_code(SetCartPromotionCodeRequest {
            caller: Some(scope.orders_caller(cart_token(headers))),
            store_id: scope.store.id,
            cart_id,
            code,
        })
        .await?;
    Ok(axum::Json(cart.into()))
}

/// Apply a promotion code to the cart (replacing its code, if any).
#[utoipa::path(post, path = "/v1/stores/{store}/carts/{cart}/promotion-code", tag = "orders", request_body = PromotionCodeBody,
    params(("store" = String, Path, description = "store slug"), ("cart" = uuid::Uuid, Path, description = "cart id"),
           ("X-Cart-Token" = Option<String>, Header, description = "an anonymous cart's token")),
    responses((status = 200, body = CartView, description = "The cart, with the discount in its charges"),
              (status = 401, description = "The bearer token is invalid"),
              (status = 404, description = "No such store or cart, or the cart is not the caller's"),
              (status = 409, description = "`cart_checked_out`: the cart is checked out"),
              (status = 422, description = "`promotion_unknown`: no active promotion has the code; `promotion_inactive`: not valid yet or expired; `promotion_exhausted`: used up (in all or by this customer); `promotion_minimum_not_met`: the subtotal is below its minimum")))]
pub async fn apply_promotion_code(
    State(state): State<GatewayState>,
    scope: StoreScope<Anyone>,
    Path((_store, cart_id)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PromotionCodeBody>,
) -> Result<axum::Json<CartView>, ServiceError> {
    if body.code.trim().is_empty() {
        return Err(ServiceError::invalid_field("code", "is required"));
    }
    set_code(&state, scope, cart_id, &headers, body.code).await
}

/// Remove the cart's promotion code.
#[utoipa::path(delete, path = "/v1/stores/{store}/carts/{cart}/promotion-code", tag = "orders",
    params(("store" = String, Path, description = "store slug"), ("cart" = uuid::Uuid, Path, description = "cart id"),
           ("X-Cart-Token" = Option<String>, Header, description = "an anonymous cart's token")),
    responses((status = 200, body = CartView, description = "The cart, without a code"),
              (status = 401, description = "The bearer token is invalid"),
              (status = 404, description = "No such store or cart, or the cart is not the caller's"),
              (status = 409, description = "`cart_checked_out`: the cart is checked out"),
              (status = 422, description = "The cart id is not a UUID")))]
pub async fn remove_promotion_code(
    State(state): State<GatewayState>,
    scope: StoreScope<Anyone>,
    Path((_store, cart_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<axum::Json<CartView>, ServiceError> {
    set_code(&state, scope, cart_id, &headers, String::new()).await
}
