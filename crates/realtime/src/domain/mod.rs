//! The realtime service's domain: conversations, messages and read markers as values, who may
//! see them, and request validation; no IO.

pub mod conversation;

pub use conversation::{
    Caller, Conversation, ConversationId, ConversationPage, ConversationView, Message, MessageId,
    MessagePage, NewMessage, can_see,
};
