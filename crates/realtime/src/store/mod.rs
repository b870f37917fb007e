//! Conversation storage behind a trait the service owns, with one SQL implementation for SQLite
//! and PostgreSQL.
//!
//! Every method takes the store (tenant) id first and every query filters on it, so one tenant
//! can never read or change another's conversations. Who within the store may see a
//! conversation is the service's decision ([`crate::domain::can_see`]), made before it calls
//! here.
//!
//! Sequence numbers are gapless: a post increments the conversation's `last_seq` first, which
//! takes the conversation's row lock (PostgreSQL) inside a write transaction that already
//! excludes other writers (SQLite), and a post that turns out to be a resend rolls the increment
//! back. Each write appends its events to the outbox in the same transaction; the message's
//! seq and the conversation's customer are known only inside it, so the store builds those
//! events itself with [`crate::events`].

mod migrations;
mod sql;

pub use migrations::MIGRATIONS;
pub use sql::SqlConversationStore;

use crate::domain::{
    Conversation, ConversationId, ConversationPage, ConversationView, Message, MessagePage, NewMessage,
};
use mercato_runtime::error::ServiceError;
use mercato_runtime::ids::StoreId;

/// The outcome of posting a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Posted {
    /// The message was stored with the next seq.
    Stored(Message),
    /// The sender had already posted this `client_msg_id`; that first message, untouched.
    Duplicate(Message),
}

/// The conversation store's own refusals; everything else any store can run into is in
/// [`mercato_runtime::store_error::StoreError`].
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("conversation not found")]
    NotFound,
    /// A read marker cannot pass the newest message.
    #[error("seq is beyond the conversation's last message ({last_seq})")]
    BeyondLast { last_seq: i64 },
}

impl From<Refusal> for ServiceError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::NotFound => ServiceError::not_found("conversation"),
            Refusal::BeyondLast { last_seq } => ServiceError::invalid_field(
                "seq",
                &format!("must be at most {last_seq}, the seq of the conversation's last message"),
            ),
        }
    }
}

/// What can go wrong in the conversation store.
pub type StoreError = mercato_runtime::store_error::StoreError<Refusal>;

/// The realtime service's conversation storage.
#[async_trait::async_trait]
pub trait ConversationStore: Send + Sync + 'static {
    /// Whether the database answers.
    async fn ping(&self) -> bool;

    /// Stores a new conversation.
    async fn open(&self, conversation: &Conversation) -> Result<(), StoreError>;

    /// One conversation with `reader`'s read marker.
    async fn conversation(
        &self,
        store: &StoreId,
        id: &ConversationId,
        reader: &str,
    ) -> Result<Option<ConversationView>, StoreError>;

    /// A page of the store's conversations (only `customer`'s when given), newest updated first,
    /// each with `reader`'s read marker.
    async fn conversations(
        &self,
        store: &StoreId,
        customer: Option<&str>,
        page: ConversationPage,
        reader: &str,
    ) -> Result<Vec<ConversationView>, StoreError>;

    /// Appends a message with the conversation's next seq, moves the sender's read marker to it
    /// and appends `message_posted`, all in one transaction; a resend of the sender's
    /// `client_msg_id` changes nothing and returns the first message.
    async fn post(&self, store: &StoreId, message: &NewMessage, now_ms: i64) -> Result<Posted, StoreError>;

    /// Up to `page.limit` messages with seq above `page.after_seq`, in seq order.
    async fn messages(
        &self,
        store: &StoreId,
        id: &ConversationId,
        page: MessagePage,
    ) -> Result<Vec<Message>, StoreError>;

    /// Moves `user_id`'s read marker forward to `seq` (never back) and appends `read_marked` when
    /// it moved; refuses a seq beyond the last message ([`Refusal::BeyondLast`]).
    async fn mark_read(
        &self,
        store: &StoreId,
        id: &ConversationId,
        user_id: &str,
        seq: i64,
    ) -> Result<ConversationView, StoreError>;
}
