//! Writing pushes to the client: conversation messages exactly once and in seq order (gaps
//! filled from history, duplicates dropped), everything else as it comes; and staff presence.

use super::hub::Push;
use super::notify::message_frame;
use super::requests::caller;
use super::session::{End, Session};
use crate::presence::{PresenceStatus, Tab};
use mercato_proto::realtime::ListMessagesRequest;
use mercato_runtime::auth::Claims;
use metrics::Histogram;
use std::sync::{Arc, LazyLock};

/// Messages fetched per history page while catching up.
const PAGE: u32 = 200;

/// From the event to its write on this connection, registered once.
static DELIVERY_LATENCY: LazyLock<Histogram> =
    LazyLock::new(|| metrics::histogram!(WEBSOCKET_DELIVERY_LATENCY.name));

/// Describes [`DELIVERY_LATENCY`].
pub(super) fn describe_metrics() {
    mercato_runtime::metric_family::Family::describe_all(&[WEBSOCKET_DELIVERY_LATENCY]);
}

mercato_runtime::metric_families! {
    /// Time from an event's occurrence to the write of its push on a WebSocket connection.
    pub(crate) const WEBSOCKET_DELIVERY_LATENCY: Histogram(Seconds) = "websocket_delivery_latency_seconds";
}

impl Session {
    /// Writes one push, unless it is for a channel this connection has left or a conversation
    /// message it already has.
    pub(super) async fn deliver(&mut self, push: Arc<Push>) -> Result<(), End> {
        let Some(sub) = self.subscriptions.get(&push.channel) else {
            return Ok(());
        };
        if let (Some(seq), Some((_, delivered))) = (push.seq, &sub.conversation) {
            let delivered = *delivered;
            if seq <= delivered {
                return Ok(());
            }
            if seq > delivered + 1 {
                // Something in between has not arrived (yet): history has it, in order.
                return Box::pin(self.catch_up(&push.channel, Some(seq))).await;
            }
            self.set_delivered(&push.channel, seq);
        }
        self.write_text(push.text.clone()).await?;
        if push.occurred_at_ms > 0 {
            let lag_ms = (mercato_runtime::time::now_ms() - push.occurred_at_ms).max(0);
            DELIVERY_LATENCY.record(lag_ms as f64 / 1000.0);
        }
        Ok(())
    }

    /// Delivers a conversation's history after what this connection has, up to `until` (or to
    /// the end), in seq order.
    pub(super) async fn catch_up(&mut self, channel: &Arc<str>, until: Option<i64>) -> Result<(), End> {
        let Some(claims) = self.claims.clone() else {
            return Ok(());
        };
        loop {
            let Some((conversation_id, delivered)) = self
                .subscriptions
                .get(channel)
                .and_then(|s| s.conversation.clone())
            else {
                return Ok(());
            };
            if until.is_some_and(|u| delivered >= u) {
                return Ok(());
            }
            let page = self
                .node
                .service
                .list_messages(ListMessagesRequest {
                    store_id: claims.store.clone(),
                    caller: Some(caller(&claims)),
                    conversation_id,
                    after_seq: delivered,
                    limit: PAGE,
                })
                .await;
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    // History is unreachable: the client must not miss the gap silently.
                    tracing::warn!(error = %e.message, "conversation history unavailable");
                    return Err(End::Close(1011, "history unavailable; reconnect and resume"));
                }
            };
            for m in &page.messages {
                self.set_delivered(channel, m.seq);
                let text = message_frame(channel, m).to_string();
                self.write_text(text.into()).await?;
            }
            if !page.has_more || page.messages.is_empty() {
                return Ok(());
            }
        }
    }

    fn set_delivered(&mut self, channel: &str, seq: i64) {
        if let Some((_, delivered)) = self
            .subscriptions
            .get_mut(channel)
            .and_then(|s| s.conversation.as_mut())
        {
            *delivered = seq;
        }
    }

    /// Records this staff connection's presence and tells the store's `presence:` channel.
    pub(super) async fn set_presence(&mut self, status: PresenceStatus) {
        let changed = self.presence != Some(status);
        self.presence = Some(status);
        self.refresh_presence().await;
        if changed && let Some(claims) = &self.claims {
            let channel = format!("presence:{}", claims.store);
            let frame = serde_json::json!({
                "type": "presence", "channel": channel, "user_id": claims.sub, "status": status.as_str(),
            });
            self.node.signal(&channel, frame).await;
        }
    }

    /// This connection's presence entry for its signed-in user.
    fn tab<'a>(&'a self, claims: &'a Claims) -> Tab<'a> {
        Tab {
            store_id: &claims.store,
            user_id: &claims.sub,
            connection_id: &self.name,
        }
    }

    /// Extends this connection's presence entry.
    pub(super) async fn refresh_presence(&mut self) {
        let (Some(status), Some(claims)) = (self.presence, &self.claims) else {
            return;
        };
        let ttl = self.node.settings.presence_ttl;
        let presence = self.node.service.presence();
        if let Err(e) = presence.set(self.tab(claims), status, ttl).await {
            tracing::warn!(error = %e, "presence not recorded");
        }
    }

    /// Removes this connection's presence; says `offline` when it was the user's last one.
    pub(super) async fn leave_presence(&mut self) {
        let (Some(_), Some(claims)) = (self.presence, &self.claims) else {
            return;
        };
        let presence = self.node.service.presence();
        if let Err(e) = presence.clear(self.tab(claims)).await {
            tracing::warn!(error = %e, "presence not cleared; it expires on its own");
            return;
        }
        let still_here = presence
            .list(&claims.store)
            .await
            .map(|all| all.iter().any(|p| p.user_id == claims.sub))
            .unwrap_or(false);
        if !still_here {
            let channel = format!("presence:{}", claims.store);
            let frame = serde_json::json!({
                "type": "presence", "channel": channel, "user_id": claims.sub, "status": "offline",
            });
            self.node.signal(&channel, frame).await;
        }
    }
}
