//! Extractors whose rejections are problem documents that say what is wrong.
//!
//! Malformed JSON is 400; JSON of the wrong shape (not an object, an unknown field, a missing
//! one, a wrong type) is 422; a body over the limit is 413. Either way the handler never runs,
//! so nothing is written.

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use mercato_runtime::error::{ErrorCode, ServiceError};
use serde::de::DeserializeOwned;

/// A JSON body, which must be an object.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ServiceError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ServiceError::invalid_request(
                "expected a body with content-type application/json",
            ));
        }
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ServiceError::new(ErrorCode::PayloadTooLarge, "request body is too large")
            } else {
                ServiceError::invalid_request(rejection.body_text())
            }
        })?;
        json_object(&body).map(ApiJson)
    }
}

/// Parses a request body that must be one JSON object. serde would read a struct from an array
/// too, field by field in declaration order (`["new-slug", "New title"]` as a product update),
/// so anything but an object is refused before it is deserialized.
pub fn json_object<T: DeserializeOwned>(body: &[u8]) -> Result<T, ServiceError> {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        None => return Err(ServiceError::invalid_request("malformed JSON: the body is empty")),
        Some(_) if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() => {
            return Err(ServiceError::invalid_request(
                "malformed JSON: expected a JSON object",
            ));
        }
        Some(_) => return Err(ServiceError::validation("the body must be a JSON object")),
    }
    axum::Json::<T>::from_bytes(body)
        .map(|axum::Json(v)| v)
        .map_err(json_rejection)
}

/// `application/json` or any `application/…+json`, as axum's own `Json` accepts.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn json_rejection(rejection: JsonRejection) -> ServiceError {
    match rejection {
        JsonRejection::JsonDataError(e) => ServiceError::validation(strip_prefix(&e.body_text())),
        JsonRejection::JsonSyntaxError(e) => {
            ServiceError::invalid_request(format!("malformed JSON: {}", strip_prefix(&e.body_text())))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Update {
        slug: Option<String>,
        title: Option<String>,
    }

    #[test]
    fn an_array_is_refused_rather_than_read_field_by_field() {
        let refused = json_object::<Update>(br#"["new-slug", "New title"]"#).unwrap_err();
        assert_eq!(refused.code, ErrorCode::ValidationFailed);
        assert_eq!(refused.message, "the body must be a JSON object");
        for other in [&b"42"[..], b"\"text\"", b"null", b"true"] {
            assert_eq!(
                json_object::<Update>(other).unwrap_err().code,
                ErrorCode::ValidationFailed
            );
        }
    }

    #[test]
    fn malformed_or_empty_bodies_are_400_and_objects_are_read() {
        for malformed in [&b""[..], b"  ", b"[1,", b"{\"slug\": "] {
            assert_eq!(
                json_object::<Update>(malformed).unwrap_err().code,
                ErrorCode::InvalidRequest
            );
        }
        let update = json_object::<Update>(br#" {"title": "New"}"#).unwrap();
        assert_eq!(update.title.as_deref(), Some("New"));
        assert_eq!(update.slug, None);
    }

    #[test]
    fn json_content_types_are_recognised_with_parameters_and_suffixes() {
        let with = |v: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, v.parse().unwrap());
            is_json(&headers)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("text/plain"));
        assert!(!is_json(&HeaderMap::new()));
    }
}
