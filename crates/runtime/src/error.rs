//! The closed set of error codes, one table mapping each to HTTP and gRPC.
//!
//! Services return [`ServiceError`]; it travels over gRPC as a `tonic::Status` carrying the code in
//! metadata, and leaves the edge as RFC 9457 `application/problem+json`. Internal details are
//! logged where they happen and never sent to clients.

use serde::{Deserialize, Serialize};

/// A stable, machine-readable error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is malformed: bad JSON, a missing header, an unknown field.
    InvalidRequest,
    /// The request is well-formed but its values are not acceptable.
    ValidationFailed,
    /// No valid credentials were presented.
    Unauthenticated,
    /// The caller is known but its role may not do this.
    Forbidden,
    /// The resource does not exist, or the caller may not know that it does.
    NotFound,
    /// The request conflicts with the current state (a taken slug, a duplicate SKU) in a way no
    /// more specific 409 code below names.
    Conflict,
    /// 409: a checkout ended without an order because stock ran out.
    OutOfStock,
    /// 409: a checkout with this idempotency key (or this order's saga) is still running; retry
    /// after `Retry-After` seconds for its answer.
    CheckoutInProgress,
    /// 409: the cart is no longer open (checked out, or merged into the customer's cart).
    CartCheckedOut,
    /// 409: the order's status does not allow cancelling it.
    OrderNotCancellable,
    /// 409: the order's status does not allow refunding it, or nothing is left to refund.
    OrderNotRefundable,
    /// 409: the order's status does not allow fulfilling it (pending, failed, cancelled,
    /// refunded), or nothing is left to fulfil.
    OrderNotFulfillable,
    /// 409: the return's or fulfilment's status does not allow the step (approving a rejected
    /// return, receiving one twice with other lines, delivering before …).
    ReturnStatusConflict,
    /// 409: the resource changed between reading and writing it; retrying the request may work.
    ChangedConcurrently,
    /// 409: the slug is already taken: a store's on the platform, a product's or a category's
    /// in its store.
    SlugTaken,
    /// 409: the store already has an account with this email.
    EmailTaken,
    /// 409: a user may not disable their own account.
    CannotDisableSelf,
    /// 409: the account is the store's last owner, which cannot be disabled.
    LastOwner,
    /// 409: a variant in this store already has the SKU.
    SkuTaken,
    /// 409: a reservation with this id already exists, holding other lines.
    ReservationIdReused,
    /// 409: the reservation's status does not allow the action (committing a released one,
    /// releasing a committed one, …).
    ReservationStatusConflict,
    /// 409: the stock level cannot take the change (on hand below what is reserved, or above
    /// the maximum).
    StockOutOfBounds,
    /// 409: the idempotency key was already used for a payment, capture or refund with other
    /// parameters.
    IdempotencyKeyReused,
    /// 409: the payment's status does not allow the action (capturing a voided payment, voiding
    /// one being captured, …).
    PaymentStatusConflict,
    /// 409: the payment is already captured, or being captured, under another idempotency key.
    PaymentAlreadyCaptured,
    /// 409: the payment provider refused the capture, void or refund.
    ProviderRefused,
    /// 422: the cart holds goods to ship and has no shipping address.
    ShippingAddressRequired,
    /// 422: the store ships to the address but no shipping method was chosen (or the chosen one no longer applies).
    ShippingMethodRequired,
    /// 422: no shipping method of the store reaches the address (or carries the parcel).
    ShippingUnavailable,
    /// 422: no active promotion has this code.
    PromotionUnknown,
    /// 422: the promotion code is not valid yet, or has expired.
    PromotionInactive,
    /// 422: the promotion code has been used as often as it may be (in all, or by this customer).
    PromotionExhausted,
    /// 422: the cart's subtotal is below the promotion's minimum.
    PromotionMinimumNotMet,
    /// The request body is larger than the limit.
    PayloadTooLarge,
    /// The request target (path and query) is longer than the limit.
    UriTooLong,
    /// The request's header fields are larger than the limit.
    HeadersTooLarge,
    /// The resource exists but does not answer this method.
    MethodNotAllowed,
    /// The caller sent too many requests.
    RateLimited,
    /// A payment was declined (by the card issuer or by fraud screening).
    PaymentRequired,
    /// 410: the resource existed and was deleted for good (an export's file after its retention).
    Gone,
    /// OAuth2: the grant (password, refresh token) is invalid, expired or revoked.
    InvalidGrant,
    /// OAuth2: client authentication failed.
    InvalidClient,
    /// OAuth2: the grant type is not supported.
    UnsupportedGrantType,
    /// The account is disabled; said only to a caller who proved the password.
    AccountDisabled,
    /// A dependency is unreachable or overloaded; retrying later may work.
    Unavailable,
    /// A dependency did not answer in time.
    Timeout,
    /// A bug or an unexpected failure.
    Internal,
}

impl ErrorCode {
    /// The whole table: code, HTTP status, gRPC code.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidRequest => 400,
            ErrorCode::ValidationFailed => 422,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict
            | ErrorCode::OutOfStock
            | ErrorCode::CheckoutInProgress
            | ErrorCode::CartCheckedOut
            | ErrorCode::OrderNotCancellable
            | ErrorCode::OrderNotRefundable
            | ErrorCode::OrderNotFulfillable
            | ErrorCode::ReturnStatusConflict
            | ErrorCode::ChangedConcurrently
            | ErrorCode::SlugTaken
            | ErrorCode::EmailTaken
            | ErrorCode::CannotDisableSelf
            | ErrorCode::LastOwner
            | ErrorCode::SkuTaken
            | ErrorCode::ReservationIdReused
            | ErrorCode::ReservationStatusConflict
            | ErrorCode::StockOutOfBounds
            | ErrorCode::IdempotencyKeyReused
            | ErrorCode::PaymentStatusConflict
            | ErrorCode::PaymentAlreadyCaptured
            | ErrorCode::ProviderRefused => 409,
            ErrorCode::ShippingAddressRequired
            | ErrorCode::ShippingMethodRequired
            | ErrorCode::ShippingUnavailable
            | ErrorCode::PromotionUnknown
            | ErrorCode::PromotionInactive
            | ErrorCode::PromotionExhausted
            | ErrorCode::PromotionMinimumNotMet => 422,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UriTooLong => 414,
            ErrorCode::HeadersTooLarge => 431,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::RateLimited => 429,
            ErrorCode::PaymentRequired => 402,
            ErrorCode::Gone => 410,
            ErrorCode::InvalidGrant => 400,
            ErrorCode::InvalidClient => 401,
            ErrorCode::UnsupportedGrantType => 400,
            ErrorCode::AccountDisabled => 403,
            ErrorCode::Unavailable => 503,
            ErrorCode::Timeout => 504,
            ErrorCode::Internal => 500,
        }
    }

    pub fn grpc_code(self) -> tonic::Code {
        match self {
            ErrorCode::InvalidRequest | ErrorCode::ValidationFailed => tonic::Code::InvalidArgument,
            ErrorCode::Unauthenticated | ErrorCode::InvalidClient => tonic::Code::Unauthenticated,
            ErrorCode::Forbidden | ErrorCode::AccountDisabled => tonic::Code::PermissionDenied,
            ErrorCode::NotFound => tonic::Code::NotFound,
            ErrorCode::Conflict
            | ErrorCode::SlugTaken
            | ErrorCode::EmailTaken
            | ErrorCode::SkuTaken
            | ErrorCode::ReservationIdReused
            | ErrorCode::IdempotencyKeyReused => tonic::Code::AlreadyExists,
            ErrorCode::CheckoutInProgress | ErrorCode::ChangedConcurrently => tonic::Code::Aborted,
            ErrorCode::OutOfStock
            | ErrorCode::CartCheckedOut
            | ErrorCode::OrderNotCancellable
            | ErrorCode::OrderNotRefundable
            | ErrorCode::OrderNotFulfillable
            | ErrorCode::ReturnStatusConflict
            | ErrorCode::ReservationStatusConflict
            | ErrorCode::StockOutOfBounds
            | ErrorCode::CannotDisableSelf
            | ErrorCode::LastOwner
            | ErrorCode::PaymentStatusConflict
            | ErrorCode::PaymentAlreadyCaptured
            | ErrorCode::ProviderRefused
            | ErrorCode::ShippingAddressRequired
            | ErrorCode::ShippingMethodRequired
            | ErrorCode::ShippingUnavailable
            | ErrorCode::PromotionUnknown
            | ErrorCode::PromotionInactive
            | ErrorCode::PromotionExhausted
            | ErrorCode::PromotionMinimumNotMet => tonic::Code::FailedPrecondition,
            ErrorCode::PayloadTooLarge | ErrorCode::UriTooLong | ErrorCode::HeadersTooLarge => {
                tonic::Code::OutOfRange
            }
            ErrorCode::MethodNotAllowed => tonic::Code::Unimplemented,
            ErrorCode::RateLimited => tonic::Code::ResourceExhausted,
            ErrorCode::PaymentRequired => tonic::Code::FailedPrecondition,
            ErrorCode::Gone => tonic::Code::NotFound,
            ErrorCode::InvalidGrant | ErrorCode::UnsupportedGrantType => tonic::Code::FailedPrecondition,
            ErrorCode::Unavailable => tonic::Code::Unavailable,
            ErrorCode::Timeout => tonic::Code::DeadlineExceeded,
            ErrorCode::Internal => tonic::Code::Internal,
        }
    }

    /// The code as sent to clients (`validation_failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::OutOfStock => "out_of_stock",
            ErrorCode::CheckoutInProgress => "checkout_in_progress",
            ErrorCode::CartCheckedOut => "cart_checked_out",
            ErrorCode::OrderNotCancellable => "order_not_cancellable",
            ErrorCode::OrderNotRefundable => "order_not_refundable",
            ErrorCode::OrderNotFulfillable => "order_not_fulfillable",
            ErrorCode::ReturnStatusConflict => "return_status_conflict",
            ErrorCode::ChangedConcurrently => "changed_concurrently",
            ErrorCode::SlugTaken => "slug_taken",
            ErrorCode::EmailTaken => "email_taken",
            ErrorCode::CannotDisableSelf => "cannot_disable_self",
            ErrorCode::LastOwner => "last_owner",
            ErrorCode::SkuTaken => "sku_taken",
            ErrorCode::ReservationIdReused => "reservation_id_reused",
            ErrorCode::ReservationStatusConflict => "reservation_status_conflict",
            ErrorCode::StockOutOfBounds => "stock_out_of_bounds",
            ErrorCode::IdempotencyKeyReused => "idempotency_key_reused",
            ErrorCode::PaymentStatusConflict => "payment_status_conflict",
            ErrorCode::PaymentAlreadyCaptured => "payment_already_captured",
            ErrorCode::ProviderRefused => "provider_refused",
            ErrorCode::ShippingAddressRequired => "shipping_address_required",
            ErrorCode::ShippingMethodRequired => "shipping_method_required",
            ErrorCode::ShippingUnavailable => "shipping_unavailable",
            ErrorCode::PromotionUnknown => "promotion_unknown",
            ErrorCode::PromotionInactive => "promotion_inactive",
            ErrorCode::PromotionExhausted => "promotion_exhausted",
            ErrorCode::PromotionMinimumNotMet => "promotion_minimum_not_met",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UriTooLong => "uri_too_long",
            ErrorCode::HeadersTooLarge => "headers_too_large",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::PaymentRequired => "payment_required",
            ErrorCode::Gone => "gone",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::AccountDisabled => "account_disabled",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Internal => "internal",
        }
    }

    /// Every code, in the order of the table.
    pub const ALL: [ErrorCode; 47] = [
        ErrorCode::InvalidRequest,
        ErrorCode::ValidationFailed,
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::OutOfStock,
        ErrorCode::CheckoutInProgress,
        ErrorCode::CartCheckedOut,
        ErrorCode::OrderNotCancellable,
        ErrorCode::OrderNotRefundable,
        ErrorCode::OrderNotFulfillable,
        ErrorCode::ReturnStatusConflict,
        ErrorCode::ChangedConcurrently,
        ErrorCode::SlugTaken,
        ErrorCode::EmailTaken,
        ErrorCode::CannotDisableSelf,
        ErrorCode::LastOwner,
        ErrorCode::SkuTaken,
        ErrorCode::ReservationIdReused,
        ErrorCode::ReservationStatusConflict,
        ErrorCode::StockOutOfBounds,
        ErrorCode::IdempotencyKeyReused,
        ErrorCode::PaymentStatusConflict,
        ErrorCode::PaymentAlreadyCaptured,
        ErrorCode::ProviderRefused,
        ErrorCode::ShippingAddressRequired,
        ErrorCode::ShippingMethodRequired,
        ErrorCode::ShippingUnavailable,
        ErrorCode::PromotionUnknown,
        ErrorCode::PromotionInactive,
        ErrorCode::PromotionExhausted,
        ErrorCode::PromotionMinimumNotMet,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UriTooLong,
        ErrorCode::HeadersTooLarge,
        ErrorCode::MethodNotAllowed,
        ErrorCode::RateLimited,
        ErrorCode::PaymentRequired,
        ErrorCode::Gone,
        ErrorCode::InvalidGrant,
        ErrorCode::InvalidClient,
        ErrorCode::UnsupportedGrantType,
        ErrorCode::AccountDisabled,
        ErrorCode::Unavailable,
        ErrorCode::Timeout,
        ErrorCode::Internal,
    ];

    /// The general code of an HTTP status, for answers the framework or the HTTP server made
    /// rather than a service (a 405, a path that does not decode); the first code of the table
    /// with that status, so 400 is `invalid_request` and 401 `unauthenticated`.
    pub fn for_http_status(status: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.http_status() == status)
    }

    fn from_str(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }

    fn from_grpc(code: tonic::Code) -> Self {
        match code {
            tonic::Code::InvalidArgument => ErrorCode::ValidationFailed,
            tonic::Code::Unauthenticated => ErrorCode::Unauthenticated,
            tonic::Code::PermissionDenied => ErrorCode::Forbidden,
            tonic::Code::NotFound => ErrorCode::NotFound,
            tonic::Code::AlreadyExists | tonic::Code::Aborted => ErrorCode::Conflict,
            tonic::Code::ResourceExhausted => ErrorCode::RateLimited,
            tonic::Code::Unavailable => ErrorCode::Unavailable,
            tonic::Code::DeadlineExceeded => ErrorCode::Timeout,
            // Our services always attach their code, so a bare Unknown/Internal/Cancelled comes
            // from the transport: a connection reset, an HTTP/2 error, a process dying mid-call.
            // The upstream is unavailable (retry later), not broken.
            tonic::Code::Unknown | tonic::Code::Internal | tonic::Code::Cancelled => ErrorCode::Unavailable,
            _ => ErrorCode::Internal,
        }
    }
}

/// One invalid field: which one, and what is wrong with it ("must be 1-80 characters").
///
/// Value types return it from their `parse`, knowing nothing of the wire; at the edge `?` (or a
/// [`Validator`]) turns it into the 422 [`ServiceError`] that names the field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{field} {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The pseudo-field carrying how many seconds a client should wait before retrying.
pub const RETRY_AFTER_FIELD: &str = "retry_after";

/// An error a service returns to its caller.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ServiceError {
    pub code: ErrorCode,
    /// Safe to show to the client: lower case, no internal detail.
    pub message: String,
    pub fields: Vec<FieldError>,
}

impl ServiceError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ServiceError {
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationFailed, message)
    }

    /// A validation error naming one field.
    pub fn invalid_field(field: &str, message: &str) -> Self {
        FieldError::new(field, message).into()
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    /// 409 `changed_concurrently`: a guarded write found the row changed since it was read.
    pub fn changed_concurrently(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ChangedConcurrently, message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, message)
    }

    /// 409 `checkout_in_progress`: the client should come back in `retry_after_secs` seconds
    /// (at least 1), carried as the `retry_after` field so that it survives gRPC; the edge
    /// answers it as the `Retry-After` header (see [`ServiceError::retry_after`]).
    pub fn in_progress(message: impl Into<String>, retry_after_secs: u64) -> Self {
        let mut e = Self::new(ErrorCode::CheckoutInProgress, message);
        e.fields.push(FieldError::new(
            RETRY_AFTER_FIELD,
            retry_after_secs.max(1).to_string(),
        ));
        e
    }

    /// The seconds this error asks the client to wait (its `retry_after` field), if any.
    pub fn retry_after(&self) -> Option<u64> {
        self.fields
            .iter()
            .find(|f| f.field == RETRY_AFTER_FIELD)
            .and_then(|f| f.message.parse().ok())
    }

    /// Takes the `retry_after` field out (it is a header at the edge, not an invalid field).
    pub fn take_retry_after(&mut self) -> Option<u64> {
        let secs = self.retry_after();
        self.fields.retain(|f| f.field != RETRY_AFTER_FIELD);
        secs
    }

    /// An unexpected failure: logs the cause here and returns a message that reveals nothing.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(ErrorCode::Internal, "internal error")
    }
}

impl From<FieldError> for ServiceError {
    fn from(e: FieldError) -> Self {
        ServiceError {
            code: ErrorCode::ValidationFailed,
            message: e.to_string(),
            fields: vec![e],
        }
    }
}

/// Collects field errors so that a client learns about every bad field at once.
#[derive(Default)]
pub struct Validator {
    fields: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the error of a field check (a [`FieldError`] or a [`ServiceError`]), keeping its
    /// value when it passed.
    pub fn check<T, E: Into<ServiceError>>(&mut self, result: Result<T, E>) -> Option<T> {
        match result.map_err(Into::into) {
            Ok(v) => Some(v),
            Err(e) => {
                if e.fields.is_empty() {
                    self.fields.push(FieldError {
                        field: String::new(),
                        message: e.message,
                    });
                } else {
                    self.fields.extend(e.fields);
                }
                None
            }
        }
    }

    pub fn add(&mut self, field: &str, message: &str) {
        self.fields.push(FieldError {
            field: field.to_owned(),
            message: message.to_owned(),
        });
    }

    /// Ends validation: an error listing every bad field, or `Ok` when there were none.
    pub fn finish(self) -> Result<(), ServiceError> {
        if self.fields.is_empty() {
            return Ok(());
        }
        let message = self
            .fields
            .iter()
            .map(|f| {
                if f.field.is_empty() {
                    f.message.clone()
                } else {
                    format!("{} {}", f.field, f.message)
                }
            })
            .collect::<Vec<_>>()
            .join("; ");
        Err(ServiceError {
            code: ErrorCode::ValidationFailed,
            message,
            fields: self.fields,
        })
    }
}

const CODE_METADATA: &str = "x-mercato-code";

impl From<ServiceError> for tonic::Status {
    fn from(e: ServiceError) -> Self {
        let details = serde_json::to_vec(&e.fields).unwrap_or_default();
        let mut status = tonic::Status::with_details(e.code.grpc_code(), e.message, details.into());
        if let Ok(v) = e.code.as_str().parse() {
            status.metadata_mut().insert(CODE_METADATA, v);
        }
        status
    }
}

impl From<tonic::Status> for ServiceError {
    fn from(status: tonic::Status) -> Self {
        let code = status
            .metadata()
            .get(CODE_METADATA)
            .and_then(|v| v.to_str().ok())
            .and_then(ErrorCode::from_str);
        match code {
            Some(code) => ServiceError {
                code,
                message: status.message().to_owned(),
                fields: serde_json::from_slice(status.details()).unwrap_or_default(),
            },
            // A status without our code came from the transport, not from a service.
            None => {
                let code = ErrorCode::from_grpc(status.code());
                tracing::warn!(grpc_code = ?status.code(), message = status.message(), "remote call failed");
                let message = match code {
                    ErrorCode::Unavailable => "upstream service unavailable",
                    ErrorCode::Timeout => "upstream service timed out",
                    _ => "internal error",
                };
                ServiceError::new(code, message)
            }
        }
    }
}

impl From<crate::db::DbError> for ServiceError {
    fn from(e: crate::db::DbError) -> Self {
        use crate::db::DbError;
        match &e {
            // Transient conflicts and an unreachable database are the client's to retry: 503
            // with Retry-After, not 500.
            DbError::Busy(_) => {
                tracing::warn!(error = %e, "transient database conflict");
                ServiceError::unavailable("database busy; retry")
            }
            DbError::Unavailable(_) => {
                tracing::warn!(error = %e, "database unavailable");
                ServiceError::unavailable("database unavailable; retry")
            }
            _ => ServiceError::internal(e),
        }
    }
}

#[cfg(test)]
mod tests;
