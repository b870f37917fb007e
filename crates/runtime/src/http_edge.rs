//! What the edge records about every HTTP request: a span for the logs and traces written while
//! it runs, its count and duration per route, method and status, and an access-log line.
//!
//! Each of these costs only as much as something reads: the span is built only when traces are
//! exported or debug logs are on (see [`request_span`]), metric handles are registered once
//! per label set, and the access line of an ordinary request (below 400, faster than
//! [`SLOW_REQUEST`]) is written at `debug`, so by default only failures and slow requests reach
//! the log. `RUST_LOG=info,mercato::access=debug` logs every request.

use crate::metric_handles::{CallMetrics, CallMetricsCache};
use axum::extract::{MatchedPath, Request};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::LazyLock;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// The header carrying the request id, set by the gateway before this layer runs.
const REQUEST_ID: &str = "x-request-id";
/// Requests slower than this are logged at `info` whatever their status.
pub const SLOW_REQUEST: Duration = Duration::from_secs(1);
/// The target of access-log lines, for filters (`mercato::access=debug`).
pub const ACCESS_TARGET: &str = "mercato::access";

static HTTP_METRICS: LazyLock<CallMetricsCache<Box<str>, (&'static str, StatusCode)>> =
    LazyLock::new(CallMetricsCache::default);

/// Describes what [`observe`] records.
pub(crate) fn describe_metrics() {
    crate::metric_family::Family::describe_all(&[HTTP_REQUESTS, HTTP_REQUEST_DURATION]);
}

crate::metric_families! {
    /// HTTP requests answered, by route template (or unmatched), method (other for a method HTTP
    /// does not define) and status.
    pub(crate) const HTTP_REQUESTS: Counter(Count) = "http_requests_total";
    /// Time from receiving an HTTP request to its response head, by route, method and status.
    pub(crate) const HTTP_REQUEST_DURATION: Histogram(Seconds) = "http_request_duration_seconds";
}

/// The `method` label: one of the methods HTTP defines, else `other`. Labels never take a value
/// the client invents, or each invented method would be a new series (and `/metrics` grows
/// without bound).
pub fn method_label(method: &Method) -> &'static str {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    KNOWN
        .iter()
        .find(|known| *known == method)
        .map_or("other", Method::as_str)
}

/// Middleware before routing: runs the request inside its span, then records its metrics (under
/// the route [`remember_route`] names in the response) and access line.
pub async fn observe(request: Request, next: Next) -> Response {
    if request.extensions().get::<InternalAsk>().is_some() {
        return next.run(request).await;
    }
    let started = Instant::now();
    let method = request.method().clone();
    let request_id = request.headers().get(REQUEST_ID).cloned();
    let request_id = request_id
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let span = request_span(request_id);
    crate::trace_context::adopt_headers(&span, request.headers());
    let uri = request.uri().clone();
    let response = next.run(request).instrument(span.clone()).await;
    let route = response
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let _entered = span.enter();
    let shed = response.extensions().get::<Shed>().is_some();
    let answered = Answered {
        route,
        method: &method,
        uri: &uri,
        request_id,
        status: response.status(),
        elapsed: started.elapsed(),
    };
    answered.record(shed);
    response
}

/// A request answered, as the edge records it: by [`observe`] for what a router answered, and
/// by whatever answers without one (the strangler's legacy shop and redirects) for itself.
pub struct Answered<'a> {
    /// The route template, or a name the caller gives a family of answers (`legacy /shop/`).
    pub route: &'a str,
    pub method: &'a Method,
    pub uri: &'a axum::http::Uri,
    pub request_id: &'a str,
    pub status: StatusCode,
    /// Until the response head.
    pub elapsed: Duration,
}

impl Answered<'_> {
    /// Counts the answer per route, method and status, times it, and writes its access line
    /// (`debug` for a `shed` request).
    pub fn record(&self, shed: bool) {
        let (route, status) = (self.route, self.status);
        let method_label = method_label(self.method);
        HTTP_METRICS
            .get(route, &(method_label, status), || {
                let labels = [
                    ("route", route.to_owned()),
                    ("method", method_label.to_owned()),
                    ("status", status.as_str().to_owned()),
                ];
                let handles = CallMetrics::new(
                    metrics::counter!(HTTP_REQUESTS.name, &labels),
                    metrics::histogram!(HTTP_REQUEST_DURATION.name, &labels),
                );
                (route.into(), (method_label, status), handles)
            })
            .record(self.elapsed);
        let (method, uri, request_id) = (self.method, self.uri, self.request_id);
        if shed {
            tracing::debug!(target: ACCESS_TARGET, %method, %uri, request_id, status = status.as_u16(), "request shed");
        } else {
            access_line(method, uri, request_id, status, self.elapsed);
        }
    }
}

/// The span a request runs in. With traces exported it is an `info` span joining the caller's
/// trace; otherwise nothing but the log would read it, and creating one was a tenth of a cached
/// read's CPU, so it is a `debug` span (every line logged during a request carries its id under
/// `RUST_LOG=debug`; access lines carry it always).
fn request_span(request_id: &str) -> tracing::Span {
    if crate::telemetry::traces_exported() {
        tracing::info_span!("http", request_id, trace_id = tracing::field::Empty)
    } else {
        tracing::debug_span!("http", request_id)
    }
}

/// Middleware for each route: puts the route that answered into the response's extensions, where
/// [`observe`], which runs before routing, finds it.
pub async fn remember_route(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(route);
    }
    response
}

/// Marks a request the process makes of its own edge on a client's behalf (the strangler's
/// shadow comparison asking again what a client asked once): not the client's request, so
/// [`observe`] neither counts nor logs it and the client's rate limit does not count it. Set
/// only in-process; a request from the wire never carries it.
#[derive(Clone, Copy, Debug)]
pub struct InternalAsk;

/// Marks a response refused by load shedding: its access line is `debug`, since shed requests
/// come in floods, are counted in `http_shed_requests_total` and summed up once a second by
/// `runtime::pressure` (a `warn` line each took CPU from the overloaded process to fill its log).
#[derive(Clone, Copy, Debug)]
pub struct Shed;

/// One line per request: `warn` for server errors, `info` for client errors and slow requests,
/// `debug` for the rest — and for `429`s and shed requests, which come in floods and are counted
/// in `rate_limit_rejections_total` and `http_shed_requests_total` instead (a line each let one
/// abusive client fill the log).
fn access_line(
    method: &Method,
    uri: &axum::http::Uri,
    request_id: &str,
    status: StatusCode,
    elapsed: Duration,
) {
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    let status = status.as_u16();
    if status >= 500 {
        tracing::warn!(target: ACCESS_TARGET, %method, %uri, request_id, status, latency_ms, "request failed");
    } else if (status >= 400 && status != 429) || elapsed >= SLOW_REQUEST {
        tracing::info!(target: ACCESS_TARGET, %method, %uri, request_id, status, latency_ms, "request answered");
    } else {
        tracing::debug!(target: ACCESS_TARGET, %method, %uri, request_id, status, latency_ms, "request answered");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_method_label_is_one_of_a_fixed_set() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let invented = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&invented), "other");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_shed_request_is_not_a_warning_but_another_503_is() {
        use axum::response::IntoResponse;
        use tower::ServiceExt;
        let logs = crate::testing::CapturedLogs::start(tracing::Level::WARN);
        let app = axum::Router::new()
            .route(
                "/shed",
                axum::routing::get(|| async {
                    let mut response = StatusCode::SERVICE_UNAVAILABLE.into_response();
                    response.extensions_mut().insert(Shed);
                    response
                }),
            )
            .route(
                "/down",
                axum::routing::get(|| async { StatusCode::SERVICE_UNAVAILABLE }),
            )
            .layer(axum::middleware::from_fn(observe));
        for path in ["/shed", "/down"] {
            let request = Request::builder()
                .uri(path)
                .body(axum::body::Body::empty())
                .unwrap();
            let response = app.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        }
        let text = logs.text();
        assert!(text.contains("uri=/down"), "the other 503 is a warning: {text}");
        assert!(!text.contains("uri=/shed"), "a shed request is not: {text}");
    }
}
