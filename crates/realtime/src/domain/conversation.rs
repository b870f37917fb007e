//! Conversations and their messages as values, and who may see and open them.
//!
//! A conversation belongs to one customer of one store. The customer sees and writes only
//! their own; the store's owner and staff see and write all of them. Whoever may not see a
//! conversation is told it does not exist, exactly as for a missing one, so that nothing leaks.

use mercato_runtime::auth::Role;
use mercato_runtime::ids::StoreId;

mercato_runtime::define_id!(
    /// A conversation within one store.
    ConversationId
);
mercato_runtime::define_id!(
    /// One stored message.
    MessageId
);

/// Who is asking: a signed-in user with a known role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub role: Role,
}

impl Caller {
    /// Only a customer opens a conversation, with their store.
    pub fn may_open(&self) -> Result<(), ConversationRefusal> {
        match self.role {
            Role::Customer => Ok(()),
            Role::Owner | Role::Staff => Err(ConversationRefusal::OnlyCustomersOpen),
        }
    }
}

/// Why a caller may not do what they asked with conversations; the service answers each as
/// its contract says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConversationRefusal {
    /// Owners and staff answer conversations; they do not open them.
    #[error("only customers open conversations")]
    OnlyCustomersOpen,
}

/// One conversation as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversation {
    pub id: ConversationId,
    pub store_id: StoreId,
    pub customer_id: String,
    pub subject: String,
    /// The seq of the newest message; 0 when there is none.
    pub last_seq: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl Conversation {
    /// A new, empty conversation of `customer_id`.
    pub fn open(store_id: StoreId, customer_id: &str, subject: String, now_ms: i64) -> Conversation {
        Conversation {
            id: ConversationId::new(),
            store_id,
            customer_id: customer_id.to_owned(),
            subject,
            last_seq: 0,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
        }
    }
}

/// Whether the caller may see (and so write to) the conversation: its customer, or any owner or
/// staff member of the store it belongs to (store scoping is the storage's job).
pub fn can_see(caller: &Caller, conversation: &Conversation) -> bool {
    caller.role.is_store_staff() || conversation.customer_id == caller.user_id
}

/// A conversation as one user sees it: with their read marker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationView {
    pub conversation: Conversation,
    /// The highest seq the user marked read; 0 when they never did.
    pub read_seq: i64,
}

/// A validated message, before it has a seq.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessage {
    pub conversation_id: ConversationId,
    pub sender_id: String,
    pub sender_role: Role,
    /// The sender's key for the message: resending it returns the first one.
    pub client_msg_id: String,
    pub body: String,
}

/// One stored message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub seq: i64,
    pub sender_id: String,
    pub sender_role: Role,
    pub client_msg_id: String,
    pub body: String,
    pub sent_at_ms: i64,
}

/// Which messages to list: those after `after_seq`, at most `limit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessagePage {
    pub after_seq: i64,
    pub limit: i64,
}

/// Which conversations to list: newest updated first, updated before `before_ms` (when above
/// 0), at most `limit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConversationPage {
    pub before_ms: i64,
    pub limit: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_caller(user_id: &str, role: Role) -> Caller {
        Caller {
            user_id: user_id.into(),
            role,
        }
    }

    #[test]
    fn only_customers_open_conversations() {
        assert_eq!(as_caller("c1", Role::Customer).may_open(), Ok(()));
        for role in [Role::Staff, Role::Owner] {
            assert_eq!(
                as_caller("s1", role).may_open(),
                Err(ConversationRefusal::OnlyCustomersOpen)
            );
        }
    }

    #[test]
    fn customers_see_their_own_conversations_and_staff_see_all() {
        let conversation = Conversation::open(StoreId::new(), "c1", String::new(), 0);
        assert!(can_see(&as_caller("c1", Role::Customer), &conversation));
        assert!(!can_see(&as_caller("c2", Role::Customer), &conversation));
        assert!(can_see(&as_caller("s1", Role::Staff), &conversation));
        assert!(can_see(&as_caller("o1", Role::Owner), &conversation));
    }
}
