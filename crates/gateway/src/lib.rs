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
//! - `cors`: which other origins' pages may call the API (`http.cors_allowed_origins`).
//! - `access`: the `StoreScope<A>` extractor, the one owner of tenancy and roles: it resolves
//!   the `{store}` slug, checks that the bearer token is that store's and that its role is one
//!   the route admits (`Public`, `Anyone`, `Member`, `Customer`, `Staff`, `Owner`); `limits`:
//!   the per-client rate limit; `client_addr`: the client's address, through trusted proxies
//!   only.
//! - `extract`: JSON, form and query extractors whose rejections are problem documents;
//!   `problems`: the request-head limits (414, 431), and problem documents for the errors the
//!   framework answers by itself.
//! - `dto`: the REST request and response shapes, and their conversion from the contracts;
//!   `dto_addresses`: the one REST shape of a postal address; `dto_customers`: customers'
//!   profiles and address books; `dto_pricing`: shipping zones and methods, tax, promotions,
//!   and the charges of carts and orders; `dto_catalog`: products (options, status, weights,
//!   tax category) and search synonyms; `dto_accounts`: the staff list, API clients (a secret
//!   only where it was just made) and the RFC 7009 revocation form; `dto_notifications`:
//!   webhook endpoints (a secret only where it was just made), their delivery log, e-mail
//!   preferences and templates, unsubscribing.
//! - [`event_payloads`]: the public JSON of an event's object (webhook payloads' `data`).
//! - `read_cache`: public catalog reads kept encoded with their `ETag`, dropped per store when
//!   its catalog changes; a signed-in caller's reads bypass it (staff see drafts).
//! - `product_views`: product page views counted in memory where they are answered (the read
//!   cache's hits and the product route), per store, product and minute with distinct visitor
//!   keys, published on the bus every `http.product_views_flush` as
//!   `mercato.gateway.product_views_counted` (no outbox: a crash loses at most that interval).
//! - `routes`: one module per resource; `openapi`: the generated OpenAPI document and `/docs`;
//!   `security_headers`: the content security policy and the other security headers of every
//!   response (the pages themselves are the `mercato-web` crate's).

mod access;
mod client_addr;
mod cors;
mod dto;
mod dto_accounts;
mod dto_addresses;
mod dto_catalog;
mod dto_customers;
mod dto_fulfilment;
pub mod dto_imports;
mod dto_jobs;
mod dto_notifications;
mod dto_order_events;
mod dto_orders;
mod dto_pricing;
mod dto_realtime;
pub mod event_payloads;
mod extract;
mod limits;
mod openapi;
mod problems;
mod product_views;
mod read_cache;
mod routes;
mod security_headers;
mod shedding;
mod state;
pub mod strangler;

pub use state::{GatewayState, RealtimeForward, Upstreams};

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderName;
use mercato_runtime::config::HttpSettings;
use mercato_runtime::error::{ErrorCode, ServiceError};
use std::time::Duration;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};

pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The gateway's routes with the middleware each route applies for itself; wrap the process's
/// whole router in [`edge`] afterwards.
pub fn router(state: GatewayState, http: &HttpSettings) -> Router {
    let mut api = routes::all();
    if state.forwards_realtime() {
        api = api.route("/v1/realtime", axum::routing::get(routes::realtime));
    }
    let api = api
        .merge(openapi::routes())
        .fallback(routes::not_found)
        .with_state(state.clone());

    api.layer(
        ServiceBuilder::new()
            // Tell the edge which route answered, for its metrics.
            .layer(axum::middleware::from_fn(
                mercato_runtime::http_edge::remember_route,
            ))
            // Each client gets its allowance (429 beyond it) before any work is done for it.
            .layer(axum::middleware::from_fn_with_state(state, limits::rate_limit))
            // Turn the timeout below into a problem document.
            .layer(HandleErrorLayer::new(edge_error))
            // Requests that run too long are answered with 504.
            .timeout(http.request_timeout)
            // …and every service call it makes ends by then (`resilience::deadline`).
            .layer(axum::middleware::from_fn_with_state(
                http.request_timeout,
                mercato_runtime::resilience::deadline::scope_http_request,
            ))
            // Bodies declared over the limit are refused (413) before the route checks its
            // store and caller; bodies that grow past it while read are refused then.
            .layer(axum::middleware::from_fn_with_state(
                http.body_limit_bytes,
                problems::declared_body_limit,
            ))
            .layer(DefaultBodyLimit::max(http.body_limit_bytes)),
    )
}

/// What every request to a gateway process passes once, before routing: an id, its span,
/// metrics and access line, security headers, panic and CORS handling, the answers of the read
/// cache, which a current cached read gets here without routing, rate limiting or a handler,
/// and load shedding. Merge `ops_routes` beside the result for health and metrics (never shed).
pub fn edge(state: &GatewayState, http: &HttpSettings, routes: Router) -> Router {
    let service = ServiceBuilder::new()
        // Give every request an id (or keep the caller's), so logs and clients can name it.
        .layer(SetRequestIdLayer::new(REQUEST_ID, ProcessRequestIds))
        // Run the request in a span carrying its id (joining the caller's trace when traces
        // are exported); record rate, errors and duration per route, including shed,
        // timed-out and panicked requests; write its access-log line.
        .layer(axum::middleware::from_fn(mercato_runtime::http_edge::observe))
        // Echo the id on the response.
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        // Every answer, refusals and panics included, gets `nosniff`; every HTML page its
        // content security policy and frame, referrer and opener protection.
        .layer(axum::middleware::from_fn(security_headers::security_headers))
        // A panicking handler becomes a 500 problem instead of a dropped connection.
        .layer(CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(ServiceError::new(
                ErrorCode::Internal,
                "internal error",
            ))
        }))
        // Errors the framework answers by itself (a 405, a path that is not UTF-8, a body read
        // past its limit) leave as problem documents too.
        .layer(axum::middleware::from_fn(problems::problem_net))
        // Request heads over the limits are refused (414, 431) before anything else reads them.
        .layer(axum::middleware::from_fn(problems::head_limits))
        // Browsers on other origins may call the API only when configured
        // (`http.cors_allowed_origins`; see `cors`); otherwise same origin only.
        .option_layer(cors::layer(&http.cors_allowed_origins))
        // A public read the cache holds, current, is answered from it: the cheapest answer
        // there is, so it is never shed.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            read_cache::answer_cached,
        ))
        // While the CPU is saturated (`http.max_scheduling_delay`), a share of requests is
        // refused at once with 503 and `Retry-After`, so that the rest are served in time.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            shedding::shed_under_pressure,
        ))
        // Past `http.max_concurrent_requests` requests in flight in this process, a request is
        // refused at once with 503 and `Retry-After` — before routing, rate limiting (a Redis
        // call), token checks and body reads. One limit for the whole process: layered here,
        // it is built once (a per-route layer would give every route its own).
        .layer(HandleErrorLayer::new(edge_error))
        .load_shed()
        .concurrency_limit(http.max_concurrent_requests)
        .service(routes);
    Router::new().fallback_service(service)
}

/// Request ids shaped as UUIDs (version 8): a random prefix drawn once per process and a
/// counter, so that minting one needs no system call (`MakeRequestUuid` asked the kernel for
/// randomness on every request).
#[derive(Clone, Copy)]
pub(crate) struct ProcessRequestIds;

impl MakeRequestId for ProcessRequestIds {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        static PREFIX: std::sync::LazyLock<[u8; 8]> =
            std::sync::LazyLock::new(|| uuid::Uuid::new_v4().as_u64_pair().0.to_be_bytes());
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let count = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&*PREFIX);
        bytes[8..].copy_from_slice(&count.to_be_bytes());
        let id = uuid::Builder::from_custom_bytes(bytes).into_uuid();
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let value = axum::http::HeaderValue::from_str(id.hyphenated().encode_lower(&mut text)).ok()?;
        Some(RequestId::new(value))
    }
}

/// Describes the metrics the gateway records (next to each: shed requests here, rate-limit
/// rejections in `limits`, read-cache results in `read_cache`); the binary calls this once the
/// metrics recorder is installed.
pub fn describe_metrics() {
    mercato_runtime::metric_family::Family::describe_all(&[HTTP_SHED_REQUESTS]);
    limits::describe_metrics();
    read_cache::describe_metrics();
}

mercato_runtime::metric_families! {
    /// Requests the gateway refused before handling, by reason: timeout (over the request deadline),
    /// overloaded (the concurrency limit was reached) or pressure (the CPU was saturated).
    pub(crate) const HTTP_SHED_REQUESTS: Counter(Count) = "http_shed_requests_total";
}

async fn edge_error(err: tower::BoxError) -> axum::response::Response {
    use axum::response::IntoResponse;
    if err.is::<tower::timeout::error::Elapsed>() {
        metrics::counter!(HTTP_SHED_REQUESTS.name, "reason" => "timeout").increment(1);
        ServiceError::new(
            ErrorCode::Timeout,
            "request timed out; a request with an Idempotency-Key may be sent again with the same key",
        )
        .into_response()
    } else if err.is::<tower::load_shed::error::Overloaded>() {
        metrics::counter!(HTTP_SHED_REQUESTS.name, "reason" => "overloaded").increment(1);
        let mut response = ServiceError::unavailable("server overloaded; retry shortly").into_response();
        response.extensions_mut().insert(mercato_runtime::http_edge::Shed);
        response
    } else {
        ServiceError::internal(err).into_response()
    }
}

/// How long a resolved store slug is remembered; slugs never change owner.
pub(crate) const STORE_CACHE_TTL: Duration = Duration::from_secs(60);
