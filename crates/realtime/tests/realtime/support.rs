//! A running realtime service for tests: a fresh database, in-process presence and rate limits,
//! and the service behind its client.

use mercato_proto::events::{EventEnvelope, MessagePosted};
use mercato_proto::realtime::*;
use mercato_realtime::{MemoryPresence, RealtimeService};
use mercato_runtime::clients::realtime::RealtimeClient;
use mercato_runtime::config::{RealtimeSettings, Settings};
use mercato_runtime::db::Db;
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::ids::StoreId;
use mercato_runtime::ratelimit::MemoryRateLimiter;
pub use mercato_runtime::testing::Backend;
use prost::Message;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// One realtime replica; no outbox relay runs, so every event stays in the outbox to be
/// inspected.
pub struct Realtime {
    pub client: RealtimeClient,
    pub service: Arc<RealtimeService>,
    pub db: Db,
}

/// The default limits.
pub fn limits() -> RealtimeSettings {
    Settings::default().realtime
}

impl Realtime {
    /// A fresh service with the default limits on a new database of `backend`.
    pub async fn on(backend: Backend) -> Realtime {
        Realtime::start(backend.database().await, limits()).await
    }

    pub async fn start(db: Db, limits: RealtimeSettings) -> Realtime {
        mercato_runtime::testing::init_logs();
        let service = RealtimeService::new(
            db.clone(),
            Arc::new(Notify::new()),
            Arc::new(MemoryPresence::new()),
            Arc::new(MemoryRateLimiter::default()),
            limits,
        )
        .await
        .expect("realtime starts");
        Realtime {
            client: RealtimeClient::local(service.clone(), Duration::from_secs(30)),
            service,
            db,
        }
    }

    /// Counts rows with a fixed, test-controlled query.
    pub async fn count(&self, sql: &'static str) -> i64 {
        let (n,): (i64,) = self.db.query_one(sql, &[]).await.unwrap();
        n
    }

    /// The outbox events with `subject`, oldest first.
    pub async fn events(&self, subject: &str) -> Vec<EventEnvelope> {
        mercato_runtime::testing::outbox_events(&self.db)
            .await
            .into_iter()
            .filter(|e| e.subject == subject)
            .collect()
    }

    /// The messages of every `message_posted` event in the outbox.
    pub async fn posted(&self) -> Vec<ChatMessage> {
        let events = self.events(mercato_realtime::events::MESSAGE_POSTED).await;
        events
            .iter()
            .map(|e| {
                MessagePosted::decode(e.payload.as_slice())
                    .unwrap()
                    .message
                    .unwrap()
            })
            .collect()
    }

    /// Opens a conversation as the customer.
    pub async fn open(&self, store: &StoreId, customer: &str) -> Conversation {
        self.client
            .open_conversation(OpenConversationRequest {
                store_id: store.to_string(),
                caller: Some(customer_caller(customer)),
                subject: "Where is my order?".into(),
            })
            .await
            .expect("conversation opens")
    }

    pub async fn get(
        &self,
        store: &StoreId,
        caller: &Caller,
        conversation: &str,
    ) -> Result<Conversation, ServiceError> {
        self.client
            .get_conversation(GetConversationRequest {
                store_id: store.to_string(),
                caller: Some(caller.clone()),
                conversation_id: conversation.into(),
            })
            .await
    }

    pub async fn post(
        &self,
        store: &StoreId,
        caller: &Caller,
        conversation: &str,
        client_msg_id: &str,
        body: &str,
    ) -> Result<PostMessageResponse, ServiceError> {
        self.client
            .post_message(PostMessageRequest {
                store_id: store.to_string(),
                caller: Some(caller.clone()),
                conversation_id: conversation.into(),
                client_msg_id: client_msg_id.into(),
                body: body.into(),
            })
            .await
    }

    pub async fn messages(
        &self,
        store: &StoreId,
        caller: &Caller,
        conversation: &str,
        after_seq: i64,
        limit: u32,
    ) -> Result<ListMessagesResponse, ServiceError> {
        self.client
            .list_messages(ListMessagesRequest {
                store_id: store.to_string(),
                caller: Some(caller.clone()),
                conversation_id: conversation.into(),
                after_seq,
                limit,
            })
            .await
    }

    pub async fn mark_read(
        &self,
        store: &StoreId,
        caller: &Caller,
        conversation: &str,
        seq: i64,
    ) -> Result<Conversation, ServiceError> {
        self.client
            .mark_read(MarkReadRequest {
                store_id: store.to_string(),
                caller: Some(caller.clone()),
                conversation_id: conversation.into(),
                seq,
            })
            .await
    }

    pub async fn list(
        &self,
        store: &StoreId,
        caller: &Caller,
        limit: u32,
        before_ms: i64,
    ) -> Result<Vec<Conversation>, ServiceError> {
        let listed = self
            .client
            .list_conversations(ListConversationsRequest {
                store_id: store.to_string(),
                caller: Some(caller.clone()),
                limit,
                before_ms,
            })
            .await?;
        Ok(listed.conversations)
    }
}

/// A caller with a role named as the REST API names it; any other name becomes a role number
/// this build does not know.
pub fn caller(user_id: &str, role: &str) -> Caller {
    let role = match role {
        "owner" => mercato_proto::common::Role::Owner.into(),
        "staff" => mercato_proto::common::Role::Staff.into(),
        "customer" => mercato_proto::common::Role::Customer.into(),
        _ => 99,
    };
    Caller {
        user_id: user_id.into(),
        role,
    }
}

pub fn customer_caller(user_id: &str) -> Caller {
    caller(user_id, "customer")
}

pub fn staff_caller(user_id: &str) -> Caller {
    caller(user_id, "staff")
}

/// A fresh user id.
pub fn user() -> String {
    uuid::Uuid::now_v7().to_string()
}

pub fn code(r: Result<impl std::fmt::Debug, ServiceError>) -> ErrorCode {
    r.expect_err("the call should fail").code
}
