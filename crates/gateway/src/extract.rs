//! Extractors whose rejections are problem documents that say what is wrong.
//!
//! Malformed JSON is 400; JSON of the wrong shape (an unknown field, a missing one, a wrong
//! type) is 422; a body over the limit is 413. Either way the handler never runs, so nothing
//! is written.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use mercato_runtime::error::{ErrorCode, ServiceError};
use serde::de::DeserializeOwned;

/// A JSON body.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ServiceError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ServiceError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ServiceError::new(ErrorCode::PayloadTooLarge, "request body is too large");
    }
    match rejection {
        JsonRejection::JsonDataError(e) => ServiceError::validation(strip_prefix(&e.body_text())),
        JsonRejection::JsonSyntaxError(e) => {
            ServiceError::invalid_request(format!("malformed JSON: {}", strip_prefix(&e.body_text())))
        }
        JsonRejection::MissingJsonContentType(_) => {
            ServiceError::invalid_request("expected a body with content-type application/json")
        }
        other => ServiceError::invalid_request(other.body_text()),
    }
}

/// Drops axum's generic lead-in so the message starts with what is wrong.
fn strip_prefix(text: &str) -> String {
    let text = text
        .strip_prefix("Failed to deserialize the JSON body into the target type: ")
        .or_else(|| text.strip_prefix("Failed to parse the request body as JSON: "))
        .or_else(|| text.strip_prefix("Failed to deserialize query string: "))
        .unwrap_or(text);
    text.to_owned()
}

/// Query-string parameters.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => Err(ServiceError::invalid_request(
                format!("invalid query: {}", strip_prefix(&e.body_text())),
            )),
            Err(other) => Err(ServiceError::invalid_request(other.body_text())),
        }
    }
}
