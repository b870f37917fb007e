//! Payment methods: a shopper's card tokenized once (as with a provider's publishable key,
//! anonymous shoppers may do it), so that checkouts name `pm_…` and never carry the number.

use crate::access::{Anyone, StoreScope};
use crate::dto_orders::{CreatePaymentMethodBody, PaymentMethodView};
use crate::extract::ApiJson;
use crate::state::GatewayState;
use axum::extract::State;
use axum::http::StatusCode;
use mercato_proto::payments::CreatePaymentMethodRequest;
use mercato_runtime::error::ServiceError;

/// Tokenize a card: the number goes to the payments service once and comes back as a payment
/// method (`pm_…`, usable in this store only) with its brand and last four digits. Checkout
/// then names the payment method. The number, expiry and verification code are not stored.
#[utoipa::path(post, path = "/v1/stores/{store}/payment-methods", tag = "orders",
    request_body = CreatePaymentMethodBody,
    params(("store" = String, Path, description = "store slug")),
    responses((status = 201, body = PaymentMethodView, description = "The payment method"),
              (status = 401, description = "The bearer token is invalid"),
              (status = 404, description = "No store has this slug"),
              (status = 422, description = "The card number, expiry, verification code or country is invalid")))]
pub async fn create_payment_method(
    State(state): State<GatewayState>,
    scope: StoreScope<Anyone>,
    ApiJson(body): ApiJson<CreatePaymentMethodBody>,
) -> Result<(StatusCode, axum::Json<PaymentMethodView>), ServiceError> {
    let method = state
        .orders()
        .create_payment_method(CreatePaymentMethodRequest {
            store_id: scope.store.id,
            card_number: body.card_number,
            exp: body.exp.unwrap_or_default(),
            cvc: body.cvc.unwrap_or_default(),
            billing_country: body.billing_country.unwrap_or_default(),
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(method.into())))
}
