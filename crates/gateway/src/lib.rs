//! The public HTTP edge of Mercato.
//!
//! It owns the REST surface under `/v1` and nothing else: every request is validated and
//! authenticated here, then answered by a service reached through its client (in process or
//! over gRPC; the gateway cannot tell). Errors leave as RFC 9457 problem+json.
//!
//! # Layout
//!
//! - [`router`] assembles routes and the middleware stack, one commented layer per line.
//! - `state`: the clients, the token verifier and the store-slug cache.
//! - `access`: who is calling (bearer token) and what they may do in which store; `limits`: the
//!   per-client rate limit.
//! - `extract`: JSON, form and query extractors whose rejections are problem documents.
//! - `dto`: the REST request and response shapes, and their conversion from the contracts.
//! - `routes`: one module per resource; `openapi`: the generated OpenAPI document and `/docs`.

mod access;
mod dto;
mod dto_orders;
mod dto_realtime;
mod extract;
mod limits;
mod openapi;
mod routes;
mod state;
mod web;

pub use state::{GatewayState, RealtimeForward, Upstreams};

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use mercato_runtime::config::HttpSettings;
use mercato_runtime::error::{ErrorCode, ServiceError};
use std::time::Duration;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::CorsLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The gateway's routes with its middleware; merge `ops_routes` beside it for health and metrics.
pub fn router(state: GatewayState, http: &HttpSettings) -> Router {
    let mut api = routes::all();
    if state.forwards_realtime() {
        api = api.route("/v1/realtime", axum::routing::get(routes::realtime));
    }
    let api = api
        .merge(openapi::routes())
        .merge(web::routes())
        .fallback(routes::not_found)
        .with_state(state.clone());

    api.layer(
        ServiceBuilder::new()
            // Give every request an id (or keep the caller's), so logs and clients can name it.
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            // Join the caller's trace (W3C traceparent) or start one; logs carry its id, and one
            // access-log line per request records status and latency.
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|req: &Request<_>| {
                        let id = req
                            .headers()
                            .get(REQUEST_ID)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("");
                        let span = tracing::info_span!("http", method = %req.method(), uri = %req.uri(),
                            request_id = %id, trace_id = tracing::field::Empty);
                        mercato_runtime::trace_context::adopt_headers(&span, req.headers());
                        span
                    })
                    .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
            )
            // Echo the id on the response.
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            // A panicking handler becomes a 500 problem instead of a dropped connection.
            .layer(CatchPanicLayer::custom(|_| {
                axum::response::IntoResponse::into_response(ServiceError::new(
                    ErrorCode::Internal,
                    "internal error",
                ))
            }))
            // Browsers on other origins may call the public API (no cookies are used).
            .layer(CorsLayer::permissive())
            // Record rate, errors and duration per route, including shed and timed-out requests.
            .layer(axum::middleware::from_fn(
                mercato_runtime::http::record_http_metrics,
            ))
            // Each client gets its allowance (429 beyond it) before any work is done for it.
            .layer(axum::middleware::from_fn_with_state(state, limits::rate_limit))
            // Turn the errors of the two layers below into problem documents.
            .layer(HandleErrorLayer::new(edge_error))
            // Shed load when the concurrency limit is reached: a fast 503 beats a slow queue.
            .load_shed()
            .concurrency_limit(http.max_concurrent_requests)
            // Requests that run too long are answered with 504.
            .timeout(http.request_timeout)
            // Bodies over the limit are refused (413) before they are read in full.
            .layer(DefaultBodyLimit::max(http.body_limit_bytes)),
    )
}

async fn edge_error(err: tower::BoxError) -> axum::response::Response {
    use axum::response::IntoResponse;
    if err.is::<tower::timeout::error::Elapsed>() {
        metrics::counter!("http_shed_requests_total", "reason" => "timeout").increment(1);
        ServiceError::new(ErrorCode::Timeout, "request timed out").into_response()
    } else if err.is::<tower::load_shed::error::Overloaded>() {
        metrics::counter!("http_shed_requests_total", "reason" => "overloaded").increment(1);
        ServiceError::unavailable("server overloaded; retry shortly").into_response()
    } else {
        ServiceError::internal(err).into_response()
    }
}

/// How long a resolved store slug is remembered; slugs never change owner.
pub(crate) const STORE_CACHE_TTL: Duration = Duration::from_secs(60);
