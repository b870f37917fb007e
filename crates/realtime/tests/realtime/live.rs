//! The WebSocket endpoint under abuse, on a real socket: slow consumers, silent clients,
//! flooding, the connection limit, and shutdown.

use futures::{SinkExt, StreamExt};
use mercato_realtime::live::hub::{Hub, Push};
use mercato_realtime::live::{Node, routes};
use mercato_realtime::{MemoryPresence, RealtimeService};
use mercato_runtime::bus::MemoryBus;
use mercato_runtime::clients::identity::IdentityClient;
use mercato_runtime::config::{RealtimeSettings, Settings};
use mercato_runtime::db::Db;
use mercato_runtime::jwks::KeyedVerifier;
use mercato_runtime::ratelimit::MemoryRateLimiter;
use mercato_runtime::shutdown::Shutdown;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

type Client = WebSocketStream<TcpStream>;

/// A realtime node serving `/v1/realtime` on a free port, with no identity service (clients
/// stay anonymous).
async fn serve(limits: RealtimeSettings) -> (Arc<Node>, String) {
    mercato_runtime::testing::init_logs();
    let db = Db::sqlite_temp().await.unwrap();
    let service = RealtimeService::new(
        db,
        Arc::new(tokio::sync::Notify::new()),
        Arc::new(MemoryPresence::new()),
        Arc::new(MemoryRateLimiter::default()),
        limits.clone(),
    )
    .await
    .unwrap();
    let nowhere = mercato_runtime::clients::balanced_channel(
        &["http://127.0.0.1:1".to_owned()],
        Duration::from_secs(1),
    )
    .unwrap();
    let identity = IdentityClient::remote(nowhere, Duration::from_secs(1), None).unwrap();
    let node = Arc::new(Node {
        service,
        hub: Hub::new(),
        bus: Arc::new(MemoryBus::new()),
        verifier: Arc::new(KeyedVerifier::new("mercato", "mercato-api", identity)),
        settings: limits,
        stop: Shutdown::new(),
        internal_token: None,
        instance: "test".to_owned(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let app = routes(node.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (node, addr)
}

/// A client whose socket buffers little, so that not reading pushes back on the server quickly.
async fn connect(addr: &str) -> Client {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(addr.parse().unwrap()).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/v1/realtime"), stream)
        .await
        .unwrap();
    let hello = next_text(&mut ws).await.unwrap();
    assert!(hello.contains("\"connected\""), "{hello}");
    ws
}

async fn send(ws: &mut Client, text: &str) {
    ws.send(Message::Text(text.into())).await.unwrap();
}

async fn next_text(ws: &mut Client) -> Option<String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .ok()??
        {
            Ok(Message::Text(t)) => return Some(t.as_str().to_owned()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Reads until the close frame; returns its code (None if the stream just ended) and the
/// number of text frames read on the way.
async fn close_code(ws: &mut Client) -> (Option<u16>, usize) {
    let mut texts = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .expect("closed in time")
        {
            Some(Ok(Message::Close(frame))) => return (frame.map(|f| f.code.into()), texts),
            Some(Ok(Message::Text(_))) => texts += 1,
            Some(Ok(_)) => {}
            None | Some(Err(_)) => return (None, texts),
        }
    }
}

async fn eventually(what: &str, check: impl Fn() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{what} did not happen");
}

fn limits() -> RealtimeSettings {
    Settings::default().realtime
}

#[tokio::test]
async fn a_slow_consumer_is_closed_with_4008_instead_of_queueing_without_bound() {
    let mut l = limits();
    l.outbound_queue = 8;
    let (node, addr) = serve(l).await;
    let mut ws = connect(&addr).await;
    send(&mut ws, r#"{"type":"subscribe","id":1,"channel":"stock:s1:TEE"}"#).await;
    assert!(next_text(&mut ws).await.unwrap().contains("subscribed"));
    // 400 pushes of 32 KiB while the client reads nothing.
    let big = format!("{{\"type\":\"event\",\"pad\":\"{}\"}}", "x".repeat(32 * 1024));
    for _ in 0..400 {
        node.hub.publish(Push {
            channel: "stock:s1:TEE".into(),
            seq: None,
            text: big.clone().into(),
            occurred_at_ms: 0,
        });
    }
    let (code, delivered) = close_code(&mut ws).await;
    assert_eq!(code, Some(4008), "after {delivered} frames");
    assert!(delivered < 400, "everything was delivered: nothing was slow");
    eventually("the connection is forgotten", || node.hub.connections() == 0).await;
}

#[tokio::test]
async fn a_client_that_stops_answering_is_dropped_after_three_heartbeats() {
    let mut l = limits();
    l.heartbeat = Duration::from_millis(100);
    let (node, addr) = serve(l).await;
    let mut silent = connect(&addr).await;
    let mut alive = connect(&addr).await;
    // The live client keeps reading (so it answers pings); the silent one reads nothing.
    let keeper = tokio::spawn(async move {
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_millis(800) {
            let _ = tokio::time::timeout(Duration::from_millis(50), alive.next()).await;
        }
        alive
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mut alive = keeper.await.unwrap();
    // Only the live client is left. The silent one was sent 4002, but as it answers the
    // queued pings only now, the closed server socket resets it and the close frame may be
    // lost with its buffer: for a dead client the code is a courtesy, the drop is what counts.
    assert_eq!(node.hub.connections(), 1);
    assert!(matches!(close_code(&mut silent).await.0, Some(4002) | None));
    send(&mut alive, r#"{"type":"ping","id":9}"#).await;
    assert!(next_text(&mut alive).await.unwrap().contains("pong"));
}

#[tokio::test]
async fn too_many_frames_are_refused_then_flooding_closes_with_4029() {
    let mut l = limits();
    l.frames_per_second = 5;
    let (_node, addr) = serve(l).await;
    let mut ws = connect(&addr).await;
    for _ in 0..6 {
        send(&mut ws, r#"{"type":"ping"}"#).await;
    }
    let mut replies = Vec::new();
    for _ in 0..6 {
        replies.push(next_text(&mut ws).await.unwrap());
    }
    assert!(replies[..5].iter().all(|r| r.contains("pong")), "{replies:?}");
    assert!(replies[5].contains("rate_limited"), "{replies:?}");
    for _ in 0..60 {
        let _ = ws.send(Message::Text(r#"{"type":"ping"}"#.into())).await;
    }
    assert_eq!(close_code(&mut ws).await.0, Some(4029));
}

/// A real flood: thousands of frames written as fast as the socket takes them, nothing read
/// meanwhile; then the client reads. It must find the 4029 close frame, not a reset connection.
#[tokio::test]
async fn a_client_flooding_without_reading_gets_the_4029_close_frame() {
    let (_node, addr) = serve(limits()).await;
    let mut ws = connect(&addr).await;
    let frame = r#"{"type":"ping","id":1}"#;
    let mut written = 0;
    for _ in 0..20_000 {
        // Stop writing when the server stops reading (it has closed, or its socket is full).
        match tokio::time::timeout(Duration::from_secs(1), ws.feed(Message::Text(frame.into()))).await {
            Ok(Ok(())) => written += 1,
            _ => break,
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.flush()).await;
    assert!(written > 500, "only {written} frames were written");
    let (code, _) = close_code(&mut ws).await;
    assert_eq!(code, Some(4029), "after {written} frames");
}

#[tokio::test]
async fn the_connection_limit_refuses_upgrades_with_503() {
    let mut l = limits();
    l.max_connections = 1;
    let (_node, addr) = serve(l).await;
    let _first = connect(&addr).await;
    let refused = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/realtime")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status().as_u16(), 503),
        other => panic!("expected 503, got {other:?}"),
    }
}

#[tokio::test]
async fn on_shutdown_clients_are_told_to_reconnect_and_closed_with_1012() {
    let (node, addr) = serve(limits()).await;
    let mut ws = connect(&addr).await;
    node.stop.cancel();
    let reconnect = next_text(&mut ws).await.unwrap();
    assert!(reconnect.contains("\"reconnect\""), "{reconnect}");
    assert_eq!(close_code(&mut ws).await.0, Some(1012));
    eventually("the connection is forgotten", || node.hub.connections() == 0).await;
}

#[tokio::test]
async fn a_frame_above_the_size_limit_closes_with_1009_and_small_bad_ones_get_error_frames() {
    let (node, addr) = serve(limits()).await;
    let mut ws = connect(&addr).await;
    send(&mut ws, "{not json").await;
    assert!(next_text(&mut ws).await.unwrap().contains("invalid_frame"));
    let huge = format!("{{\"type\":\"ping\",\"pad\":\"{}\"}}", "x".repeat(20 * 1024));
    send(&mut ws, &huge).await;
    assert_eq!(close_code(&mut ws).await.0, Some(1009));
    eventually("the connection is forgotten", || node.hub.connections() == 0).await;
}
