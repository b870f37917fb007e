//! One WebSocket connection: its loop (client frames, pushes, heartbeats, shutdown) and its
//! lifecycle. What each client frame does is in `requests`; how pushes are written, in `delivery`.

use super::budget::FrameBudget;
use super::hub::{ConnectionHandle, Push};
use super::node::Node;
use super::protocol::{ServerFrame, close, codes};
use crate::presence::PresenceStatus;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use mercato_runtime::auth::Claims;
use metrics::Counter;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// A write the client does not take within this long ends the connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a closing connection waits for the client to take the close frame and answer it.
const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// `websocket_messages_total` by direction, registered once (a look-up per message otherwise).
static MESSAGES_IN: LazyLock<Counter> =
    LazyLock::new(|| metrics::counter!(WEBSOCKET_MESSAGES.name, "direction" => "in"));
static MESSAGES_OUT: LazyLock<Counter> =
    LazyLock::new(|| metrics::counter!(WEBSOCKET_MESSAGES.name, "direction" => "out"));

/// Describes the messages and disconnects a session counts.
pub(super) fn describe_metrics() {
    mercato_runtime::metric_family::Family::describe_all(&[WEBSOCKET_MESSAGES, WEBSOCKET_DISCONNECTS]);
}

mercato_runtime::metric_families! {
    /// WebSocket frames by direction: in (from clients) and out (to clients).
    pub(crate) const WEBSOCKET_MESSAGES: Counter(Count) = "websocket_messages_total";
    /// WebSocket connections ended, by reason (a fixed set, such as slow consumer).
    pub(crate) const WEBSOCKET_DISCONNECTS: Counter(Count) = "websocket_disconnects_total";
}

/// How a connection ended, for the close frame and the metrics.
#[derive(Debug)]
pub(super) enum End {
    /// Close with this code and reason.
    Close(u16, &'static str),
    /// The client went away (closed, reset, or stopped reading); nothing more can be sent.
    Gone(&'static str),
}

/// What this connection holds for one subscribed channel.
pub(super) struct Subscription {
    /// The store the subscription counts against.
    pub store_key: Option<String>,
    /// Conversations: its id and the highest seq delivered, so duplicates are dropped and gaps
    /// filled from history.
    pub conversation: Option<(String, i64)>,
}

/// The state of one connection.
pub(super) struct Session {
    pub node: Arc<Node>,
    pub handle: Arc<ConnectionHandle>,
    pub socket: WebSocket,
    /// `None` until the client authenticates (public channels only).
    pub claims: Option<Claims>,
    pub subscriptions: HashMap<Arc<str>, Subscription>,
    pub budget: FrameBudget,
    /// Staff presence this connection reports.
    pub presence: Option<PresenceStatus>,
    /// The connection's id as clients and presence entries see it.
    pub name: String,
    last_heard: Instant,
    /// The hub no longer counts this connection (see `forget`).
    forgotten: bool,
}

/// Serves one upgraded connection until it ends, then removes every trace of it.
pub async fn run(node: Arc<Node>, socket: WebSocket, claims: Option<Claims>) {
    let (handle, rx) = node.hub.connect(node.settings.outbound_queue);
    let name = format!("{}-{}", node.instance, handle.id);
    let budget = FrameBudget::new(node.settings.frames_per_second);
    let mut session = Session {
        node,
        handle,
        socket,
        claims: None,
        subscriptions: HashMap::new(),
        budget,
        presence: None,
        name,
        last_heard: Instant::now(),
        forgotten: false,
    };
    let end = session.serve(rx, claims).await;
    Box::pin(session.finish(end)).await;
}

impl Session {
    /// The connection's loop. Every await that reaches a database, Redis or another service is
    /// boxed, so that an idle connection's task stays small: the space those calls need is
    /// allocated only while they run.
    async fn serve(&mut self, mut rx: mpsc::Receiver<Arc<Push>>, claims: Option<Claims>) -> End {
        if let Err(end) = Box::pin(self.authenticated(None, claims)).await {
            return end;
        }
        let stop = self.node.stop.clone();
        let handle = self.handle.clone();
        // Made once, not on every turn of the loop: each registers a waiter under a lock.
        let mut stopped = std::pin::pin!(stop.cancelled());
        let mut kicked = std::pin::pin!(handle.kicked());
        let heartbeat = self.node.settings.heartbeat;
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
        loop {
            let step = tokio::select! {
                biased;
                () = &mut stopped => Err(self.restart().await),
                () = &mut kicked => Err(End::Close(close::SLOW_CONSUMER, "slow consumer")),
                Some(push) = rx.recv() => self.deliver(push).await,
                incoming = self.socket.recv() => self.on_incoming(incoming).await,
                _ = ticks.tick() => Box::pin(self.on_heartbeat(heartbeat)).await,
            };
            if let Err(end) = step {
                return end;
            }
        }
    }

    async fn on_incoming(&mut self, incoming: Option<Result<Message, axum::Error>>) -> Result<(), End> {
        self.last_heard = Instant::now();
        match incoming {
            // The codec refuses frames above the limit before they are buffered whole.
            Some(Err(e)) if e.to_string().contains("too long") => {
                Err(End::Close(close::MESSAGE_TOO_BIG, "frame too large"))
            }
            None | Some(Err(_)) => Err(End::Gone("connection lost")),
            Some(Ok(Message::Close(_))) => Err(End::Gone("closed by client")),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
            Some(Ok(Message::Binary(_))) => {
                self.error(None, codes::INVALID_FRAME, "frames are JSON text")
                    .await
            }
            Some(Ok(Message::Text(text))) => {
                MESSAGES_IN.increment(1);
                self.on_text(text).await
            }
        }
    }

    /// Pings the client, drops it when silent for three intervals, closes it once its token
    /// has expired, and keeps its presence alive.
    async fn on_heartbeat(&mut self, interval: Duration) -> Result<(), End> {
        if self.last_heard.elapsed() > interval * 3 {
            return Err(End::Close(close::HEARTBEAT_TIMEOUT, "heartbeat timeout"));
        }
        self.check_token().await?;
        self.refresh_presence().await;
        self.write(Message::Ping(Default::default())).await
    }

    /// Closes with `token_expired` once the token's `exp` has passed.
    pub async fn check_token(&mut self) -> Result<(), End> {
        let expired = self
            .claims
            .as_ref()
            .is_some_and(|c| c.exp < mercato_runtime::time::now_ms() / 1000);
        if expired {
            self.error(
                None,
                codes::TOKEN_EXPIRED,
                "the access token has expired; reconnect with a fresh one",
            )
            .await?;
            return Err(End::Close(close::UNAUTHENTICATED, "token expired"));
        }
        Ok(())
    }

    /// Tells the client to reconnect (to any replica) because this one is stopping.
    async fn restart(&mut self) -> End {
        let frame = ServerFrame::Reconnect {
            reason: "server restart",
        }
        .to_json();
        let _ = self.write_text(frame.into()).await;
        End::Close(close::SERVICE_RESTART, "server restart")
    }

    /// Sends one JSON frame.
    pub async fn send(&mut self, frame: ServerFrame<'_>) -> Result<(), End> {
        self.write_text(frame.to_json().into()).await
    }

    /// Sends an error frame; the connection stays open.
    pub async fn error(&mut self, id: Option<u64>, code: &str, message: &str) -> Result<(), End> {
        self.send(ServerFrame::Error { id, code, message }).await
    }

    pub async fn write_text(&mut self, text: Utf8Bytes) -> Result<(), End> {
        MESSAGES_OUT.increment(1);
        self.write(Message::Text(text)).await
    }

    /// Writes one message. Most writes complete at once (the socket has room), and only a
    /// write that must wait gets a timer: arming one per message was a tenth of a delivery.
    async fn write(&mut self, message: Message) -> Result<(), End> {
        let mut send = std::pin::pin!(self.socket.send(message));
        let sent = match futures::poll!(send.as_mut()) {
            std::task::Poll::Ready(sent) => sent,
            std::task::Poll::Pending => match tokio::time::timeout(WRITE_TIMEOUT, send).await {
                Ok(sent) => sent,
                Err(_) => return Err(End::Gone("write timed out")),
            },
        };
        sent.map_err(|_| End::Gone("connection lost"))
    }

    /// Sends the close frame (when the client can still take one) and clears its presence; the
    /// hub forgets the connection when the session is dropped.
    async fn finish(mut self, end: End) {
        let reason = match end {
            End::Close(_, reason) | End::Gone(reason) => reason,
        };
        metrics::counter!(WEBSOCKET_DISCONNECTS.name, "reason" => reason).increment(1);
        self.leave_presence().await;
        // Forgotten before the closing handshake, which may take a while.
        self.forget();
        if let End::Close(code, reason) = end {
            self.close(code, reason).await;
        }
        tracing::debug!(connection = %self.name, reason, "websocket closed");
    }
}

impl Session {
    /// The closing handshake, within [`CLOSE_LINGER`]: sends the close frame, then reads and
    /// discards what the client still sends until its own close frame (or its end). Dropping
    /// the socket at once would leave the client's frames unread — always so for a flooding
    /// client — and a socket closed with unread data is answered by a TCP reset, on which the
    /// client's kernel discards the close frame before the client has read it.
    async fn close(&mut self, code: u16, reason: &'static str) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let handshake = async {
            if self.socket.send(Message::Close(Some(frame))).await.is_err() {
                return;
            }
            while let Some(Ok(message)) = self.socket.recv().await {
                if let Message::Close(_) = message {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(CLOSE_LINGER, handshake).await;
    }
}

/// Whatever ends a session — its loop, or a panic in it — the hub forgets its subscriptions and
/// counts it closed.
impl Drop for Session {
    fn drop(&mut self) {
        self.forget();
    }
}

impl Session {
    /// Unsubscribes from every channel and counts the connection closed, once.
    fn forget(&mut self) {
        if std::mem::replace(&mut self.forgotten, true) {
            return;
        }
        for (channel, sub) in std::mem::take(&mut self.subscriptions) {
            self.node
                .hub
                .unsubscribe(&channel, sub.store_key.as_deref(), self.handle.id);
        }
        self.node.hub.disconnect();
    }
}
