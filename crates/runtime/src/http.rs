//! The HTTP side of every process: the server loop, health probes, metrics and problem+json.

use crate::error::{ErrorCode, ServiceError};
use crate::metric_handles::{CallMetrics, CallMetricsCache};
use crate::shutdown::Shutdown;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::future::BoxFuture;
use std::sync::{Arc, LazyLock};
use std::time::Instant;
use tokio::net::TcpListener;

/// Serves `router` until `shutdown` fires, then lets in-flight requests finish.
pub async fn serve(listener: TcpListener, router: Router, shutdown: Shutdown) -> std::io::Result<()> {
    // Connection info lets the edge key rate limits by client address.
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move { shutdown.cancelled().await })
    .await
}

/// A readiness check: resolves to whether one dependency is reachable.
pub type ReadinessCheck = Arc<dyn Fn() -> BoxFuture<'static, (String, bool)> + Send + Sync>;

/// `/healthz` (the process runs), `/readyz` (its dependencies answer) and `/metrics`.
pub fn ops_routes(checks: Vec<ReadinessCheck>, collectors: Vec<Collector>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz).with_state(Arc::new(checks)))
        .route("/metrics", get(metrics_text).with_state(Arc::new(collectors)))
}

async fn readyz(State(checks): State<Arc<Vec<ReadinessCheck>>>) -> Response {
    let results = futures::future::join_all(checks.iter().map(|c| c())).await;
    let ready = results.iter().all(|(_, ok)| *ok);
    let body: serde_json::Map<String, serde_json::Value> = results
        .into_iter()
        .map(|(name, ok)| (name, serde_json::Value::from(if ok { "up" } else { "down" })))
        .collect();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

/// A function run before every scrape, to set gauges that are cheaper to read on demand than to
/// keep current, such as a pool's connection counts.
pub type Collector = Arc<dyn Fn() + Send + Sync>;

async fn metrics_text(State(collectors): State<Arc<Vec<Collector>>>) -> Response {
    for collect in collectors.iter() {
        collect();
    }
    let body = crate::prometheus::render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// Middleware for the gRPC side of a process: joins the caller's trace and records
/// `rpc_server_calls_total` and `rpc_server_call_duration_seconds` per service, method and code.
pub async fn observe_grpc_server(request: Request, next: Next) -> Response {
    let started = Instant::now();
    // Paths are `/mercato.<service>.v1.<Service>/<Method>`.
    let uri = request.uri().clone();
    let path = uri.path();
    let (service, method) = rpc_names(path);
    let span = tracing::info_span!(
        "rpc.server",
        rpc.service = service,
        rpc.method = method,
        trace_id = tracing::field::Empty
    );
    crate::trace_context::adopt_headers(&span, request.headers());
    let response = tracing::Instrument::instrument(next.run(request), span).await;
    let code = rpc_code(&response);
    GRPC_METRICS
        .get(path, code.as_ref(), || {
            let labels = [
                ("service", service.to_owned()),
                ("method", method.to_owned()),
                ("code", code.to_string()),
            ];
            let handles = CallMetrics::new(
                metrics::counter!("rpc_server_calls_total", &labels),
                metrics::histogram!("rpc_server_call_duration_seconds", &labels),
            );
            (path.into(), code.as_ref().into(), handles)
        })
        .record(started.elapsed());
    response
}

static GRPC_METRICS: LazyLock<CallMetricsCache<Box<str>, Box<str>>> =
    LazyLock::new(CallMetricsCache::default);

/// Describes what [`observe_grpc_server`] records.
pub(crate) fn describe_metrics() {
    metrics::describe_counter!(
        "rpc_server_calls_total",
        metrics::Unit::Count,
        "gRPC calls this process served, by service, method and result code (ok, a Mercato error \
         code, or grpc_<status>)."
    );
    metrics::describe_histogram!(
        "rpc_server_call_duration_seconds",
        metrics::Unit::Seconds,
        "Time to serve one gRPC call, by service, method and result code."
    );
}

/// The call's outcome: our error code, else `ok` or `grpc_<status>`. Failures are
/// "trailers-only" responses, so the status (and our code) are in the headers.
fn rpc_code(response: &Response) -> std::borrow::Cow<'_, str> {
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok());
    match (header("x-mercato-code"), header("grpc-status")) {
        (Some(code), _) => code.into(),
        (None, None | Some("0")) => "ok".into(),
        (None, Some(other)) => format!("grpc_{other}").into(),
    }
}

/// The service and method of a gRPC path `/mercato.<service>.v1.<Service>/<Method>`.
fn rpc_names(path: &str) -> (&str, &str) {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let qualified = parts.next().unwrap_or_default();
    let method = parts.next().unwrap_or_default();
    (qualified.split('.').nth(1).unwrap_or("unknown"), method)
}

/// An RFC 9457 problem document.
#[derive(serde::Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    /// The stable machine-readable code.
    code: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [crate::error::FieldError],
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        let status = self.code.http_status();
        let problem = Problem {
            kind: format!("urn:mercato:problem:{}", self.code.as_str()),
            title: title(self.code),
            status,
            detail: &self.message,
            code: self.code.as_str(),
            errors: &self.fields,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body,
        )
            .into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if matches!(self.code, ErrorCode::Unavailable | ErrorCode::RateLimited) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

fn title(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::InvalidRequest => "Invalid request",
        ErrorCode::ValidationFailed => "Validation failed",
        ErrorCode::Unauthenticated => "Authentication required",
        ErrorCode::Forbidden => "Forbidden",
        ErrorCode::NotFound => "Not found",
        ErrorCode::Conflict => "Conflict",
        ErrorCode::PayloadTooLarge => "Payload too large",
        ErrorCode::UriTooLong => "URI too long",
        ErrorCode::HeadersTooLarge => "Request header fields too large",
        ErrorCode::MethodNotAllowed => "Method not allowed",
        ErrorCode::RateLimited => "Too many requests",
        ErrorCode::PaymentRequired => "Payment required",
        ErrorCode::InvalidGrant => "Invalid grant",
        ErrorCode::InvalidClient => "Invalid client",
        ErrorCode::UnsupportedGrantType => "Unsupported grant type",
        ErrorCode::Unavailable => "Service unavailable",
        ErrorCode::Timeout => "Upstream timeout",
        ErrorCode::Internal => "Internal error",
    }
}
