//! What each client frame does. Every request is answered (reply or `error` frame); a frame
//! that is not valid protocol gets `invalid_frame` and changes nothing.

use super::budget::Verdict;
use super::channel::{Access, Channel};
use super::protocol::{ClientFrame, ServerFrame, close, codes};
use super::session::{End, Session, Subscription};
use crate::presence::PresenceStatus;
use axum::extract::ws::Utf8Bytes;
use mercato_proto::realtime::{
    Caller, Conversation, GetConversationRequest, MarkReadRequest, PostMessageRequest,
};
use mercato_runtime::auth::Claims;
use mercato_runtime::error::{ErrorCode, ServiceError};
use std::sync::Arc;

impl Session {
    pub(super) async fn on_text(&mut self, text: Utf8Bytes) -> Result<(), End> {
        match self.budget.take() {
            Verdict::Allow => {}
            Verdict::Refuse => {
                return self
                    .error(None, codes::RATE_LIMITED, "too many frames; slow down")
                    .await;
            }
            Verdict::Flooding => return Err(End::Close(close::FLOODING, "too many frames")),
        }
        let frame = match serde_json::from_str::<ClientFrame>(text.as_str()) {
            Ok(frame) => frame,
            Err(e) => {
                let message = format!("not a valid frame: {e}");
                return self.error(None, codes::INVALID_FRAME, &message).await;
            }
        };
        self.check_token().await?;
        let id = frame.id();
        match frame {
            // Boxed: these reach other services (see `Session::serve`).
            ClientFrame::Connect { v, token, .. } => Box::pin(self.on_connect(id, v, token)).await,
            ClientFrame::Subscribe {
                channel, after_seq, ..
            } => Box::pin(self.on_subscribe(id, &channel, after_seq)).await,
            ClientFrame::Unsubscribe { channel, .. } => self.on_unsubscribe(id, &channel).await,
            ClientFrame::Publish {
                channel,
                client_msg_id,
                body,
                ..
            } => Box::pin(self.on_publish(id, &channel, client_msg_id, body)).await,
            ClientFrame::Ack { channel, seq, .. } => Box::pin(self.on_ack(id, &channel, seq)).await,
            ClientFrame::Typing { channel } => Box::pin(self.on_typing(&channel)).await,
            ClientFrame::Presence { status, .. } => Box::pin(self.on_presence(id, &status)).await,
            ClientFrame::Ping { .. } => self.send(ServerFrame::Pong { id }).await,
        }
    }

    /// Adopts `claims` (from the upgrade request or a `connect` frame) and greets the client.
    pub(super) async fn authenticated(&mut self, id: Option<u64>, claims: Option<Claims>) -> Result<(), End> {
        if let (Some(old), Some(new)) = (&self.claims, &claims)
            && (old.sub != new.sub || old.store != new.store)
        {
            return self
                .error(id, codes::UNAUTHENTICATED, "a connection cannot change its user")
                .await;
        }
        let first = self.claims.is_none() && claims.is_some();
        if claims.is_some() {
            self.claims = claims;
        }
        if first && self.claims.as_ref().is_some_and(|c| c.role.is_store_staff()) {
            self.set_presence(PresenceStatus::Online).await;
        }
        let heartbeat_ms = self.node.settings.heartbeat.as_millis() as u64;
        let name = self.name.clone();
        let claims = self.claims.clone();
        self.send(ServerFrame::Connected {
            id,
            v: super::protocol::VERSION,
            connection_id: &name,
            user_id: claims.as_ref().map(|c| c.sub.as_str()),
            store_id: claims.as_ref().map(|c| c.store.as_str()),
            role: claims.as_ref().map(|c| c.role.as_str()),
            heartbeat_ms,
        })
        .await
    }

    async fn on_connect(
        &mut self,
        id: Option<u64>,
        v: Option<u32>,
        token: Option<String>,
    ) -> Result<(), End> {
        if v.is_some_and(|v| v != super::protocol::VERSION) {
            self.error(
                id,
                codes::UNSUPPORTED_VERSION,
                "this server speaks protocol version 1",
            )
            .await?;
            return Err(End::Close(
                close::UNSUPPORTED_VERSION,
                "unsupported protocol version",
            ));
        }
        let claims = match token {
            None => None,
            Some(token) => match self.node.verifier.verify(&token).await {
                Ok(claims) => Some(claims),
                Err(e) => {
                    self.error(id, codes::UNAUTHENTICATED, &e.message).await?;
                    return Err(End::Close(close::UNAUTHENTICATED, "unauthenticated"));
                }
            },
        };
        self.authenticated(id, claims).await
    }

    async fn on_subscribe(&mut self, id: Option<u64>, name: &str, after_seq: Option<i64>) -> Result<(), End> {
        let Some(channel) = Channel::parse(name) else {
            return self
                .error(id, codes::INVALID_CHANNEL, "no such channel name")
                .await;
        };
        let key: Arc<str> = channel.name().into();
        if let Some((code, message)) = self.no_room_for(&key) {
            return self.error(id, code, message).await;
        }
        let conversation = match self.admit(&channel).await {
            Ok(conversation) => conversation,
            Err(Denied::Forbidden) => return self.forbidden(id).await,
            Err(Denied::Service(e)) => return self.service_error(id, e).await,
        };
        if let Some(c) = &conversation
            && after_seq.is_some_and(|s| s < 0 || s > c.last_seq)
        {
            return self
                .error(
                    id,
                    codes::VALIDATION_FAILED,
                    "after_seq must be between 0 and the channel's last_seq",
                )
                .await;
        }
        let store_key = self.store_key(&channel);
        if !self.join_hub(&key, store_key.as_deref()) {
            return self
                .error(
                    id,
                    codes::TOO_MANY_SUBSCRIPTIONS,
                    "the store's subscription limit is reached",
                )
                .await;
        }
        let from = conversation
            .as_ref()
            .map(|c| after_seq.unwrap_or(c.read_seq).clamp(0, c.last_seq));
        self.subscribed(id, key, store_key, conversation.as_ref(), from)
            .await
    }

    /// Why this connection may not take `key` on as a new channel (it already holds it, or as
    /// many channels as it may), as an error code and message; `None` if it may.
    fn no_room_for(&self, key: &str) -> Option<(&'static str, &'static str)> {
        if self.subscriptions.contains_key(key) {
            return Some((codes::VALIDATION_FAILED, "already subscribed"));
        }
        if self.subscriptions.len() >= self.node.settings.max_subscriptions_per_connection {
            return Some((
                codes::TOO_MANY_SUBSCRIPTIONS,
                "this connection holds as many channels as it may",
            ));
        }
        None
    }

    /// Whether the caller may subscribe to `channel`; for a conversation, the conversation
    /// itself, as the service shows it to this caller.
    async fn admit(&mut self, channel: &Channel) -> Result<Option<Conversation>, Denied> {
        match channel.access(self.claims.as_ref()) {
            Access::Denied => Err(Denied::Forbidden),
            Access::Allowed => Ok(None),
            Access::AskConversation => {
                let Channel::Conversation { conversation_id } = channel else {
                    return Err(Denied::Forbidden);
                };
                self.conversation(conversation_id)
                    .await
                    .map(Some)
                    .map_err(Denied::Service)
            }
        }
    }

    /// The store a subscription to `channel` counts against: the channel's own, else the caller's.
    fn store_key(&self, channel: &Channel) -> Option<String> {
        channel
            .store_id()
            .map(str::to_owned)
            .or_else(|| self.claims.as_ref().map(|c| c.store.clone()))
    }

    /// Registers this connection with the hub for `key`; `false` if the store's subscription
    /// limit is reached.
    fn join_hub(&self, key: &Arc<str>, store_key: Option<&str>) -> bool {
        let limit = self.node.settings.max_subscriptions_per_store;
        self.node
            .hub
            .subscribe(key, store_key, limit, &self.handle)
            .is_ok()
    }

    /// Records the subscription, confirms it to the client and, for a conversation, sends the
    /// messages after `from`.
    async fn subscribed(
        &mut self,
        id: Option<u64>,
        key: Arc<str>,
        store_key: Option<String>,
        conversation: Option<&Conversation>,
        from: Option<i64>,
    ) -> Result<(), End> {
        self.subscriptions.insert(
            key.clone(),
            Subscription {
                store_key,
                conversation: conversation.zip(from).map(|(c, f)| (c.id.clone(), f)),
            },
        );
        self.send(ServerFrame::Subscribed {
            id,
            channel: &key,
            last_seq: conversation.map(|c| c.last_seq),
            from_seq: from,
        })
        .await?;
        if conversation.is_some() {
            self.catch_up(&key, None).await?;
        }
        Ok(())
    }

    async fn on_unsubscribe(&mut self, id: Option<u64>, name: &str) -> Result<(), End> {
        let Some(sub) = self.subscriptions.remove(name) else {
            return self
                .error(id, codes::NOT_SUBSCRIBED, "not subscribed to this channel")
                .await;
        };
        self.node
            .hub
            .unsubscribe(name, sub.store_key.as_deref(), self.handle.id);
        self.send(ServerFrame::Unsubscribed { id, channel: name }).await
    }

    async fn on_publish(
        &mut self,
        id: Option<u64>,
        name: &str,
        client_msg_id: String,
        body: String,
    ) -> Result<(), End> {
        let Some((claims, conversation_id)) = self.conversation_target(name) else {
            return self.forbidden(id).await;
        };
        let request = PostMessageRequest {
            store_id: claims.store.clone(),
            caller: Some(caller(&claims)),
            conversation_id,
            client_msg_id,
            body,
        };
        let posted = match self.node.service.post_message(request).await {
            Ok(posted) => posted,
            Err(e) => return self.service_error(id, e).await,
        };
        let Some(message) = posted.message else {
            return self
                .error(id, codes::UNAVAILABLE, "the message was not stored")
                .await;
        };
        self.send(ServerFrame::Published {
            id,
            channel: name,
            seq: message.seq,
            message_id: &message.id,
            duplicate: posted.duplicate,
        })
        .await?;
        if !posted.duplicate {
            // Subscribers on this replica get it now; the event reaches the other replicas
            // (and, again, this one, where the duplicate seq is dropped).
            let push = super::notify::message_push(&message, message.sent_at_ms);
            self.node.hub.publish(push);
        }
        Ok(())
    }

    async fn on_ack(&mut self, id: Option<u64>, name: &str, seq: i64) -> Result<(), End> {
        let Some((claims, conversation_id)) = self.conversation_target(name) else {
            return self.forbidden(id).await;
        };
        let request = MarkReadRequest {
            store_id: claims.store.clone(),
            caller: Some(caller(&claims)),
            conversation_id,
            seq,
        };
        match self.node.service.mark_read(request).await {
            Ok(c) => {
                let read_seq = c.read_seq;
                self.send(ServerFrame::Acked {
                    id,
                    channel: name,
                    read_seq,
                })
                .await
            }
            Err(e) => self.service_error(id, e).await,
        }
    }

    async fn on_typing(&mut self, name: &str) -> Result<(), End> {
        // Only members who subscribed (and so were authorized) may signal typing.
        let Some(claims) = self
            .claims
            .clone()
            .filter(|_| self.subscriptions.contains_key(name))
        else {
            return self
                .error(None, codes::NOT_SUBSCRIBED, "subscribe to the conversation first")
                .await;
        };
        if !name.starts_with("conversation:") {
            return self
                .error(None, codes::INVALID_CHANNEL, "typing is for conversations")
                .await;
        }
        let frame = serde_json::json!({
            "type": "typing", "channel": name, "user_id": claims.sub, "role": claims.role.as_str(),
        });
        self.node.signal(name, frame).await;
        Ok(())
    }

    async fn on_presence(&mut self, id: Option<u64>, status: &str) -> Result<(), End> {
        if !self.claims.as_ref().is_some_and(|c| c.role.is_store_staff()) {
            return self.forbidden(id).await;
        }
        let Some(status) = PresenceStatus::parse(status) else {
            return self
                .error(id, codes::VALIDATION_FAILED, "status must be online or away")
                .await;
        };
        self.set_presence(status).await;
        self.send(ServerFrame::PresenceSet {
            id,
            status: status.as_str(),
        })
        .await
    }

    /// The caller's claims and the conversation id, for frames that need a signed-in member.
    fn conversation_target(&self, name: &str) -> Option<(Claims, String)> {
        let claims = self.claims.clone()?;
        match Channel::parse(name)? {
            Channel::Conversation { conversation_id } => Some((claims, conversation_id)),
            _ => None,
        }
    }

    /// The conversation, if the caller may see it.
    async fn conversation(&mut self, conversation_id: &str) -> Result<Conversation, ServiceError> {
        let claims = self
            .claims
            .as_ref()
            .ok_or_else(|| ServiceError::unauthenticated("sign in first"))?;
        self.node
            .service
            .get_conversation(GetConversationRequest {
                store_id: claims.store.clone(),
                caller: Some(caller(claims)),
                conversation_id: conversation_id.to_owned(),
            })
            .await
    }

    async fn forbidden(&mut self, id: Option<u64>) -> Result<(), End> {
        self.error(id, codes::FORBIDDEN, "no such channel, or not yours to see")
            .await
    }

    /// A service refusal as an error frame; missing and not-allowed read the same.
    pub(super) async fn service_error(&mut self, id: Option<u64>, e: ServiceError) -> Result<(), End> {
        match e.code {
            ErrorCode::NotFound | ErrorCode::Forbidden => self.forbidden(id).await,
            ErrorCode::Unauthenticated => self.error(id, codes::UNAUTHENTICATED, &e.message).await,
            ErrorCode::ValidationFailed | ErrorCode::InvalidRequest => {
                let message = describe(&e);
                self.error(id, codes::VALIDATION_FAILED, &message).await
            }
            ErrorCode::RateLimited => self.error(id, codes::RATE_LIMITED, &e.message).await,
            _ => {
                tracing::warn!(error = %e.message, code = e.code.as_str(), "realtime request failed");
                self.error(id, codes::UNAVAILABLE, "try again shortly").await
            }
        }
    }
}

/// Why a caller may not subscribe to a channel.
enum Denied {
    /// The name alone rules the caller out, or the conversation is not theirs.
    Forbidden,
    /// The conversation service refused or failed.
    Service(ServiceError),
}

/// The caller as the conversation contract names it.
pub(super) fn caller(claims: &Claims) -> Caller {
    Caller {
        user_id: claims.sub.clone(),
        role: claims.role.to_proto(),
    }
}

/// A validation error with its field messages, in one line.
fn describe(e: &ServiceError) -> String {
    let fields: Vec<String> = e
        .fields
        .iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect();
    if fields.is_empty() {
        e.message.clone()
    } else {
        format!("{} ({})", e.message, fields.join("; "))
    }
}
