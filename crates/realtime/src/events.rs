//! The events the realtime service publishes, and how their envelopes are built.

use crate::domain::{ConversationId, Message};
use mercato_proto::events::{EventEnvelope, MessagePosted, ReadMarked};
use mercato_runtime::ids::StoreId;
use mercato_runtime::outbox::envelope;

pub use mercato_proto::subjects::realtime::{MESSAGE_POSTED, READ_MARKED};

/// `message_posted`; the customer travels along so that consumers can route the message to
/// them without looking the conversation up.
pub fn message_posted(store: &StoreId, message: &Message, customer_id: &str) -> EventEnvelope {
    let event = MessagePosted {
        message: Some(message.to_proto()),
        customer_id: customer_id.to_owned(),
    };
    envelope(&store.to_string(), MESSAGE_POSTED, 1, &event)
}

pub fn read_marked(store: &StoreId, conversation: &ConversationId, user_id: &str, seq: i64) -> EventEnvelope {
    let event = ReadMarked {
        conversation_id: conversation.to_string(),
        user_id: user_id.to_owned(),
        seq,
    };
    envelope(&store.to_string(), READ_MARKED, 1, &event)
}
