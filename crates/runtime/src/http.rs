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
        ErrorCode::ChangedConcurrently => "Changed concurrently",
        ErrorCode::SlugTaken => "Slug taken",
        ErrorCode::SkuTaken => "SKU taken",
        ErrorCode::ReservationIdReused => "Reservation id reused",
        ErrorCode::ReservationStatusConflict => "Reservation status does not allow this",
        ErrorCode::StockOutOfBounds => "Stock out of bounds",
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use std::io::{Read, Write};

    #[tokio::test]
    async fn an_unavailable_error_naming_its_wait_answers_it_as_retry_after_not_as_a_field() {
        let mut refused = ServiceError::unavailable("inventory is failing");
        refused.fields.push(crate::error::FieldError::new(
            crate::error::RETRY_AFTER_FIELD,
            "2",
        ));
        let response = refused.into_response();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        let body = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
        assert!(!String::from_utf8_lossy(&body).contains("retry_after"));
        let plain = ServiceError::unavailable("down").into_response();
        assert_eq!(plain.headers()[header::RETRY_AFTER], "1");
    }

    /// Sends and receives raw bytes over one connection: blocking, run on a blocking thread.
    struct RawClient {
        stream: std::net::TcpStream,
        received: Vec<u8>,
    }

    struct Reply {
        status: u16,
        head: String,
        body: Vec<u8>,
    }

    impl Reply {
        fn header(&self, name: &str) -> Option<&str> {
            self.head.split("\r\n").skip(1).find_map(|line| {
                let (n, v) = line.split_once(':')?;
                n.eq_ignore_ascii_case(name).then_some(v.trim())
            })
        }

        fn json(&self) -> serde_json::Value {
            serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
        }

        fn assert_problem(&self, status: u16, code: &str) {
            assert_eq!(self.status, status, "{}", self.head);
            assert_eq!(
                self.header("content-type"),
                Some("application/problem+json"),
                "{}",
                self.head
            );
            assert_eq!(self.header("connection"), Some("close"), "{}", self.head);
            let body = self.json();
            assert_eq!(body["status"], status, "{body}");
            assert_eq!(body["code"], code, "{body}");
            assert_eq!(body["type"], format!("urn:mercato:problem:{code}"), "{body}");
            assert!(body["title"].is_string() && body["detail"].is_string(), "{body}");
        }
    }

    impl RawClient {
        fn connect(addr: SocketAddr) -> Self {
            let stream = std::net::TcpStream::connect(addr).unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            RawClient {
                stream,
                received: Vec::new(),
            }
        }

        /// Sends `bytes`; the server may close before it took them all (it refused the head).
        fn send(&mut self, bytes: &[u8]) {
            let _ = self.stream.write_all(bytes);
        }

        fn fill(&mut self) -> bool {
            let mut chunk = [0; 16 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => false,
                Ok(n) => {
                    self.received.extend_from_slice(&chunk[..n]);
                    true
                }
            }
        }

        /// Reads one response; its body is `content-length` long (none for an answer to HEAD).
        fn reply(&mut self, to_head: bool) -> Reply {
            let end = loop {
                if let Some(at) = self.received.windows(4).position(|w| w == b"\r\n\r\n") {
                    break at + 4;
                }
                assert!(
                    self.fill(),
                    "connection closed before a whole head: {:?}",
                    self.received
                );
            };
            let head = String::from_utf8(self.received.drain(..end).collect()).unwrap();
            let status = head[9..12].parse().unwrap();
            let mut reply = Reply {
                status,
                head,
                body: Vec::new(),
            };
            let length = match reply.header("content-length") {
                Some(length) if !to_head => length.parse().unwrap(),
                _ => 0,
            };
            while self.received.len() < length {
                assert!(self.fill(), "connection closed before a whole body");
            }
            reply.body = self.received.drain(..length).collect();
            reply
        }

        /// Whether the server closed the connection (with nothing more sent).
        fn closed(&mut self) -> bool {
            !self.fill() && self.received.is_empty()
        }
    }

    /// The response's body is sent after its head, on its own, and reads like a refusal.
    async fn refusal_lookalike() -> Response {
        const BODY: &str = "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
        let later = futures::stream::once(async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok::<_, Infallible>(BODY)
        });
        ([(header::CONTENT_LENGTH, BODY.len())], Body::from_stream(later)).into_response()
    }

    fn app() -> Router {
        Router::new()
            .route("/hello", get(|| async { "hello" }))
            .route("/empty", get(|| async { StatusCode::NO_CONTENT }))
            // Byte for byte what hyper refuses with, but the application's own answer.
            .route("/bare", get(|| async { StatusCode::BAD_REQUEST }))
            .route("/lookalike", get(refusal_lookalike))
            .route(
                "/client",
                get(|ConnectInfo(client): ConnectInfo<SocketAddr>| async move { client.to_string() }),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    "done"
                }),
            )
    }

    async fn start() -> (SocketAddr, Shutdown, tokio::task::JoinHandle<std::io::Result<()>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = Shutdown::new();
        let served = tokio::spawn(serve(listener, app(), shutdown.clone()));
        (addr, shutdown, served)
    }

    /// Sends `request` on a new connection and reads the one response.
    async fn refused(request: Vec<u8>) -> Reply {
        let (addr, _shutdown, _served) = start().await;
        tokio::task::spawn_blocking(move || {
            let mut client = RawClient::connect(addr);
            client.send(&request);
            let reply = client.reply(false);
            assert!(client.closed(), "the server closes after a refusal");
            reply
        })
        .await
        .unwrap()
    }

    fn get_with_headers(target: &str, headers: impl IntoIterator<Item = String>) -> Vec<u8> {
        let mut request = format!("GET {target} HTTP/1.1\r\nhost: test\r\n");
        for header in headers {
            request.push_str(&header);
            request.push_str("\r\n");
        }
        request.push_str("\r\n");
        request.into_bytes()
    }

    #[tokio::test]
    async fn a_request_line_hyper_cannot_parse_is_a_400_problem() {
        let reply = refused(b"GET /v1/\xff\xfe HTTP/1.1\r\nhost: test\r\n\r\n".to_vec()).await;
        reply.assert_problem(400, "invalid_request");
    }

    #[tokio::test]
    async fn a_target_over_the_64_kib_ceiling_is_a_414_problem() {
        let target = format!("/hello?q={}", "a".repeat(70 * 1024));
        let reply = refused(get_with_headers(&target, [])).await;
        reply.assert_problem(414, "uri_too_long");
    }

    #[tokio::test]
    async fn more_than_100_header_fields_are_a_431_problem() {
        let reply = refused(get_with_headers("/hello", (0..101).map(|i| format!("x-h{i}: v")))).await;
        reply.assert_problem(431, "headers_too_large");
    }

    #[tokio::test]
    async fn a_head_over_the_read_buffer_is_a_431_problem() {
        // 60 fields of 8 KiB: under the field count, over hyper's ~400 KiB buffer.
        let padding = "p".repeat(8 * 1024);
        let headers = (0..60).map(|i| format!("x-pad-{i}: {padding}"));
        let reply = refused(get_with_headers("/hello", headers)).await;
        reply.assert_problem(431, "headers_too_large");
    }

    #[tokio::test]
    async fn the_applications_answers_pass_untouched_and_keep_the_connection() {
        let (addr, _shutdown, _served) = start().await;
        tokio::task::spawn_blocking(move || {
            let mut client = RawClient::connect(addr);
            for _ in 0..2 {
                client.send(b"GET /hello HTTP/1.1\r\nhost: test\r\n\r\n");
                let hello = client.reply(false);
                assert_eq!((hello.status, hello.body.as_slice()), (200, &b"hello"[..]));
                assert_eq!(hello.header("connection"), None, "kept alive");
            }

            client.send(b"HEAD /hello HTTP/1.1\r\nhost: test\r\n\r\n");
            let head = client.reply(true);
            assert_eq!(head.status, 200);
            assert_eq!(head.header("content-length"), Some("5"), "{}", head.head);

            client.send(b"GET /empty HTTP/1.1\r\nhost: test\r\n\r\n");
            let empty = client.reply(false);
            assert_eq!(empty.status, 204);
            assert!(empty.header("content-type").is_none(), "{}", empty.head);

            client.send(b"GET /bare HTTP/1.1\r\nhost: test\r\n\r\n");
            let bare = client.reply(false);
            assert_eq!(bare.status, 400);
            assert_eq!(bare.header("content-length"), Some("0"), "{}", bare.head);
            assert!(bare.header("content-type").is_none(), "{}", bare.head);

            client.send(b"GET /lookalike HTTP/1.1\r\nhost: test\r\n\r\n");
            let lookalike = client.reply(false);
            assert_eq!(lookalike.status, 200);
            assert_eq!(
                lookalike.body,
                b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"
            );

            client.send(b"GET /client HTTP/1.1\r\nhost: test\r\n\r\n");
            let seen = client.reply(false);
            let local = client.stream.local_addr().unwrap().to_string();
            assert_eq!(
                String::from_utf8(seen.body).unwrap(),
                local,
                "ConnectInfo is the client"
            );

            // After all that, on the same connection, hyper's refusal still becomes a problem.
            client.send(b"GET /\xff HTTP/1.1\r\nhost: test\r\n\r\n");
            client.reply(false).assert_problem(400, "invalid_request");
            assert!(client.closed());
        })
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn a_connection_past_the_limit_is_refused_with_503_and_retry_after_unread() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let limit = ConnectionLimit::new(1);
        tokio::spawn(serve_limited(listener, app(), Shutdown::new(), None, limit));
        tokio::task::spawn_blocking(move || {
            let mut first = RawClient::connect(addr);
            first.send(b"GET /hello HTTP/1.1\r\nhost: test\r\n\r\n");
            assert_eq!(
                first.reply(false).status,
                200,
                "the first is served and kept open"
            );

            let mut second = RawClient::connect(addr);
            second.send(b"GET /hello HTTP/1.1\r\nhost: test\r\n\r\n");
            let refused = second.reply(false);
            refused.assert_problem(503, "unavailable");
            assert_eq!(refused.header("retry-after"), Some("1"));
            assert!(second.closed(), "closed after the refusal");

            drop(first);
            std::thread::sleep(Duration::from_millis(200));
            let mut third = RawClient::connect(addr);
            third.send(b"GET /hello HTTP/1.1\r\nhost: test\r\n\r\n");
            assert_eq!(third.reply(false).status, 200, "the slot was freed");
        })
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn shutdown_lets_a_request_in_flight_finish_then_serve_returns() {
        let (addr, shutdown, served) = start().await;
        let client = tokio::task::spawn_blocking(move || {
            let mut client = RawClient::connect(addr);
            client.send(b"GET /slow HTTP/1.1\r\nhost: test\r\n\r\n");
            let reply = client.reply(false);
            (reply.status, reply.body, client.closed())
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        shutdown.cancel();
        let (status, body, closed) = client.await.unwrap();
        assert_eq!((status, body.as_slice()), (200, &b"done"[..]));
        assert!(closed, "the connection closes after its last answer");
        tokio::time::timeout(Duration::from_secs(5), served)
            .await
            .expect("serve returns once its connections are done")
            .unwrap()
            .unwrap();
        assert!(std::net::TcpStream::connect(addr).is_err(), "no longer accepting");
    }
}
