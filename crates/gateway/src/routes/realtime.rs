//! `GET /v1/realtime` when the realtime service runs in other processes: the gateway accepts
//! the WebSocket and relays frames both ways to one realtime replica. Which replica does not
//! matter — replicas share conversations, presence and events through the database and the
//! bus — so a client that reconnects after losing its replica simply lands on another.

use crate::state::GatewayState;
use axum::extract::State;
use axum::extract::ws::{self, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::shutdown::Shutdown;
use mercato_runtime::tls::{Dialer, ServiceStream};
use std::time::Duration;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{self as ts, client::IntoClientRequest};

type Upstream = WebSocketStream<ServiceStream>;

/// Headers the realtime replica needs from the client's upgrade request.
const FORWARDED: [&str; 2] = ["authorization", "sec-websocket-protocol"];
const INTERNAL_TOKEN_HEADER: &str = "x-mercato-internal-token";
/// The largest frame relayed; the replica enforces its own, smaller, limit.
const MAX_FRAME_BYTES: usize = 64 * 1024;
/// What a stopping gateway tells its relayed clients (the protocol's `reconnect` frame), and
/// the close code that follows (RFC 6455 "service restart").
const RECONNECT: &str = r#"{"type":"reconnect","reason":"server restart"}"#;
const SERVICE_RESTART: u16 = 1012;

/// Connects to a realtime replica first (so its refusal — 401, 503 — is the client's answer),
/// then upgrades the client and relays.
pub async fn realtime(
    State(state): State<GatewayState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let Some((upstreams, forward)) = state.realtime_upstreams() else {
        return ServiceError::not_found("route").into_response();
    };
    let (token, silence, stop) = (
        forward.internal_token.clone(),
        forward.heartbeat * 3,
        forward.stop.clone(),
    );
    let mut refusal = None;
    for base in &upstreams {
        match connect(&forward.dialer, base, &headers, token.as_deref()).await {
            Ok((upstream, protocol)) => {
                let ws = match protocol {
                    Some(p) => ws.protocols([p]),
                    None => ws,
                };
                return ws
                    .max_message_size(MAX_FRAME_BYTES)
                    .max_frame_size(MAX_FRAME_BYTES)
                    .read_buffer_size(4 * 1024)
                    .write_buffer_size(0)
                    .on_upgrade(move |client| relay(client, upstream, silence, stop));
            }
            // The replica answered and refused: that is the answer, whichever replica it was.
            Err(ts::Error::Http(response)) => {
                refusal = Some(response.status().as_u16());
                break;
            }
            Err(e) => {
                tracing::warn!(upstream = %base, error = %e, "realtime replica unreachable; trying the next")
            }
        }
    }
    match refusal {
        Some(401) => ServiceError::unauthenticated("invalid access token").into_response(),
        _ => ServiceError::new(
            ErrorCode::Unavailable,
            "real-time service unavailable; retry shortly",
        )
        .into_response(),
    }
}

/// Opens the upstream WebSocket (under mutual TLS when `dialer` has it), returning it and the
/// subprotocol the replica chose.
async fn connect(
    dialer: &Dialer,
    base: &str,
    headers: &HeaderMap,
    token: Option<&str>,
) -> Result<(Upstream, Option<String>), ts::Error> {
    let url = format!(
        "{}/v1/realtime",
        base.trim_end_matches('/').replacen("http", "ws", 1)
    );
    let mut request = url.into_client_request()?;
    for name in FORWARDED {
        if let Some(value) = headers.get(name) {
            request.headers_mut().insert(name, value.clone());
        }
    }
    if let Some(token) = token
        && let Ok(value) = token.parse()
    {
        request.headers_mut().insert(INTERNAL_TOKEN_HEADER, value);
    }
    let config = ts::protocol::WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES));
    let stream = dialer.connect(base).await.map_err(ts::Error::Io)?;
    let (upstream, response) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await?;
    let protocol = response
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok((upstream, protocol))
}

/// Relays frames both ways until either side closes; the close (code and reason) is passed on.
/// The replica's pings travel on to the client, so a client silent for `silence` (three of the
/// replica's heartbeats) is dead and the relay ends. When this gateway stops, the client is told
/// to reconnect (as a stopping replica would) before the relay ends.
async fn relay(client: WebSocket, upstream: Upstream, silence: Duration, stop: Shutdown) {
    let (mut client_tx, mut client_rx) = client.split();
    let (mut upstream_tx, mut upstream_rx) = upstream.split();
    let to_upstream = async {
        while let Ok(Some(Ok(m))) = tokio::time::timeout(silence, client_rx.next()).await {
            let Some(m) = to_upstream_message(m) else { continue };
            let closing = matches!(m, ts::Message::Close(_));
            if upstream_tx.send(m).await.is_err() || closing {
                break;
            }
        }
        let _ = upstream_tx.close().await;
    };
    let to_client = async {
        loop {
            let next = tokio::select! {
                next = upstream_rx.next() => next,
                () = stop.cancelled() => {
                    let _ = client_tx.send(ws::Message::Text(RECONNECT.into())).await;
                    let close = ws::CloseFrame { code: SERVICE_RESTART, reason: "server restart".into() };
                    let _ = client_tx.send(ws::Message::Close(Some(close))).await;
                    break;
                }
            };
            let Some(Ok(m)) = next else { break };
            let Some(m) = to_client_message(m) else { continue };
            let closing = matches!(m, ws::Message::Close(_));
            if client_tx.send(m).await.is_err() || closing {
                break;
            }
        }
        let _ = client_tx.close().await;
    };
    // Whichever direction ends first ends the relay; dropping the other closes its sockets.
    let closed_by_upstream = tokio::select! {
        () = to_upstream => false,
        () = to_client => true,
    };
    if closed_by_upstream {
        // The client has the close frame (a flooding client's 4029, say); read what it still
        // sends until it answers, so that its socket is not closed with unread frames: the
        // reset that would follow makes its kernel discard the close frame unread.
        let answered = async {
            while let Some(Ok(m)) = client_rx.next().await {
                if matches!(m, ws::Message::Close(_)) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(CLOSE_LINGER, answered).await;
    }
}

/// How long a client told to close may take to answer before its socket is closed anyway.
const CLOSE_LINGER: Duration = Duration::from_secs(2);

fn to_upstream_message(m: ws::Message) -> Option<ts::Message> {
    Some(match m {
        ws::Message::Text(t) => ts::Message::Text(ts::Utf8Bytes::try_from(Bytes::from(t)).ok()?),
        ws::Message::Binary(b) => ts::Message::Binary(b),
        // Each hop answers pings itself: the gateway's client connection already answered
        // the replica's ping.
        ws::Message::Ping(_) | ws::Message::Pong(_) => return None,
        ws::Message::Close(frame) => ts::Message::Close(frame.map(|f| ts::protocol::CloseFrame {
            code: f.code.into(),
            reason: ts::Utf8Bytes::try_from(Bytes::from(f.reason)).unwrap_or_default(),
        })),
    })
}

fn to_client_message(m: ts::Message) -> Option<ws::Message> {
    Some(match m {
        ts::Message::Text(t) => ws::Message::Text(ws::Utf8Bytes::try_from(Bytes::from(t)).ok()?),
        ts::Message::Binary(b) => ws::Message::Binary(b),
        ts::Message::Close(frame) => ws::Message::Close(frame.map(|f| ws::CloseFrame {
            code: f.code.into(),
            reason: ws::Utf8Bytes::try_from(Bytes::from(f.reason)).unwrap_or_default(),
        })),
        // Passed on so that the client answers (the relay's sign that it is alive).
        ts::Message::Ping(p) => ws::Message::Ping(p),
        ts::Message::Pong(_) | ts::Message::Frame(_) => return None,
    })
}
