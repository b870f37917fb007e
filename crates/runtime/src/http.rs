//! The HTTP side of every process: the server loop, health probes, metrics and problem+json.

mod connections;
mod refusals;

pub use connections::ConnectionLimit;

use crate::error::{ErrorCode, ServiceError};
use crate::metric_handles::{CallMetrics, CallMetricsCache};
use crate::shutdown::Shutdown;
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::future::BoxFuture;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// Serves `router` until `shutdown` fires, then stops accepting and lets the connections finish
/// what they are doing (each is told to close once its current request is answered).
///
/// What `axum::serve` does — HTTP/1 with keep-alive and upgrades (WebSockets), HTTP/2 with prior
/// knowledge (gRPC) and the extended CONNECT protocol — plus two things it cannot: every request
/// carries `ConnectInfo<SocketAddr>` (the edge keys rate limits by client address), and the
/// answers hyper makes by itself to request heads it cannot parse (400, 414, 431) leave as
/// problem documents like every other error (see `refusals`).
pub async fn serve(listener: TcpListener, router: Router, shutdown: Shutdown) -> std::io::Result<()> {
    serve_with(listener, router, shutdown, None).await
}

/// [`serve`], and with `tls` every connection is a TLS one whose peer presented a certificate
/// of the platform's CA: its requests carry the peer's [`PeerServices`](crate::tls::PeerServices)
/// (what [`crate::tls::authorize`] checks). A connection failing the handshake is dropped.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    shutdown: Shutdown,
    tls: Option<crate::tls::ServerTls>,
) -> std::io::Result<()> {
    serve_limited(listener, router, shutdown, tls, ConnectionLimit::of_process()).await
}

/// [`serve_with`], serving at most `limit` connections at once: one past it is answered
/// `503` with `Retry-After` and closed (a TLS one is closed), its request never read.
pub async fn serve_limited(
    listener: TcpListener,
    router: Router,
    shutdown: Shutdown,
    tls: Option<crate::tls::ServerTls>,
    limit: ConnectionLimit,
) -> std::io::Result<()> {
    let connections = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => break,
        };
        match accepted {
            Ok((stream, client)) => {
                let Some(slot) = limit.admit() else {
                    match tls {
                        None => limit.refuse(stream),
                        Some(_) => drop(stream),
                    }
                    continue;
                };
                let (router, shutdown) = (router.clone(), shutdown.clone());
                set_nodelay(&stream, client);
                let served: BoxFuture<'static, ()> = match &tls {
                    None => Box::pin(serve_connection(stream, client, None, router, shutdown)),
                    Some(tls) => Box::pin(serve_tls_connection(
                        tls.acceptor(),
                        stream,
                        client,
                        router,
                        shutdown,
                    )),
                };
                // The slot is the connection's until it ends.
                connections.spawn(async move {
                    served.await;
                    drop(slot);
                });
            }
            Err(e) => accept_failed(e).await,
        }
    }
    drop(listener);
    connections.close();
    connections.wait().await;
    Ok(())
}

/// How long a peer has to complete the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

async fn serve_tls_connection(
    acceptor: tokio_rustls::TlsAcceptor,
    stream: TcpStream,
    client: SocketAddr,
    router: Router,
    shutdown: Shutdown,
) {
    let stream = match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return tracing::debug!(%client, "TLS handshake refused: {e}"),
        Err(_) => return tracing::debug!(%client, "TLS handshake timed out"),
    };
    let peer = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(crate::tls::PeerServices::of)
        .unwrap_or_default();
    serve_connection(stream, client, Some(peer), router, shutdown).await
}

fn set_nodelay(stream: &TcpStream, client: SocketAddr) {
    // Responses are written whole; Nagle's algorithm would only hold back the tail of one behind
    // the client's delayed acknowledgement (up to 40 ms).
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(%client, "TCP_NODELAY not set: {e}");
    }
}

/// Serves one connection's requests, each carrying the client's address and, under TLS, the
/// peer's services.
async fn serve_connection<S>(
    stream: S,
    client: SocketAddr,
    peer: Option<crate::tls::PeerServices>,
    router: Router,
    shutdown: Shutdown,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let exchanges = Arc::new(refusals::Exchanges::default());
    let io = TokioIo::new(refusals::ProblemRefusals::new(stream, Arc::clone(&exchanges)));
    let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        let exchange = exchanges.begin();
        request.extensions_mut().insert(ConnectInfo(client));
        if let Some(peer) = &peer {
            request.extensions_mut().insert(peer.clone());
        }
        let response = router.clone().oneshot(request);
        async move {
            let response = response.await?;
            Ok::<_, Infallible>(response.map(|body| exchange.carried_by(body)))
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // HTTP/2 WebSockets need the extended CONNECT protocol (RFC 8441).
    builder.http2().enable_connect_protocol();
    let connection = builder.serve_connection_with_upgrades(io, service);
    let mut connection = std::pin::pin!(connection);
    let served = tokio::select! {
        served = connection.as_mut() => served,
        () = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = served {
        tracing::trace!(%client, "connection ended: {e:#}");
    }
}

/// As `axum::serve`: an error of one connection is skipped; any other (out of file descriptors)
/// is logged and accepting pauses for a second, so that connections can close meanwhile.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::error!("accept error: {e}");
    tokio::time::sleep(Duration::from_secs(1)).await;
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
    let response = match crate::resilience::deadline::from_grpc_timeout(request.headers()) {
        // The caller stops waiting at its deadline: so does the work for it, and every call
        // that work makes inherits the deadline.
        Some(deadline) => {
            let work = crate::resilience::deadline::scope(deadline, next.run(request));
            let work = tokio::time::timeout_at(deadline.into(), work);
            match tracing::Instrument::instrument(work, span).await {
                Ok(response) => response,
                Err(_) => tonic::Status::deadline_exceeded("the caller's deadline passed")
                    .into_http::<axum::body::Body>(),
            }
        }
        None => tracing::Instrument::instrument(next.run(request), span).await,
    };
    let code = rpc_code(&response);
    GRPC_METRICS
        .get(path, code.as_ref(), || {
            let labels = [
                ("service", service.to_owned()),
                ("method", method.to_owned()),
                ("code", code.to_string()),
            ];
            let handles = CallMetrics::new(
                metrics::counter!(RPC_SERVER_CALLS.name, &labels),
                metrics::histogram!(RPC_SERVER_CALL_DURATION.name, &labels),
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
    crate::metric_family::Family::describe_all(&[RPC_SERVER_CALLS, RPC_SERVER_CALL_DURATION]);
}

crate::metric_families! {
    /// gRPC calls this process served, by service, method and result code (ok, a Mercato error
    /// code, or grpc_<status>).
    pub(crate) const RPC_SERVER_CALLS: Counter(Count) = "rpc_server_calls_total";
    /// Time to serve one gRPC call, by service, method and result code.
    pub(crate) const RPC_SERVER_CALL_DURATION: Histogram(Seconds) = "rpc_server_call_duration_seconds";
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
pub(crate) fn rpc_names(path: &str) -> (&str, &str) {
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
    fn into_response(mut self) -> Response {
        // The seconds the error names (an open circuit breaker's cool-down), else 1 for a
        // refusal the client should simply retry shortly; a header, not a field of the body.
        let retry_after =
            self.take_retry_after()
                .or(matches!(self.code, ErrorCode::Unavailable | ErrorCode::RateLimited).then_some(1));
        let status = self.code.http_status();
        let body = problem_json(&self);
        let mut response = (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body,
        )
            .into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The problem document of `error`, encoded.
fn problem_json(error: &ServiceError) -> Vec<u8> {
    let problem = Problem {
        kind: format!("urn:mercato:problem:{}", error.code.as_str()),
        title: title(error.code),
        status: error.code.http_status(),
        detail: &error.message,
        code: error.code.as_str(),
        errors: &error.fields,
    };
    serde_json::to_vec(&problem).unwrap_or_default()
}

fn title(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::InvalidRequest => "Invalid request",
        ErrorCode::ValidationFailed => "Validation failed",
        ErrorCode::Unauthenticated => "Authentication required",
        ErrorCode::Forbidden => "Forbidden",
        ErrorCode::NotFound => "Not found",
        ErrorCode::Conflict => "Conflict",
        ErrorCode::OutOfStock => "Out of stock",
        ErrorCode::CheckoutInProgress => "Checkout in progress",
        ErrorCode::CartCheckedOut => "Cart checked out",
        ErrorCode::OrderNotCancellable => "Order cannot be cancelled",
        ErrorCode::OrderNotRefundable => "Order cannot be refunded",
        ErrorCode::OrderNotFulfillable => "Order cannot be fulfilled",
        ErrorCode::ReturnStatusConflict => "Return status conflict",
        ErrorCode::ChangedConcurrently => "Changed concurrently",
        ErrorCode::SlugTaken => "Slug taken",
        ErrorCode::EmailTaken => "Email taken",
        ErrorCode::CannotDisableSelf => "Cannot disable yourself",
        ErrorCode::LastOwner => "Last owner",
        ErrorCode::SkuTaken => "SKU taken",
        ErrorCode::ReservationIdReused => "Reservation id reused",
        ErrorCode::ReservationStatusConflict => "Reservation status does not allow this",
        ErrorCode::StockOutOfBounds => "Stock out of bounds",
        ErrorCode::IdempotencyKeyReused => "Idempotency key reused",
        ErrorCode::PaymentStatusConflict => "Payment status does not allow this",
        ErrorCode::PaymentAlreadyCaptured => "Payment already captured",
        ErrorCode::ProviderRefused => "Payment provider refused",
        ErrorCode::ShippingAddressRequired => "Shipping address required",
        ErrorCode::ShippingMethodRequired => "Shipping method required",
        ErrorCode::ShippingUnavailable => "No shipping to this address",
        ErrorCode::PromotionUnknown => "Unknown promotion code",
        ErrorCode::PromotionInactive => "Promotion code not valid now",
        ErrorCode::PromotionExhausted => "Promotion code used up",
        ErrorCode::PromotionMinimumNotMet => "Promotion minimum not met",
        ErrorCode::PayloadTooLarge => "Payload too large",
        ErrorCode::UriTooLong => "URI too long",
        ErrorCode::HeadersTooLarge => "Request header fields too large",
        ErrorCode::MethodNotAllowed => "Method not allowed",
        ErrorCode::RateLimited => "Too many requests",
        ErrorCode::PaymentRequired => "Payment required",
        ErrorCode::Gone => "Gone",
        ErrorCode::InvalidGrant => "Invalid grant",
        ErrorCode::InvalidClient => "Invalid client",
        ErrorCode::UnsupportedGrantType => "Unsupported grant type",
        ErrorCode::AccountDisabled => "Account disabled",
        ErrorCode::Unavailable => "Service unavailable",
        ErrorCode::Timeout => "Upstream timeout",
        ErrorCode::Internal => "Internal error",
    }
}

#[cfg(test)]
mod tests;
