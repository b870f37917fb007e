//! Per-client rate limiting at the edge.
//!
//! A request is counted against its client: the token's subject when it carries a valid token,
//! else the address it came from (through trusted proxies only, see `client_addr`). A forged
//! or expired token therefore counts against the address, so made-up tokens cannot mint fresh
//! allowances.

use crate::state::GatewayState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::ratelimit::Decision;

/// Describes what [`rate_limit`] records.
pub(crate) fn describe_metrics() {
    mercato_runtime::metric_family::Family::describe_all(&[RATE_LIMIT_REJECTIONS]);
}

mercato_runtime::metric_families! {
    /// Requests answered 429 because their client exceeded its allowance, by route template.
    pub(crate) const RATE_LIMIT_REJECTIONS: Counter(Count) = "rate_limit_rejections_total";
}

/// Routes that create accounts (a store with its owner, a customer), which cost an argon2 hash
/// and a row each: besides the general allowance, each client address gets
/// `http.sign_ups_per_second` of each, whatever token it presents.
const SIGN_UP_ROUTES: [&str; 2] = ["/v1/stores", "/v1/stores/{store}/customers"];

/// Answers 429 with `Retry-After` once a client exceeds its allowance.
pub async fn rate_limit(State(state): State<GatewayState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    // The shadow comparison asking again what the client asked once.
    if request
        .extensions()
        .get::<mercato_runtime::http_edge::InternalAsk>()
        .is_some()
    {
        return next.run(request).await;
    }
    let mut request = request;
    if let Some(per_second) = state.rate_limit_per_second() {
        let key = client_key(&state, &mut request);
        if let Decision::Reject { retry_after_secs } = state.limiter().check(&key, per_second).await {
            return rejected(route, retry_after_secs);
        }
    }
    if let Some(per_second) = state.sign_ups_per_second()
        && request.method() == Method::POST
        && SIGN_UP_ROUTES.contains(&route.as_str())
    {
        let ip = crate::client_addr::of(request.headers(), request.extensions(), state.trusted_proxies());
        let key = match ip {
            Some(ip) => format!("signup:{route}:ip:{ip}"),
            None => format!("signup:{route}:ip:unknown"),
        };
        if let Decision::Reject { retry_after_secs } = state.limiter().check(&key, per_second).await {
            return rejected(route, retry_after_secs);
        }
    }
    next.run(request).await
}

/// Marks a response the rate limit refused (the strangler does not compare refusals).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RateLimited;

fn rejected(route: String, retry_after_secs: u64) -> Response {
    metrics::counter!(RATE_LIMIT_REJECTIONS.name, "route" => route).increment(1);
    let mut response =
        ServiceError::new(ErrorCode::RateLimited, "too many requests; slow down").into_response();
    response.extensions_mut().insert(RateLimited);
    if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// The client to count against. A token verified here is kept in the request's extensions so
/// that the `Caller` extractor does not verify it a second time.
fn client_key(state: &GatewayState, request: &mut Request) -> String {
    let token = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let Some(Ok(claims)) = token.map(|t| state.verifier().verify_known(t.trim())) {
        let key = format!("sub:{}:{}", claims.store, claims.sub);
        request.extensions_mut().insert(claims);
        return key;
    }
    match crate::client_addr::of(request.headers(), request.extensions(), state.trusted_proxies()) {
        Some(ip) => format!("ip:{ip}"),
        None => "ip:unknown".to_owned(),
    }
}
