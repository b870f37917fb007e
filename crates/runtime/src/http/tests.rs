//! Tests of the HTTP side: problem documents, the server loop over raw TCP (hyper's own
//! refusals, keep-alive, shutdown) and the gRPC server's metrics.

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
