//! `GET /v1/realtime`: the WebSocket upgrade, with its connection limit and optional
//! bearer-token authentication (browsers, which cannot set headers, send a `connect` frame).

use super::node::Node;
use super::protocol::{MAX_CLIENT_FRAME_BYTES, SUBPROTOCOL};
use super::session;
use axum::Router;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mercato_runtime::error::{ErrorCode, ServiceError};
use std::sync::Arc;

/// The header a forwarding gateway presents when the internal token is configured.
pub const INTERNAL_TOKEN_HEADER: &str = "x-mercato-internal-token";

/// Server-side read buffer per connection, allocated up front: client frames are small, and
/// this is paid by every idle connection (larger frames grow it as needed).
const READ_BUFFER_BYTES: usize = 1024;

/// Describes what the upgrade records.
pub(super) fn describe_metrics() {
    mercato_runtime::metric_family::Family::describe_all(&[WEBSOCKET_REJECTIONS]);
}

mercato_runtime::metric_families! {
    /// WebSocket upgrades refused, by reason (capacity: the replica's connection limit).
    pub(crate) const WEBSOCKET_REJECTIONS: Counter(Count) = "websocket_rejections_total";
}

/// The WebSocket route.
pub fn routes(node: Arc<Node>) -> Router {
    Router::new().route("/v1/realtime", get(upgrade)).with_state(node)
}

async fn upgrade(State(node): State<Arc<Node>>, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    if let Some(expected) = &node.internal_token {
        let presented = headers.get(INTERNAL_TOKEN_HEADER).map(|v| v.as_bytes());
        if presented != Some(expected.as_bytes()) {
            return ServiceError::unauthenticated("internal endpoint").into_response();
        }
    }
    if node.hub.connections() >= node.settings.max_connections {
        metrics::counter!(WEBSOCKET_REJECTIONS.name, "reason" => "capacity").increment(1);
        return ServiceError::new(ErrorCode::Unavailable, "too many connections; retry shortly")
            .into_response();
    }
    let claims = match bearer(&headers) {
        None => None,
        Some(token) => match node.verifier.verify(token).await {
            Ok(claims) => Some(claims),
            Err(e) => return e.into_response(),
        },
    };
    ws.protocols([SUBPROTOCOL])
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_write_buffer_size(1 << 20)
        .max_message_size(MAX_CLIENT_FRAME_BYTES)
        .max_frame_size(MAX_CLIENT_FRAME_BYTES)
        .on_upgrade(move |socket| session::run(node, socket, claims))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}
