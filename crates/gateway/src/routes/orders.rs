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
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mercato_proto::orders::{
    CancelOrderRequest, CheckoutRequest, FailureCode, GetOrderEventsRequest, GetOrderRequest, OrderStatus,
    PaymentDetails, RefundLine, RefundOrderRequest,
};
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::idempotency::{IdempotencyKey, canonical_json_hash};

const IDEMPOTENCY_KEY: &str = "idempotency-key";
const REPLAYED: &str = "idempotent-replayed";

/// An error answered as a problem document, with `Retry-After` when the service said how long
/// to wait (a `checkout_in_progress` carries the seconds until its saga's lease ends).
pub struct Refusal(ServiceError);

impl From<ServiceError> for Refusal {
    fn from(e: ServiceError) -> Self {
        Refusal(e)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut error = self.0;
        let retry_after = error.take_retry_after();
        let mut response = error.into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<String, ServiceError> {
    Ok(IdempotencyKey::from_header(headers.get(IDEMPOTENCY_KEY))?.into_string())
}

/// Check a cart out: reserve stock, authorize and capture payment, confirm — or compensate.
/// Requires `Idempotency-Key`: the same key and body replay the first answer (with
/// `Idempotent-Replayed: true`; the body is compared as canonical JSON, so whitespace and key
/// order do not matter), the same key with another body is 422, a key still running 409
/// `checkout_in_progress` with `Retry-After`.
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
              (status = 409, description = "`out_of_stock`: the order failed for want of stock; `checkout_in_progress`: a checkout with this key is still running, retry after `Retry-After` seconds; `cart_checked_out`: the cart was checked out (with another key) or merged; `changed_concurrently`: the cart changed meanwhile, retry",
               headers(("Retry-After" = u64, description = "With `checkout_in_progress`: seconds until the running checkout's lease ends"))),
              (status = 422, description = "The cart is empty, the payment details or an address are invalid (a payment method of another store included), or the key was used with another body; `shipping_address_required`: the cart holds goods to ship and no shipping address was given (here or on the cart); `shipping_unavailable`: no shipping method reaches the address; `shipping_method_required`: none of the cart's shipping options was chosen; `promotion_unknown`, `promotion_inactive`, `promotion_exhausted`, `promotion_minimum_not_met`: the cart's code does not apply")))]
pub async fn checkout(
    State(state): State<GatewayState>,
    scope: StoreScope<Anyone>,
    headers: HeaderMap,
    ClientIp(client): ClientIp,
    body: Bytes,
) -> Result<Response, Refusal> {
    let key = idempotency_key(&headers)?;
    // Read by hand rather than with the JSON extractor: the body is hashed for idempotency, in
    // its canonical form (the same JSON with other whitespace or key order is the same request).
    let parsed: CheckoutBody = crate::extract::json_object(&body)?;
    if parsed.payment.card_number.is_some() {
        return Err(ServiceError::invalid_field(
            "payment.card_number",
            "card numbers are not accepted at checkout: tokenize the card with POST \
             /v1/stores/{store}/payment-methods and send its id as payment.payment_method",
        )
        .into());
    }
    let request_hash = canonical_json_hash(&body);
    let payment = PaymentDetails {
        payment_method: parsed.payment.payment_method,
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
            shipping_address: parsed.shipping_address.map(Into::into),
            billing_address: parsed.billing_address.map(Into::into),
            shipping_method_id: parsed.shipping_method_id.unwrap_or_default(),
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
        FailureCode::OutOfStock => ErrorCode::OutOfStock,
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

/// Orders: a customer's own, or the whole store's for owners and staff, filtered by status,
/// fulfilment status, creation time, customer, or an order number or e-mail search, newest
/// first; `cursor` pages stably.
#[utoipa::path(get, path = "/v1/stores/{store}/orders", tag = "orders",
    params(("store" = String, Path, description = "store slug"), OrdersQuery), security(("bearer" = [])),
    responses((status = 200, body = OrderPageView, description = "One page of orders, newest first"),
              (status = 401, description = "No valid bearer token"),
              (status = 404, description = "No store has this slug, or the token is another store's"),
              (status = 422, description = "A parameter is out of range: an unknown status or fulfilment status, a time that is not RFC 3339, `created_to` before `created_from`, a cursor this listing did not give")))]
pub async fn list_orders(
    State(state): State<GatewayState>,
    scope: StoreScope<Member>,
    ApiQuery(query): ApiQuery<OrdersQuery>,
) -> Result<axum::Json<OrderPageView>, ServiceError> {
    let mut request = crate::dto_orders::list_request(&query)?;
    request.caller = Some(scope.orders_caller(None));
    request.store_id = scope.store.id;
    let page = state.orders().list_orders(request).await?;
    Ok(axum::Json(OrderPageView {
        items: page.orders.into_iter().map(Into::into).collect(),
        total: page.total,
        next_cursor: Some(page.next_cursor).filter(|c| !c.is_empty()),
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
              (status = 409, description = "`order_not_cancellable`: the order can no longer be cancelled; `checkout_in_progress`: its checkout or a refund is still running, retry after `Retry-After` seconds; `changed_concurrently`: it changed meanwhile, retry",
               headers(("Retry-After" = u64, description = "With `checkout_in_progress`: seconds to wait"))),
              (status = 422, description = "The order id is not a UUID")))]
pub async fn cancel_order(
    State(state): State<GatewayState>,
    scope: StoreScope<Member>,
    Path((_store, order_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<axum::Json<OrderView>, Refusal> {
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
              (status = 409, description = "`order_not_refundable`: the order cannot be refunded in its state, or nothing is left to refund; `checkout_in_progress`: its checkout, cancellation or another refund is still running, retry after `Retry-After` seconds; `changed_concurrently`: it changed meanwhile, retry",
               headers(("Retry-After" = u64, description = "With `checkout_in_progress`: seconds to wait"))),
              (status = 422, description = "A line names a SKU or quantity the order does not have")))]
pub async fn refund_order(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, order_id)): Path<(String, String)>,
    headers: HeaderMap,
    crate::extract::ApiJson(body): crate::extract::ApiJson<RefundBody>,
) -> Result<axum::Json<OrderView>, Refusal> {
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
