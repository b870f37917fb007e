//! A WebSocket client for the realtime scenarios: JSON frames in and out, replies matched to
//! requests by id, pushes kept in arrival order.

use crate::harness::Platform;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single expected frame may take.
const FRAME_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Frames that arrived while waiting for a reply, in order.
    pending: VecDeque<Value>,
    next_id: u64,
    /// The `connected` greeting of the latest (re)authentication.
    pub connected: Value,
}

/// Why the server closed, when it did.
#[derive(Debug, PartialEq)]
pub enum Closed {
    Code(u16),
    /// The stream ended without a close frame.
    Dropped,
}

impl Ws {
    /// Connects to `{base}/v1/realtime`, authenticating with a `connect` frame when a token is given.
    pub async fn open(base: &str, token: Option<&str>, internal_token: Option<&str>) -> Ws {
        let mut ws = Ws::upgrade(base, None, internal_token).await;
        if let Some(token) = token {
            ws.connected = ws
                .request(json!({"type": "connect", "v": 1, "token": token}))
                .await;
            assert_eq!(ws.connected["type"], "connected", "{}", ws.connected);
        }
        ws
    }

    /// Connects with the token in the upgrade request's `Authorization` header, as non-browser
    /// clients do.
    pub async fn open_with_bearer(base: &str, token: &str) -> Ws {
        Ws::upgrade(base, Some(token), None).await
    }

    async fn upgrade(base: &str, bearer: Option<&str>, internal_token: Option<&str>) -> Ws {
        let url = format!("{}/v1/realtime", base.replacen("http", "ws", 1));
        let mut request = url.into_client_request().unwrap();
        if let Some(t) = bearer {
            request
                .headers_mut()
                .insert("authorization", format!("Bearer {t}").parse().unwrap());
        }
        if let Some(t) = internal_token {
            request
                .headers_mut()
                .insert("x-mercato-internal-token", t.parse().unwrap());
        }
        let (stream, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("websocket opens");
        let mut ws = Ws {
            stream,
            pending: VecDeque::new(),
            next_id: 1,
            connected: Value::Null,
        };
        ws.connected = ws.recv().await;
        assert_eq!(ws.connected["type"], "connected", "{}", ws.connected);
        ws
    }

    pub async fn send(&mut self, frame: Value) {
        self.send_raw(frame.to_string()).await;
    }

    pub async fn send_raw(&mut self, text: String) {
        self.stream
            .send(Message::Text(text.into()))
            .await
            .expect("frame sent");
    }

    /// Sends a request with a fresh id and returns its reply (or error), keeping pushes that
    /// arrive meanwhile for `recv`.
    pub async fn request(&mut self, mut frame: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        frame["id"] = json!(id);
        self.send(frame).await;
        loop {
            let f = self.read().await.expect("reply before close");
            if f["id"] == json!(id) {
                return f;
            }
            self.pending.push_back(f);
        }
    }

    /// The next frame (kept or new); panics if none arrives in time.
    pub async fn recv(&mut self) -> Value {
        match self.pending.pop_front() {
            Some(f) => f,
            None => self.read().await.expect("a frame before close"),
        }
    }

    /// The next frame of `kind`, skipping (and returning) the others seen on the way.
    pub async fn recv_kind(&mut self, kind: &str) -> (Value, Vec<Value>) {
        let mut skipped = Vec::new();
        loop {
            let f = self.recv().await;
            if f["type"] == kind {
                return (f, skipped);
            }
            skipped.push(f);
        }
    }

    /// Whether no frame arrives for `wait`.
    pub async fn quiet(&mut self, wait: Duration) -> bool {
        if !self.pending.is_empty() {
            return false;
        }
        tokio::time::timeout(wait, self.read()).await.is_err()
    }

    /// Reads until the server closes; returns its close code. Frames on the way are dropped.
    pub async fn closed(&mut self) -> Closed {
        loop {
            match tokio::time::timeout(FRAME_TIMEOUT, self.stream.next()).await {
                Ok(Some(Ok(Message::Close(Some(frame))))) => return Closed::Code(frame.code.into()),
                Ok(Some(Ok(Message::Close(None)))) | Ok(None) | Ok(Some(Err(_))) => return Closed::Dropped,
                Ok(Some(Ok(_))) => continue,
                Err(_) => panic!("the server did not close"),
            }
        }
    }

    /// Drops the connection without a close handshake, as a crashing client would.
    pub fn abandon(self) {
        drop(self);
    }

    async fn read(&mut self) -> Option<Value> {
        loop {
            let next = tokio::time::timeout(FRAME_TIMEOUT, self.stream.next())
                .await
                .expect("no frame in time");
            match next {
                Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(t.as_str()).unwrap()),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }
}

impl Platform {
    /// A WebSocket through the n-th gateway.
    pub async fn ws(&self, n: usize, token: Option<&str>) -> Ws {
        Ws::open(self.gateway(n), token, None).await
    }

    /// A WebSocket straight to realtime replica `i` (distributed only).
    pub async fn ws_direct(&self, i: usize, token: Option<&str>) -> Ws {
        Ws::open(&self.realtime[i].0, token, self.internal_token.as_deref()).await
    }

    /// Registers a customer and signs them in; returns (access token, user id).
    pub async fn customer(&self, store: &str, name: &str) -> (String, String) {
        let body = json!({"email": format!("{name}@example.com"), "password": "customer password"});
        let reply = self
            .post(0, &format!("/v1/stores/{store}/customers"), None, &body)
            .await;
        assert_eq!(reply.status, 201, "{}: {}", self.name, reply.body);
        let (token, _) = self
            .sign_in(0, store, &format!("{name}@example.com"), "customer password")
            .await;
        (token, reply.body["id"].as_str().unwrap().to_owned())
    }

    /// Opens a conversation as the customer; returns its id.
    pub async fn conversation(&self, store: &str, customer: &str) -> String {
        let reply = self
            .post(
                0,
                &format!("/v1/stores/{store}/conversations"),
                Some(customer),
                &json!({"subject": "Where is my parcel?"}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}: {}", self.name, reply.body);
        reply.body["id"].as_str().unwrap().to_owned()
    }
}
