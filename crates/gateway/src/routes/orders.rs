//! Checkout and orders: placing, reading (with history), cancelling and refunding.

use crate::access::{Anyone, Member, Staff, StoreScope};
use crate::client_addr::ClientIp;
use crate::dto_orders::{
    CheckoutBody, EventsQuery, OrderHistoryView, OrderPageView, OrderView, OrdersQuery, RefundBody,
};
use crate::extract::ApiQuery;
use crate::routes::carts::cart_token;
use crate::state::GatewayState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mercato_proto::orders::{
    CancelOrderRequest, CheckoutRequest, FailureCode, GetOrderEventsRequest, GetOrderRequest,
    ListOrdersRequest, OrderStatus, PaymentDetails, RefundLine, RefundOrderRequest,
};
use mercato_runtime::digest::sha256_hex;
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::idempotency::IdempotencyKey;

const IDEMPOTENCY_KEY: &str = "idempotency-key";
const REPLAYED: &str = "idempotent-replayed";

fn idempotency_key(headers: &HeaderMap) -> Result<String, ServiceError> {
    Ok(IdempotencyKey::from_header(headers.get(IDEMPOTENCY_KEY))?.into_string())
}

/// Check a cart out: reserve stock, authorize and capture payment, confirm — or compensate.
/// Requires `Idempotency-Key`: the same key and body replay the first answer (with
/// `Idempotent-Replayed: true`), the same key with another body is 422, a key still running 409.
#[utoipa::path(post, path = "/v1/stores/{store}/checkout", tag = "orders", request_body = CheckoutBody,
    params(("store" = String, Path, description = "store slug"),
           ("Idempotency-Key" = String, Header, description = "unique per checkout attempt: 1–200 printable ASCII characters", pattern = "^[!-~]([ -~]{0,198}[!-~])?$", max_length = 200),
           ("X-Cart-Token" = Option<String>, Header, description = "an anonymous cart's token")),
    responses((status = 201, body = OrderView, description = "The order, confirmed and paid"),
              (status = 202, body = OrderView, description = "The order is still being placed; poll it"),
              (status = 400, description = "`Idempotency-Key` is missing or malformed, or the body cannot be read"),
              (status = 401, description = "The bearer token is invalid"),
              (status = 402, description = "The payment was declined"),
              (status = 404, description = "No such store or cart, or the cart is not the caller's"),
              (status = 409, description = "Out of stock, or a checkout with this key is still running"),
              (status = 422, description = "The cart is empty, the payment details are invalid, or the key was used with another body")))]
pub async fn checkout(
    State(state): State<GatewayState>,
    scope: StoreScope<Anyone>,
    headers: HeaderMap,
    ClientIp(client): ClientIp,
    body: Bytes,
) -> Result<Response, ServiceError> {
    let key = idempotency_key(&headers)?;
    // Read by hand rather than with the JSON extractor: the raw bytes are hashed for idempotency.
    let parsed: CheckoutBody = crate::extract::json_object(&body)?;
    let request_hash = sha256_hex(&body);
    let payment = PaymentDetails {
        card_number: parsed.payment.card_number,
        email: parsed.payment.email.unwrap_or_default(),
        billing_country: parsed.payment.billing_country.unwrap_or_default(),
        shipping_country: parsed.payment.shipping_country.unwrap_or_default(),
        ip: client.map(|ip| ip.to_string()).unwrap_or_default(),
    };
    let answer = state
        .orders()
        .checkout(CheckoutRequest {
            caller: Some(scope.orders_caller(cart_token(&headers))),
            store_id: scope.store.id,
            cart_id: parsed.cart_id,
            idempotency_key: key,
            payment: Some(payment),
            request_hash,
        })
        .await?;
    let order = answer
        .order
        .ok_or_else(|| ServiceError::internal("checkout returned no order"))?;
    let mut response = match order.status() {
        OrderStatus::Confirmed => (StatusCode::CREATED, axum::Json(OrderView::from(order))).into_response(),
        OrderStatus::Pending => (StatusCode::ACCEPTED, axum::Json(OrderView::from(order))).into_response(),
        OrderStatus::Failed
        | OrderStatus::Cancelled
        | OrderStatus::Refunded
        | OrderStatus::PartiallyRefunded
        | OrderStatus::Unspecified => failed_checkout(&order).into_response(),
    };
    if answer.replayed {
        response
            .headers_mut()
            .insert(REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// A checkout that ended without an order: 409 when stock ran out, 402 when payment was
/// declined, 422 when the payment details were refused, 503 otherwise (worth a retry).
fn failed_checkout(order: &mercato_proto::orders::Order) -> ServiceError {
    let code = order.failure_code();
    let why = mercato_proto::names::failure_code(code).unwrap_or("unknown");
    let message = format!("order {} failed: {}", order.id, why.replace('_', " "));
    let error = match code {
        FailureCode::OutOfStock => ErrorCode::Conflict,
        FailureCode::PaymentDeclined | FailureCode::FraudBlocked => ErrorCode::PaymentRequired,
        // The payments service refused the details themselves: retrying cannot help.
        FailureCode::PaymentInvalid => ErrorCode::ValidationFailed,
        FailureCode::PaymentFailed
        | FailureCode::StockCommitFailed
        | FailureCode::PaymentCaptureFailed
        | FailureCode::None => ErrorCode::Unavailable,
    };
    ServiceError::new(error, message)
}

/// Orders: a customer's own, or the whole store's for owners and staff.
#[utoipa::path(get, path = "/v1/stores/{store}/orders", tag = "orders",
    params(("store" = String, Path, description = "store slug"), OrdersQuery), security(("bearer" = [])),
    responses((status = 200, body = OrderPageView, description = "One page of orders, newest first"),
              (status = 401, description = "No valid bearer token"),
              (status = 404, description = "No store has this slug, or the token is another store's"),
              (status = 422, description = "A parameter is out of range")))]
pub async fn list_orders(
    State(state): State<GatewayState>,
    scope: StoreScope<Member>,
    ApiQuery(query): ApiQuery<OrdersQuery>,
) -> Result<axum::Json<OrderPageView>, ServiceError> {
    let page = state
        .orders()
        .list_orders(ListOrdersRequest {
            caller: Some(scope.orders_caller(None)),
            store_id: scope.store.id,
            page: query.page.unwrap_or(0),
            per_page: query.per_page.unwrap_or(0),
        })
        .await?;
    Ok(axum::Json(OrderPageView {
        items: page.orders.into_iter().map(Into::into).collect(),
        total: page.total,
    }))
}

/// One order.
#[utoipa::path(get, path = "/v1/stores/{store}/orders/{order}", tag = "orders",
    params(("store" = String, Path, description = "store slug"), ("order" = uuid::Uuid, Path, description = "order id")),
    security(("bearer" = [])),
    responses((status = 200, body = OrderView, description = "The order"),
              (status = 401, description = "No valid bearer token"),
              (status = 404, description = "No such store or order, or not the caller's"),
              (status = 422, description = "The order id is not a UUID")))]
pub async fn get_order(
    State(state): State<GatewayState>,
    scope: StoreScope<Member>,
    Path((_store, order_id)): Path<(String, String)>,
) -> Result<axum::Json<OrderView>, ServiceError> {
    let order = state
        .orders()
        .get_order(GetOrderRequest {
            caller: Some(scope.orders_caller(None)),
            store_id: scope.store.id,
            order_id,
        })
        .await?;
    Ok(axum::Json(order.into()))
}

/// An order's history of events; with `as_of`, the state at that time.
#[utoipa::path(get, path = "/v1/stores/{store}/orders/{order}/events", tag = "orders",
    params(("store" = String, Path, description = "store slug"), ("order" = uuid::Uuid, Path, description = "order id"), EventsQuery),
    security(("bearer" = [])),
    responses((status = 200, body = OrderHistoryView, description = "The order's events, and its state as of `as_of`"),
              (status = 401, description = "No valid bearer token"),
              (status = 404, description = "No such store or order, or not the caller's"),
              (status = 422, description = "`as_of` is not an RFC 3339 time, or the order id is not a UUID")))]
pub async fn order_events(
    State(state): State<GatewayState>,
    scope: StoreScope<Member>,
    Path((_store, order_id)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<axum::Json<OrderHistoryView>, ServiceError> {
    let as_of_ms = match query.as_of.as_deref() {
        None => None,
        Some(s) => Some(
            mercato_runtime::time::parse_rfc3339(s)
                .ok_or_else(|| ServiceError::invalid_field("as_of", "must be an RFC 3339 time"))?,
        ),
    };
    let history = state
        .orders()
        .get_order_events(GetOrderEventsRequest {
            caller: Some(scope.orders_caller(None)),
            store_id: scope.store.id,
            order_id,
            as_of_ms,
        })
        .await?;
    Ok(axum::Json(history.into()))
}

/// Cancel an order before fulfilment: stock goes back, the payment is voided or refunded.
#[utoipa::path(post, path = "/v1/stores/{store}/orders/{order}/cancel", tag = "orders",
    params(("store" = String, Path, description = "store slug"), ("order" = uuid::Uuid, Path, description = "order id"),
           ("Idempotency-Key" = String, Header, description = "unique per cancellation attempt: 1–200 printable ASCII characters", pattern = "^[!-~]([ -~]{0,198}[!-~])?$", max_length = 200)),
    security(("bearer" = [])),
    responses((status = 200, body = OrderView, description = "The order, cancelled"),
              (status = 400, description = "`Idempotency-Key` is missing or malformed"),
              (status = 401, description = "No valid bearer token"),
              (status = 404, description = "No such store or order, or not the caller's"),
              (status = 409, description = "The order can no longer be cancelled"),
              (status = 422, description = "The order id is not a UUID")))]
pub async fn cancel_order(
    State(state): State<GatewayState>,
    scope: StoreScope<Member>,
    Path((_store, order_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<axum::Json<OrderView>, ServiceError> {
    let key = idempotency_key(&headers)?;
    let request = CancelOrderRequest {
        caller: Some(scope.orders_caller(None)),
        store_id: scope.store.id,
        order_id,
        idempotency_key: key,
    };
    Ok(axum::Json(state.orders().cancel_order(request).await?.into()))
}

/// Refund an order, fully or by lines (owner or staff): stock goes back, the money too.
#[utoipa::path(post, path = "/v1/stores/{store}/orders/{order}/refunds", tag = "orders", request_body = RefundBody,
    params(("store" = String, Path, description = "store slug"), ("order" = uuid::Uuid, Path, description = "order id"),
           ("Idempotency-Key" = String, Header, description = "unique per refund: 1–200 printable ASCII characters", pattern = "^[!-~]([ -~]{0,198}[!-~])?$", max_length = 200)),
    security(("bearer" = [])),
    responses((status = 200, body = OrderView, description = "The order, with the refund"),
              (status = 400, description = "`Idempotency-Key` is missing or malformed, or the body cannot be read"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No such store or order"),
              (status = 409, description = "The order cannot be refunded in its state"),
              (status = 422, description = "A line names a SKU or quantity the order does not have")))]
pub async fn refund_order(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, order_id)): Path<(String, String)>,
    headers: HeaderMap,
    crate::extract::ApiJson(body): crate::extract::ApiJson<RefundBody>,
) -> Result<axum::Json<OrderView>, ServiceError> {
    let key = idempotency_key(&headers)?;
    let request = RefundOrderRequest {
        caller: Some(scope.orders_caller(None)),
        store_id: scope.store.id,
        order_id,
        idempotency_key: key,
        lines: body
            .lines
            .into_iter()
            .map(|l| RefundLine {
                sku: l.sku,
                quantity: l.quantity,
            })
            .collect(),
    };
    Ok(axum::Json(state.orders().refund_order(request).await?.into()))
}
