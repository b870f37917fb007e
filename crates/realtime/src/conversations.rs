//! Conversation use cases: open, read and list conversations, post and list messages, mark
//! read, and list the staff's presence.
//!
//! Each checks the caller first (signed in: 401; a known role: 403), then the request's
//! fields (422, every bad field at once), then whether the caller may see the conversation: one
//! they may not see is "not found", word for word as a missing one.

use crate::domain::{Caller, Conversation, ConversationId, ConversationView, MessagePage, can_see};
use crate::requests;
use crate::service::RealtimeService;
use crate::store::Posted;
use mercato_proto::realtime as pb;
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::ids::StoreId;
use mercato_runtime::ratelimit::Decision;
use mercato_runtime::time::now_ms;

fn not_found() -> ServiceError {
    ServiceError::not_found("conversation")
}

impl RealtimeService {
    /// The conversation with the caller's read marker, if the caller may see it.
    async fn visible(
        &self,
        store: &StoreId,
        id: &ConversationId,
        caller: &Caller,
    ) -> Result<ConversationView, ServiceError> {
        match self.store.conversation(store, id, &caller.user_id).await? {
            Some(view) if can_see(caller, &view.conversation) => Ok(view),
            _ => Err(not_found()),
        }
    }

    /// Counts one message against the store's allowance.
    async fn admit_message(&self, store: &StoreId) -> Result<(), ServiceError> {
        let key = format!("rt-store:{store}");
        match self
            .limiter
            .check(&key, self.limits.store_messages_per_second)
            .await
        {
            Decision::Allow => Ok(()),
            Decision::Reject { retry_after_secs } => Err(ServiceError::new(
                ErrorCode::RateLimited,
                format!("this store receives too many messages; retry in {retry_after_secs}s"),
            )),
        }
    }

    pub async fn open_conversation(
        &self,
        r: pb::OpenConversationRequest,
    ) -> Result<pb::Conversation, ServiceError> {
        let caller = Caller::from_proto(r.caller.as_ref())?;
        caller.may_open()?;
        let (store, subject) = requests::open(&r)?;
        let conversation = Conversation::open(store, &caller.user_id, subject, now_ms());
        self.store.open(&conversation).await?;
        tracing::info!(store_id = %store, conversation_id = %conversation.id, "conversation opened");
        Ok(ConversationView {
            conversation,
            read_seq: 0,
        }
        .to_proto())
    }

    pub async fn get_conversation(
        &self,
        r: pb::GetConversationRequest,
    ) -> Result<pb::Conversation, ServiceError> {
        let caller = Caller::from_proto(r.caller.as_ref())?;
        let (store, id) = requests::conversation_ref(&r.store_id, &r.conversation_id)?;
        Ok(self.visible(&store, &id, &caller).await?.to_proto())
    }

    pub async fn list_conversations(
        &self,
        r: pb::ListConversationsRequest,
    ) -> Result<pb::ListConversationsResponse, ServiceError> {
        let caller = Caller::from_proto(r.caller.as_ref())?;
        let (store, page) = requests::list_conversations(&r)?;
        let customer = (!caller.role.is_store_staff()).then_some(caller.user_id.as_str());
        let views = self
            .store
            .conversations(&store, customer, page, &caller.user_id)
            .await?;
        Ok(pb::ListConversationsResponse {
            conversations: views.iter().map(ConversationView::to_proto).collect(),
        })
    }

    pub async fn post_message(
        &self,
        r: pb::PostMessageRequest,
    ) -> Result<pb::PostMessageResponse, ServiceError> {
        let caller = Caller::from_proto(r.caller.as_ref())?;
        let (store, message) = requests::post(&r, &caller)?;
        self.visible(&store, &message.conversation_id, &caller).await?;
        self.admit_message(&store).await?;
        let (stored, duplicate) = match self.store.post(&store, &message, now_ms()).await? {
            Posted::Stored(stored) => {
                self.committed();
                (stored, false)
            }
            Posted::Duplicate(first) => (first, true),
        };
        Ok(pb::PostMessageResponse {
            message: Some(stored.to_proto()),
            duplicate,
        })
    }

    pub async fn list_messages(
        &self,
        r: pb::ListMessagesRequest,
    ) -> Result<pb::ListMessagesResponse, ServiceError> {
        let caller = Caller::from_proto(r.caller.as_ref())?;
        let (store, id, page) = requests::list_messages(&r)?;
        let view = self.visible(&store, &id, &caller).await?;
        // One more than asked tells whether another page follows.
        let mut messages = self
            .store
            .messages(
                &store,
                &id,
                MessagePage {
                    limit: page.limit + 1,
                    ..page
                },
            )
            .await?;
        let has_more = messages.len() as i64 > page.limit;
        messages.truncate(page.limit as usize);
        // Messages posted since the conversation was read are returned too, so the last seq
        // reported is never below the last message listed.
        let last_seq = messages
            .last()
            .map_or(0, |m| m.seq)
            .max(view.conversation.last_seq);
        Ok(pb::ListMessagesResponse {
            messages: messages.iter().map(|m| m.to_proto()).collect(),
            last_seq,
            has_more,
        })
    }

    pub async fn mark_read(&self, r: pb::MarkReadRequest) -> Result<pb::Conversation, ServiceError> {
        let caller = Caller::from_proto(r.caller.as_ref())?;
        let (store, id, seq) = requests::mark_read(&r)?;
        self.visible(&store, &id, &caller).await?;
        let view = self.store.mark_read(&store, &id, &caller.user_id, seq).await?;
        // Only a marker that moved appended an event; waking the relay for nothing costs it one
        // empty look at the outbox.
        self.committed();
        Ok(view.to_proto())
    }

    pub async fn list_presence(
        &self,
        r: pb::ListPresenceRequest,
    ) -> Result<pb::ListPresenceResponse, ServiceError> {
        let store = StoreId::parse("store_id", &r.store_id)?;
        let entries = self.presence.list(&store.to_string()).await.map_err(|e| {
            tracing::warn!(store_id = %store, error = %e, "presence unavailable");
            ServiceError::unavailable("presence is unavailable; retry")
        })?;
        let staff = entries
            .into_iter()
            .map(|e| pb::Presence {
                user_id: e.user_id,
                status: e.status.as_str().to_owned(),
                expires_at_ms: e.expires_at_ms,
            })
            .collect();
        Ok(pb::ListPresenceResponse { staff })
    }
}
