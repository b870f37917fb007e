//! After the sale: fulfilments (owner and staff send units with tracking, mark them shipped and
//! delivered) and returns (requested by the customer for their own order or by staff, approved
//! or rejected, received with each line sellable or not — which refunds and restocks).

use crate::access::{Member, Staff, StoreScope};
use crate::dto_fulfilment::{FulfilmentBody, ReceiveBody, ReturnBody, ShipBody};
use crate::dto_orders::OrderView;
use crate::extract::ApiJson;
use crate::routes::orders::{Refusal, idempotency_key};
use crate::state::GatewayState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use mercato_proto::orders::{
    CreateFulfilmentRequest, DecideReturnRequest, ReceiveReturnRequest, RequestReturnRequest, ReturnLine,
    ShipmentStatus, UpdateFulfilmentRequest,
};

/// Send some or all of a confirmed order's units (owner or staff).
#[utoipa::path(post, path = "/v1/stores/{store}/orders/{order}/fulfilments", tag = "orders", request_body = FulfilmentBody,
    params(("store" = String, Path, description = "store slug"), ("order" = uuid::Uuid, Path, description = "order id"),
           ("Idempotency-Key" = String, Header, description = "unique per fulfilment: 1–200 printable ASCII characters; the same key again answers the order and sends nothing more", pattern = "^[!-~]([ -~]{0,198}[!-~])?$", max_length = 200)),
    security(("bearer" = [])),
    responses((status = 200, body = OrderView, description = "The order, with the fulfilment"),
              (status = 400, description = "`Idempotency-Key` is missing or malformed, or the body cannot be read"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No such store or order"),
              (status = 409, description = "`order_not_fulfillable`: the order is pending, failed, cancelled or refunded, or every unit was sent; `checkout_in_progress`: its checkout, a refund or a return is still running, retry after `Retry-After` seconds; `changed_concurrently`: it changed meanwhile, retry",
               headers(("Retry-After" = u64, description = "With `checkout_in_progress`: seconds to wait"))),
              (status = 422, description = "A line names a SKU the order lacks or more units than are still to send; the location, carrier, tracking number or URL is malformed")))]
pub async fn create_fulfilment(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, order_id)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<FulfilmentBody>,
) -> Result<axum::Json<OrderView>, Refusal> {
    let request = CreateFulfilmentRequest {
        caller: Some(scope.orders_caller(None)),
        store_id: scope.store.id,
        order_id,
        idempotency_key: idempotency_key(&headers)?,
        location: body.location.unwrap_or_default(),
        lines: body.lines.into_iter().map(|l| l.into_proto()).collect(),
        carrier: body.carrier.unwrap_or_default(),
        tracking_number: body.tracking_number.unwrap_or_default(),
        tracking_url: body.tracking_url.unwrap_or_default(),
    };
    Ok(axum::Json(
        state.orders().create_fulfilment(request).await?.into(),
    ))
}

/// Mark a fulfilment shipped, with its tracking if not given before (owner or staff). Marking a
/// shipped or delivered one again changes nothing.
#[utoipa::path(post, path = "/v1/stores/{store}/orders/{order}/fulfilments/{fulfilment}/ship", tag = "orders", request_body = ShipBody,
    params(("store" = String, Path, description = "store slug"), ("order" = uuid::Uuid, Path, description = "order id"),
           ("fulfilment" = uuid::Uuid, Path, description = "fulfilment id")),
    security(("bearer" = [])),
    responses((status = 200, body = OrderView, description = "The order, its fulfilment shipped"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No such store, order or fulfilment"),
              (status = 409, description = "`checkout_in_progress`: a refund or return of the order is running, retry after `Retry-After` seconds; `changed_concurrently`: it changed meanwhile, retry",
               headers(("Retry-After" = u64, description = "With `checkout_in_progress`: seconds to wait"))),
              (status = 422, description = "The carrier, tracking number or URL is malformed")))]
pub async fn ship_fulfilment(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, order_id, fulfilment_id)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<ShipBody>,
) -> Result<axum::Json<OrderView>, Refusal> {
    let request = UpdateFulfilmentRequest {
        caller: Some(scope.orders_caller(None)),
        store_id: scope.store.id,
        order_id,
        fulfilment_id,
        status: ShipmentStatus::Shipped.into(),
        carrier: body.carrier.unwrap_or_default(),
        tracking_number: body.tracking_number.unwrap_or_default(),
        tracking_url: body.tracking_url.unwrap_or_default(),
    };
    Ok(axum::Json(
        state.orders().update_fulfilment(request).await?.into(),
    ))
}

/// Mark a fulfilment delivered (owner or staff); again changes nothing.
#[utoipa::path(post, path = "/v1/stores/{store}/orders/{order}/fulfilments/{fulfilment}/deliver", tag = "orders",
    params(("store" = String, Path, description = "store slug"), ("order" = uuid::Uuid, Path, description = "order id"),
           ("fulfilment" = uuid::Uuid, Path, description = "fulfilment id")),
    security(("bearer" = [])),
    responses((status = 200, body = OrderView, description = "The order, its fulfilment delivered"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No such store, order or fulfilment"),
              (status = 409, description = "`checkout_in_progress`: a refund or return of the order is running, retry after `Retry-After` seconds; `changed_concurrently`: it changed meanwhile, retry",
               headers(("Retry-After" = u64, description = "With `checkout_in_progress`: seconds to wait"))),
              (status = 422, description = "The order or fulfilment id is not a UUID")))]
pub async fn deliver_fulfilment(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, order_id, fulfilment_id)): Path<(String, String, String)>,
) -> Result<axum::Json<OrderView>, Refusal> {
    let request = UpdateFulfilmentRequest {
        caller: Some(scope.orders_caller(None)),
        store_id: scope.store.id,
        order_id,
        fulfilment_id,
        status: ShipmentStatus::Delivered.into(),
        ..UpdateFulfilmentRequest::default()
    };
    Ok(axum::Json(
        state.orders().update_fulfilment(request).await?.into(),
    ))
}

/// Ask to return units that were sent: the customer for their own order, or owner or staff.
#[utoipa::path(post, path = "/v1/stores/{store}/orders/{order}/returns", tag = "orders", request_body = ReturnBody,
    params(("store" = String, Path, description = "store slug"), ("order" = uuid::Uuid, Path, description = "order id"),
           ("Idempotency-Key" = String, Header, description = "unique per return: 1–200 printable ASCII characters; the same key again answers the order", pattern = "^[!-~]([ -~]{0,198}[!-~])?$", max_length = 200)),
    security(("bearer" = [])),
    responses((status = 200, body = OrderView, description = "The order, with the return requested"),
              (status = 400, description = "`Idempotency-Key` is missing or malformed, or the body cannot be read"),
              (status = 401, description = "No valid bearer token"),
              (status = 404, description = "No such store or order, or not the caller's"),
              (status = 409, description = "`return_status_conflict`: the order has nothing (more) to return; `checkout_in_progress`: a refund or return of the order is running, retry after `Retry-After` seconds; `changed_concurrently`: it changed meanwhile, retry",
               headers(("Retry-After" = u64, description = "With `checkout_in_progress`: seconds to wait"))),
              (status = 422, description = "A line names a SKU the order lacks or more units than were sent and are in no other return; the reason is too long")))]
pub async fn request_return(
    State(state): State<GatewayState>,
    scope: StoreScope<Member>,
    Path((_store, order_id)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReturnBody>,
) -> Result<axum::Json<OrderView>, Refusal> {
    let request = RequestReturnRequest {
        caller: Some(scope.orders_caller(None)),
        store_id: scope.store.id,
        order_id,
        idempotency_key: idempotency_key(&headers)?,
        lines: body.lines.into_iter().map(|l| l.into_proto()).collect(),
        reason: body.reason.unwrap_or_default(),
    };
    Ok(axum::Json(state.orders().request_return(request).await?.into()))
}

async fn decide(
    state: GatewayState,
    scope: StoreScope<Staff>,
    (order_id, return_id): (String, String),
    approve: bool,
) -> Result<axum::Json<OrderView>, Refusal> {
    let request = DecideReturnRequest {
        caller: Some(scope.orders_caller(None)),
        store_id: scope.store.id,
        order_id,
        return_id,
        approve,
    };
    Ok(axum::Json(state.orders().decide_return(request).await?.into()))
}

/// Approve a requested return (owner or staff); again changes nothing.
#[utoipa::path(post, path = "/v1/stores/{store}/orders/{order}/returns/{return}/approve", tag = "orders",
    params(("store" = String, Path, description = "store slug"), ("order" = uuid::Uuid, Path, description = "order id"),
           ("return" = uuid::Uuid, Path, description = "return id")),
    security(("bearer" = [])),
    responses((status = 200, body = OrderView, description = "The order, its return approved"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No such store, order or return"),
              (status = 409, description = "`return_status_conflict`: the return was rejected or received already; `checkout_in_progress`, `changed_concurrently`: retry",
               headers(("Retry-After" = u64, description = "With `checkout_in_progress`: seconds to wait"))),
              (status = 422, description = "The order or return id is not a UUID")))]
pub async fn approve_return(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, order_id, return_id)): Path<(String, String, String)>,
) -> Result<axum::Json<OrderView>, Refusal> {
    decide(state, scope, (order_id, return_id), true).await
}

/// Reject a requested return (owner or staff); again changes nothing.
#[utoipa::path(post, path = "/v1/stores/{store}/orders/{order}/returns/{return}/reject", tag = "orders",
    params(("store" = String, Path, description = "store slug"), ("order" = uuid::Uuid, Path, description = "order id"),
           ("return" = uuid::Uuid, Path, description = "return id")),
    security(("bearer" = [])),
    responses((status = 200, body = OrderView, description = "The order, its return rejected"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No such store, order or return"),
              (status = 409, description = "`return_status_conflict`: the return was approved or received already; `checkout_in_progress`, `changed_concurrently`: retry",
               headers(("Retry-After" = u64, description = "With `checkout_in_progress`: seconds to wait"))),
              (status = 422, description = "The order or return id is not a UUID")))]
pub async fn reject_return(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, order_id, return_id)): Path<(String, String, String)>,
) -> Result<axum::Json<OrderView>, Refusal> {
    decide(state, scope, (order_id, return_id), false).await
}

/// Receive a return's units, each line sellable or not (owner or staff): the returned lines'
/// paid amount is refunded and the sellable units go back in stock, each exactly once. The same
/// receipt again (any `Idempotency-Key`) answers the order and changes nothing.
#[utoipa::path(post, path = "/v1/stores/{store}/orders/{order}/returns/{return}/receive", tag = "orders", request_body = ReceiveBody,
    params(("store" = String, Path, description = "store slug"), ("order" = uuid::Uuid, Path, description = "order id"),
           ("return" = uuid::Uuid, Path, description = "return id"),
           ("Idempotency-Key" = Option<String>, Header, description = "optional: a receipt is idempotent by the return itself")),
    security(("bearer" = [])),
    responses((status = 200, body = OrderView, description = "The order: the return completed (refunded and restocked), or received with its refund under way when payments or inventory must be retried (the saga driver finishes it)"),
              (status = 400, description = "The body cannot be read"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No such store, order or return"),
              (status = 409, description = "`return_status_conflict`: the return was rejected, or received already with other lines; `checkout_in_progress`: a refund or another return of the order is running, retry after `Retry-After` seconds; `changed_concurrently`: it changed meanwhile, retry",
               headers(("Retry-After" = u64, description = "With `checkout_in_progress`: seconds to wait"))),
              (status = 422, description = "The lines do not name every unit of the return exactly once")))]
pub async fn receive_return(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, order_id, return_id)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<ReceiveBody>,
) -> Result<axum::Json<OrderView>, Refusal> {
    let request = ReceiveReturnRequest {
        caller: Some(scope.orders_caller(None)),
        store_id: scope.store.id,
        order_id,
        return_id,
        lines: body
            .lines
            .into_iter()
            .map(|l| ReturnLine {
                sku: l.sku,
                quantity: l.quantity,
                sellable: l.sellable,
            })
            .collect(),
    };
    Ok(axum::Json(state.orders().receive_return(request).await?.into()))
}
