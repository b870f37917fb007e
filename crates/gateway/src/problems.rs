//! Every error the edge answers is a problem document: the request-head limits (414, 431, and
//! 413 for a declared body length) are checked here, and the answers axum makes by itself — a 405, a path segment that is not
//! UTF-8, a body read past its limit — are rewritten into problem+json.
//!
//! Hyper parses the request head before any of this runs and refuses what it cannot parse by
//! itself: a request line it cannot read (a path of raw bytes that are not UTF-8), a target over
//! its fixed ceiling of 64 KiB, more than 100 header fields, or a head over its read buffer
//! (about 400 KiB). Its answer has no body; the server loop (`mercato_runtime::http::serve`)
//! sends a problem document with the same status and code instead, and closes the connection.
//! The limits here sit well below those ceilings, so a request that is merely too large reaches
//! this middleware and is refused here, on a connection that stays open.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mercato_runtime::error::{ErrorCode, ServiceError};

/// The longest request target (path and query) served; longer ones get 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header bytes (names and values) a request may carry; more get 431.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// The most header fields a request may carry; more get 431.
pub const MAX_HEADER_FIELDS: usize = 64;
/// How much of a framework-made error body is kept as the problem's `detail`.
const MAX_DETAIL_BYTES: usize = 1024;

/// Answers 414 or 431 (as problem documents) before routing when the request head is over the
/// limits.
pub async fn head_limits(request: Request, next: Next) -> Response {
    let target = request.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target > MAX_URI_BYTES {
        let message = format!("the request target is longer than {MAX_URI_BYTES} bytes");
        return ServiceError::new(ErrorCode::UriTooLong, message).into_response();
    }
    let headers = request.headers();
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers.len() > MAX_HEADER_FIELDS || header_bytes > MAX_HEADER_BYTES {
        let message = format!(
            "the request carries more than {MAX_HEADER_FIELDS} header fields or {MAX_HEADER_BYTES} bytes of them"
        );
        return ServiceError::new(ErrorCode::HeadersTooLarge, message).into_response();
    }
    next.run(request).await
}

/// Answers 413 when the request declares (`Content-Length`) a body over `limit`, before its
/// route's extractors run: whether a body is too large depends on the request alone, not on
/// the store or the caller, which the route checks first. A body without a declared length is
/// held to the same limit as it is read.
pub async fn declared_body_limit(
    axum::extract::State(limit): axum::extract::State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // The image upload and import batch routes alone take larger bodies (and hold them to
    // their own limits).
    let limit = match request.extensions().get::<axum::extract::MatchedPath>() {
        Some(path) if path.as_str() == crate::routes::images::UPLOAD_PATH => {
            crate::routes::images::UPLOAD_BODY_LIMIT
        }
        Some(path) if path.as_str() == crate::routes::imports::BATCH_PATH => {
            crate::routes::imports::BATCH_BODY_LIMIT
        }
        _ => limit,
    };
    if declared.is_some_and(|length| length > limit as u64) {
        return ServiceError::new(ErrorCode::PayloadTooLarge, "request body is too large").into_response();
    }
    next.run(request).await
}

/// Rewrites error answers that are not problem documents into problem documents with the same
/// status and headers (`Allow` on a 405 stays). JSON answers are left alone: those are the RFC
/// 6749 errors of the token endpoint, which OAuth2 clients expect in that shape; and so are
/// HTML pages (the web's error pages and forms shown again with their errors), which are for
/// people.
pub async fn problem_net(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) || is_html(&response) {
        return response;
    }
    let Some(code) = ErrorCode::for_http_status(status.as_u16()) else {
        // A status outside the closed set of codes (a WebSocket upgrade's 426): a problem
        // document would have to misstate either the status or the code, so it stays as it is.
        return response;
    };
    let (mut parts, body) = response.into_parts();
    let detail = match axum::body::to_bytes(body, MAX_DETAIL_BYTES).await {
        Ok(text) if !text.is_empty() => lower_first(&String::from_utf8_lossy(&text)),
        _ => default_detail(code, status),
    };
    let problem = ServiceError::new(code, detail).into_response();
    let (problem_parts, problem_body) = problem.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in &problem_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, Body::new(problem_body))
}

fn is_json(response: &Response) -> bool {
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json") || essence.ends_with("+json")
}

fn is_html(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"))
}

fn default_detail(code: ErrorCode, status: StatusCode) -> String {
    match code {
        ErrorCode::MethodNotAllowed => "this resource does not answer that method; see Allow".to_owned(),
        _ => status
            .canonical_reason()
            .unwrap_or("request refused")
            .to_lowercase(),
    }
}

/// axum's rejections start with a capital ("Invalid URL: …"); problem details do not.
fn lower_first(text: &str) -> String {
    let mut chars = text.trim().chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::get;
    use tower::ServiceExt;

    fn app() -> Router {
        Router::new()
            .route(
                "/v1/things/{id}",
                get(|axum::extract::Path(id): axum::extract::Path<String>| async move { id }),
            )
            .layer(axum::middleware::from_fn_with_state(16, declared_body_limit))
            .layer(axum::middleware::from_fn(head_limits))
            .layer(axum::middleware::from_fn(problem_net))
    }

    async fn call(request: Request) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let response = app().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (parts.status, parts.headers, json)
    }

    fn get_request(uri: &str) -> Request {
        Request::get(uri).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn a_body_declared_over_the_limit_is_a_413_problem_before_the_route_runs() {
        let request = |length: usize| {
            Request::get("/v1/things/1")
                .header(header::CONTENT_LENGTH, length)
                .body(Body::from(vec![b' '; length]))
                .unwrap()
        };
        let (status, _, body) = call(request(17)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body["code"], "payload_too_large");
        let (status, _, _) = call(request(16)).await;
        assert_eq!(status, StatusCode::OK, "a body at the limit is served");
    }

    #[tokio::test]
    async fn a_path_segment_that_is_not_utf8_is_a_400_problem() {
        let (status, headers, body) = call(get_request("/v1/things/%FF%FE")).await;
        assert_eq!(status, 400);
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        assert_eq!(body["code"], "invalid_request");
        assert_eq!(body["status"], 400);
    }

    #[tokio::test]
    async fn a_method_a_route_does_not_answer_is_a_405_problem_that_keeps_allow() {
        let request = Request::delete("/v1/things/a").body(Body::empty()).unwrap();
        let (status, headers, body) = call(request).await;
        assert_eq!(status, 405);
        assert!(headers.contains_key(header::ALLOW));
        assert_eq!(body["code"], "method_not_allowed");
    }

    #[tokio::test]
    async fn an_over_long_target_is_a_414_problem() {
        let uri = format!("/v1/things/a?q={}", "x".repeat(MAX_URI_BYTES));
        let (status, _, body) = call(get_request(&uri)).await;
        assert_eq!(status, 414);
        assert_eq!(body["code"], "uri_too_long");
    }

    #[tokio::test]
    async fn too_many_header_bytes_are_a_431_problem() {
        let request = Request::get("/v1/things/a")
            .header("x-padding", "y".repeat(MAX_HEADER_BYTES))
            .body(Body::empty())
            .unwrap();
        let (status, _, body) = call(request).await;
        assert_eq!(status, 431);
        assert_eq!(body["code"], "headers_too_large");
    }

    #[tokio::test]
    async fn successful_answers_pass_untouched() {
        let (status, _, _) = call(get_request("/v1/things/a")).await;
        assert_eq!(status, 200);
    }
}
