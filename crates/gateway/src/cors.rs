//! Which other origins' pages may call the API from a browser (`http.cors_allowed_origins`).
//!
//! - None configured (the default): no CORS headers at all, so browsers allow the same origin
//!   only — all the built-in storefront needs, since `/` is served by this gateway.
//! - An origin listed by name (`https://shop.example`): every call, anonymous or with a token.
//! - `"*"`: any origin, for anonymous calls only (the public catalog: a storefront on another
//!   origin browsing and searching). A request carrying a credential — an `Authorization` token
//!   or a cart's `X-Cart-Token` — or a preflight asking to send one is answered without CORS
//!   headers unless its origin is listed by name, so the browser refuses it.
//!
//! The allowed origin is echoed (with `Vary: Origin`), never a literal `*`, and credentials
//! (cookies) are never allowed: the API authenticates with bearer tokens only.

use crate::routes::carts::CART_TOKEN;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, ETAG, IF_NONE_MATCH, LOCATION, RETRY_AFTER};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method};
use std::collections::HashSet;
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may reuse a preflight's answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The CORS layer for `origins`, or `None` when none is configured (same origin only).
pub(crate) fn layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let any = origins.iter().any(|o| o == "*");
    let named: HashSet<HeaderValue> = origins
        .iter()
        .filter(|o| *o != "*")
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    let allowed = move |origin: &HeaderValue, request: &Parts| {
        named.contains(origin) || (any && !carries_credentials(request))
    };
    let cart_token = HeaderName::from_static(CART_TOKEN);
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::predicate(allowed))
            .allow_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                AUTHORIZATION,
                CONTENT_TYPE,
                IF_NONE_MATCH,
                HeaderName::from_static("idempotency-key"),
                HeaderName::from_static("x-request-id"),
                cart_token.clone(),
            ])
            .expose_headers([
                ETAG,
                LOCATION,
                RETRY_AFTER,
                HeaderName::from_static("x-request-id"),
                HeaderName::from_static("idempotent-replayed"),
                cart_token,
            ])
            .max_age(PREFLIGHT_MAX_AGE),
    )
}

/// Whether the request carries a credential, or (a preflight) asks to send one.
fn carries_credentials(request: &Parts) -> bool {
    let credential = |name: &str| {
        name.eq_ignore_ascii_case(AUTHORIZATION.as_str()) || name.eq_ignore_ascii_case(CART_TOKEN)
    };
    request.headers.contains_key(AUTHORIZATION)
        || request.headers.contains_key(CART_TOKEN)
        || request
            .headers
            .get_all("access-control-request-headers")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|name| credential(name.trim()))
}
