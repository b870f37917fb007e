//! Conversations and their messages as values, who may see them, and request validation.
//!
//! A conversation belongs to one customer of one store. The customer sees and writes only
//! their own; the store's owner and staff see and write all of them. Whoever may not see a
//! conversation is told it does not exist, exactly as for a missing one, so that nothing leaks.

use mercato_proto::realtime as pb;
use mercato_runtime::auth::Role;
use mercato_runtime::error::{ServiceError, Validator};
use mercato_runtime::ids::StoreId;

mercato_runtime::define_id!(
    /// A conversation within one store.
    ConversationId
);
mercato_runtime::define_id!(
    /// One stored message.
    MessageId
);

pub const MAX_SUBJECT_CHARS: usize = 200;
pub const MAX_BODY_CHARS: usize = 4000;
pub const MAX_CLIENT_MSG_ID_CHARS: usize = 64;
pub const DEFAULT_MESSAGES_PER_PAGE: u32 = 50;
pub const MAX_MESSAGES_PER_PAGE: u32 = 200;
pub const DEFAULT_CONVERSATIONS_PER_PAGE: u32 = 20;
pub const MAX_CONVERSATIONS_PER_PAGE: u32 = 100;

/// Who is asking: a signed-in user with a known role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub role: Role,
}

impl Caller {
    /// A missing caller or user id is unauthenticated; a role other than owner, staff or
    /// customer is forbidden.
    pub fn from_proto(caller: Option<&pb::Caller>) -> Result<Caller, ServiceError> {
        let unauthenticated = || ServiceError::unauthenticated("conversations need a signed-in caller");
        let caller = caller.ok_or_else(unauthenticated)?;
        let user_id = caller.user_id.trim();
        if user_id.is_empty() {
            return Err(unauthenticated());
        }
        // Anonymous, or a role this build does not know: may do nothing here.
        let role = Role::from_proto(caller.role)
            .ok()
            .flatten()
            .ok_or_else(|| ServiceError::forbidden("only owners, staff and customers use conversations"))?;
        Ok(Caller {
            user_id: user_id.to_owned(),
            role,
        })
    }

    /// Only a customer opens a conversation, with their store.
    pub fn may_open(&self) -> Result<(), ServiceError> {
        match self.role {
            Role::Customer => Ok(()),
            Role::Owner | Role::Staff => Err(ServiceError::forbidden("only customers open conversations")),
        }
    }
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

fn missing() -> ServiceError {
    ServiceError::internal("validator passed with a missing field")
}

fn check_subject(v: &mut Validator, subject: &str) -> String {
    let subject = subject.trim();
    if subject.chars().count() > MAX_SUBJECT_CHARS {
        v.add("subject", "must be at most 200 characters");
    }
    subject.to_owned()
}

fn check_body(v: &mut Validator, body: &str) -> String {
    let body = body.trim();
    if body.is_empty() || body.chars().count() > MAX_BODY_CHARS {
        v.add("body", "must be 1-4000 characters (after trimming)");
    }
    body.to_owned()
}

fn check_client_msg_id(v: &mut Validator, id: &str) {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-');
    if id.is_empty() || id.len() > MAX_CLIENT_MSG_ID_CHARS || !id.chars().all(allowed) {
        v.add(
            "client_msg_id",
            "must be 1-64 characters of A-Z, a-z, 0-9, _ . : and -",
        );
    }
}

/// Clamps a requested page size: 0 asks for the default, more than the maximum gets the maximum.
fn page_size(requested: u32, default: u32, max: u32) -> i64 {
    i64::from(if requested == 0 {
        default
    } else {
        requested.min(max)
    })
}

/// The store and the subject of a new conversation.
pub fn open(req: &pb::OpenConversationRequest) -> Result<(StoreId, String), ServiceError> {
    let mut v = Validator::new();
    let store = v.check(StoreId::parse("store_id", &req.store_id));
    let subject = check_subject(&mut v, &req.subject);
    v.finish()?;
    Ok((store.ok_or_else(missing)?, subject))
}

/// The store and conversation a request names.
pub fn conversation_ref(
    store_id: &str,
    conversation_id: &str,
) -> Result<(StoreId, ConversationId), ServiceError> {
    let mut v = Validator::new();
    let store = v.check(StoreId::parse("store_id", store_id));
    let id = v.check(ConversationId::parse("conversation_id", conversation_id));
    v.finish()?;
    store.zip(id).ok_or_else(missing)
}

/// A message the caller posts.
pub fn post(req: &pb::PostMessageRequest, caller: &Caller) -> Result<(StoreId, NewMessage), ServiceError> {
    let mut v = Validator::new();
    let store = v.check(StoreId::parse("store_id", &req.store_id));
    let id = v.check(ConversationId::parse("conversation_id", &req.conversation_id));
    check_client_msg_id(&mut v, &req.client_msg_id);
    let body = check_body(&mut v, &req.body);
    v.finish()?;
    let (Some(store), Some(conversation_id)) = (store, id) else {
        return Err(missing());
    };
    let message = NewMessage {
        conversation_id,
        sender_id: caller.user_id.clone(),
        sender_role: caller.role,
        client_msg_id: req.client_msg_id.clone(),
        body,
    };
    Ok((store, message))
}

pub fn list_messages(
    req: &pb::ListMessagesRequest,
) -> Result<(StoreId, ConversationId, MessagePage), ServiceError> {
    let mut v = Validator::new();
    let store = v.check(StoreId::parse("store_id", &req.store_id));
    let id = v.check(ConversationId::parse("conversation_id", &req.conversation_id));
    if req.after_seq < 0 {
        v.add("after_seq", "must be 0 or more");
    }
    v.finish()?;
    let page = MessagePage {
        after_seq: req.after_seq,
        limit: page_size(req.limit, DEFAULT_MESSAGES_PER_PAGE, MAX_MESSAGES_PER_PAGE),
    };
    let (store, id) = store.zip(id).ok_or_else(missing)?;
    Ok((store, id, page))
}

pub fn list_conversations(
    req: &pb::ListConversationsRequest,
) -> Result<(StoreId, ConversationPage), ServiceError> {
    let mut v = Validator::new();
    let store = v.check(StoreId::parse("store_id", &req.store_id));
    if req.before_ms < 0 {
        v.add("before_ms", "must be 0 (the newest) or a time in milliseconds");
    }
    v.finish()?;
    let page = ConversationPage {
        before_ms: req.before_ms,
        limit: page_size(
            req.limit,
            DEFAULT_CONVERSATIONS_PER_PAGE,
            MAX_CONVERSATIONS_PER_PAGE,
        ),
    };
    Ok((store.ok_or_else(missing)?, page))
}

/// The store, conversation and seq of a read marker; whether the seq is beyond the last
/// message is known only to the storage.
pub fn mark_read(req: &pb::MarkReadRequest) -> Result<(StoreId, ConversationId, i64), ServiceError> {
    let mut v = Validator::new();
    let store = v.check(StoreId::parse("store_id", &req.store_id));
    let id = v.check(ConversationId::parse("conversation_id", &req.conversation_id));
    if req.seq < 0 {
        v.add("seq", "must be 0 or more");
    }
    v.finish()?;
    let (store, id) = store.zip(id).ok_or_else(missing)?;
    Ok((store, id, req.seq))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mercato_runtime::error::ErrorCode;

    fn caller(user_id: &str, role: i32) -> Option<pb::Caller> {
        Some(pb::Caller {
            user_id: user_id.into(),
            role,
        })
    }

    fn fields(e: &ServiceError) -> Vec<&str> {
        e.fields.iter().map(|f| f.field.as_str()).collect()
    }

    #[test]
    fn a_caller_needs_a_user_id_and_one_of_the_three_roles() {
        let code = |c: Option<pb::Caller>| Caller::from_proto(c.as_ref()).unwrap_err().code;
        assert_eq!(code(None), ErrorCode::Unauthenticated);
        let staff = Role::Staff.to_proto();
        assert_eq!(code(caller("  ", staff)), ErrorCode::Unauthenticated);
        assert_eq!(
            code(caller("u1", 42)),
            ErrorCode::Forbidden,
            "a role this build does not know"
        );
        assert_eq!(code(caller("u1", 0)), ErrorCode::Forbidden, "anonymous");
        let staff = Caller::from_proto(caller(" u1 ", staff).as_ref()).unwrap();
        assert_eq!((staff.user_id.as_str(), staff.role), ("u1", Role::Staff));
        assert_eq!(staff.may_open().unwrap_err().code, ErrorCode::Forbidden);
    }

    #[test]
    fn customers_see_their_own_conversations_and_staff_see_all() {
        let conversation = Conversation::open(StoreId::new(), "c1", String::new(), 0);
        let as_caller = |user_id: &str, role| Caller {
            user_id: user_id.into(),
            role,
        };
        assert!(can_see(&as_caller("c1", Role::Customer), &conversation));
        assert!(!can_see(&as_caller("c2", Role::Customer), &conversation));
        assert!(can_see(&as_caller("s1", Role::Staff), &conversation));
        assert!(can_see(&as_caller("o1", Role::Owner), &conversation));
    }

    #[test]
    fn every_bad_field_of_a_message_is_reported_at_once() {
        let customer = Caller {
            user_id: "c1".into(),
            role: Role::Customer,
        };
        let req = pb::PostMessageRequest {
            store_id: "nope".into(),
            conversation_id: "nope".into(),
            client_msg_id: "has space".into(),
            body: "   ".into(),
            ..Default::default()
        };
        let e = post(&req, &customer).unwrap_err();
        assert_eq!(e.code, ErrorCode::ValidationFailed);
        assert_eq!(
            fields(&e),
            ["store_id", "conversation_id", "client_msg_id", "body"]
        );
    }

    #[test]
    fn a_message_body_is_trimmed_and_its_client_id_kept_as_sent() {
        let customer = Caller {
            user_id: "c1".into(),
            role: Role::Customer,
        };
        let mut req = pb::PostMessageRequest {
            store_id: StoreId::new().to_string(),
            conversation_id: ConversationId::new().to_string(),
            client_msg_id: "web:1.a_B-2".into(),
            body: format!("  {}  ", "é".repeat(MAX_BODY_CHARS)),
            ..Default::default()
        };
        let (_, message) = post(&req, &customer).unwrap();
        assert_eq!(message.body.chars().count(), MAX_BODY_CHARS);
        assert_eq!(message.client_msg_id, "web:1.a_B-2");
        req.body.push('x');
        req.client_msg_id = "x".repeat(65);
        assert_eq!(
            fields(&post(&req, &customer).unwrap_err()),
            ["client_msg_id", "body"]
        );
    }

    #[test]
    fn page_sizes_default_when_zero_and_clamp_at_the_maximum() {
        let mut req = pb::ListMessagesRequest {
            store_id: StoreId::new().to_string(),
            conversation_id: ConversationId::new().to_string(),
            ..Default::default()
        };
        assert_eq!(list_messages(&req).unwrap().2.limit, 50);
        req.limit = 1000;
        assert_eq!(list_messages(&req).unwrap().2.limit, 200);
        req.after_seq = -1;
        assert_eq!(fields(&list_messages(&req).unwrap_err()), ["after_seq"]);
        let conversations = pb::ListConversationsRequest {
            store_id: StoreId::new().to_string(),
            limit: 101,
            ..Default::default()
        };
        assert_eq!(list_conversations(&conversations).unwrap().1.limit, 100);
    }

    #[test]
    fn a_subject_may_be_empty_but_not_longer_than_two_hundred_characters() {
        let mut req = pb::OpenConversationRequest {
            store_id: StoreId::new().to_string(),
            subject: "  ".into(),
            ..Default::default()
        };
        assert_eq!(open(&req).unwrap().1, "");
        req.subject = "x".repeat(201);
        assert_eq!(fields(&open(&req).unwrap_err()), ["subject"]);
    }
}
