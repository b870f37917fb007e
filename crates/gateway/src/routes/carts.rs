//! Carts: anonymous (proved by the `X-Cart-Token` header) or a signed-in customer's.

use crate::access::{Anyone, Customer, StoreScope};
use crate::dto_orders::{AddItemBody, CartView, MergeCartBody, SetItemBody};
use crate::extract::ApiJson;
use crate::state::GatewayState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use mercato_proto::orders::{
    AddCartItemRequest, CreateCartRequest, GetCartRequest, MergeCartRequest, SetCartItemRequest,
};
use mercato_runtime::error::ServiceError;

/// The header carrying an anonymous cart's token.
pub const CART_TOKEN: &str = "x-cart-token";

pub(crate) fn cart_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CART_TOKEN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Create a cart: a customer's when signed in, else anonymous (its token is returned once).
#[utoipa::path(post, path = "/v1/stores/{store}/carts", tag = "orders",
    params(("store" = String, Path, description = "store slug")),
    responses((status = 201, body = CartView, description = "The new cart; an anonymous one carries its `cart_token`, shown only here"),
              (status = 401, description = "The bearer token is invalid"),
              (status = 404, description = "No store has this slug")))]
pub async fn create_cart(
    State(state): State<GatewayState>,
    scope: StoreScope<Anyone>,
) -> Result<(StatusCode, axum::Json<CartView>), ServiceError> {
    let cart = state
        .orders()
        .create_cart(CreateCartRequest {
            caller: Some(scope.orders_caller(None)),
            store_id: scope.store.id,
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(cart.into())))
}

/// One cart, for its owner.
#[utoipa::path(get, path = "/v1/stores/{store}/carts/{cart}", tag = "orders",
    params(("store" = String, Path, description = "store slug"), ("cart" = uuid::Uuid, Path, description = "cart id"),
           ("X-Cart-Token" = Option<String>, Header, description = "an anonymous cart's token")),
    responses((status = 200, body = CartView, description = "The cart"),
              (status = 401, description = "The bearer token is invalid"),
              (status = 404, description = "No such store or cart, or the cart is not the caller's"),
              (status = 422, description = "The cart id is not a UUID")))]
pub async fn get_cart(
    State(state): State<GatewayState>,
    scope: StoreScope<Anyone>,
    Path((_store, cart_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<axum::Json<CartView>, ServiceError> {
    let cart = state
        .orders()
        .get_cart(GetCartRequest {
            caller: Some(scope.orders_caller(cart_token(&headers))),
            store_id: scope.store.id,
            cart_id,
        })
        .await?;
    Ok(axum::Json(cart.into()))
}

/// Add a SKU to a cart (or more of it).
#[utoipa::path(post, path = "/v1/stores/{store}/carts/{cart}/items", tag = "orders", request_body = AddItemBody,
    params(("store" = String, Path, description = "store slug"), ("cart" = uuid::Uuid, Path, description = "cart id"),
           ("X-Cart-Token" = Option<String>, Header, description = "an anonymous cart's token")),
    responses((status = 200, body = CartView, description = "The cart, with the item added"),
              (status = 401, description = "The bearer token is invalid"),
              (status = 404, description = "No such store or cart, or the cart is not the caller's"),
              (status = 409, description = "The cart is checked out"),
              (status = 422, description = "The SKU is not in the catalog, or the quantity is out of range")))]
pub async fn add_cart_item(
    State(state): State<GatewayState>,
    scope: StoreScope<Anyone>,
    Path((_store, cart_id)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AddItemBody>,
) -> Result<axum::Json<CartView>, ServiceError> {
    let request = AddCartItemRequest {
        caller: Some(scope.orders_caller(cart_token(&headers))),
        store_id: scope.store.id,
        cart_id,
        sku: body.sku,
        quantity: body.quantity,
    };
    Ok(axum::Json(state.orders().add_cart_item(request).await?.into()))
}

/// Set a line's quantity; 0 removes it.
#[utoipa::path(put, path = "/v1/stores/{store}/carts/{cart}/items/{sku}", tag = "orders", request_body = SetItemBody,
    params(("store" = String, Path, description = "store slug"), ("cart" = uuid::Uuid, Path, description = "cart id"),
           ("sku" = String, Path, description = "SKU: 1–64 characters of `A-Z a-z 0-9 . _ -`", pattern = "^[A-Za-z0-9._-]{1,64}$"),
           ("X-Cart-Token" = Option<String>, Header, description = "an anonymous cart's token")),
    responses((status = 200, body = CartView, description = "The cart, with the line changed"),
              (status = 401, description = "The bearer token is invalid"),
              (status = 404, description = "No such store or cart, or the cart is not the caller's"),
              (status = 409, description = "The cart is checked out"),
              (status = 422, description = "The SKU is not in the cart or catalog, or the quantity is out of range")))]
pub async fn set_cart_item(
    State(state): State<GatewayState>,
    scope: StoreScope<Anyone>,
    Path((_store, cart_id, sku)): Path<(String, String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SetItemBody>,
) -> Result<axum::Json<CartView>, ServiceError> {
    let request = SetCartItemRequest {
        caller: Some(scope.orders_caller(cart_token(&headers))),
        store_id: scope.store.id,
        cart_id,
        sku,
        quantity: body.quantity,
    };
    Ok(axum::Json(state.orders().set_cart_item(request).await?.into()))
}

/// Merge an anonymous cart into the signed-in customer's cart.
#[utoipa::path(post, path = "/v1/stores/{store}/carts/merge", tag = "orders", request_body = MergeCartBody,
    params(("store" = String, Path, description = "store slug")), security(("bearer" = [])),
    responses((status = 200, body = CartView, description = "The caller's cart, with the anonymous cart's lines"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "Only customers have carts to merge into"),
              (status = 404, description = "No such store or anonymous cart, or the token does not match"),
              (status = 409, description = "A cart is checked out"),
              (status = 422, description = "A field is invalid")))]
pub async fn merge_cart(
    State(state): State<GatewayState>,
    scope: StoreScope<Customer>,
    ApiJson(body): ApiJson<MergeCartBody>,
) -> Result<axum::Json<CartView>, ServiceError> {
    let request = MergeCartRequest {
        caller: Some(scope.orders_caller(None)),
        store_id: scope.store.id,
        anonymous_cart_id: body.cart_id,
        anonymous_cart_token: body.cart_token,
    };
    Ok(axum::Json(state.orders().merge_cart(request).await?.into()))
}
