//! The realtime service's domain: conversations, messages and read markers as values, and who
//! may see and open them; no IO, no wire format (requests are checked in `crate::requests`,
//! values become messages in `crate::wire`).

pub mod conversation;

pub use conversation::{
    Caller, Conversation, ConversationId, ConversationPage, ConversationRefusal, ConversationView, Message,
    MessageId, MessagePage, NewMessage, can_see,
};
