//! The realtime contract at the edge: the domain's conversations and messages as
//! `realtime.proto` messages, and its refusals as `ServiceError`s. The domain knows no wire
//! format; its values get their `to_proto` here.

use crate::domain::{ConversationRefusal, ConversationView, Message};
use mercato_proto::realtime as pb;
use mercato_runtime::error::ServiceError;

impl ConversationView {
    pub fn to_proto(&self) -> pb::Conversation {
        let c = &self.conversation;
        pb::Conversation {
            id: c.id.to_string(),
            store_id: c.store_id.to_string(),
            customer_id: c.customer_id.clone(),
            subject: c.subject.clone(),
            last_seq: c.last_seq,
            read_seq: self.read_seq,
            created_at_ms: c.created_at_ms,
            updated_at_ms: c.updated_at_ms,
        }
    }
}

impl Message {
    pub fn to_proto(&self) -> pb::ChatMessage {
        pb::ChatMessage {
            id: self.id.to_string(),
            conversation_id: self.conversation_id.to_string(),
            seq: self.seq,
            sender_id: self.sender_id.clone(),
            sender_role: self.sender_role.to_proto(),
            client_msg_id: self.client_msg_id.clone(),
            body: self.body.clone(),
            sent_at_ms: self.sent_at_ms,
        }
    }
}

/// Refusals are forbidden: the caller is known, their role may not do this.
impl From<ConversationRefusal> for ServiceError {
    fn from(refusal: ConversationRefusal) -> Self {
        ServiceError::forbidden(refusal.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mercato_runtime::error::ErrorCode;

    #[test]
    fn a_refusal_is_forbidden_with_its_message() {
        let e = ServiceError::from(ConversationRefusal::OnlyCustomersOpen);
        assert_eq!(e.code, ErrorCode::Forbidden);
        assert_eq!(e.message, "only customers open conversations");
    }
}
