//! Request validation at the edge: the caller a `realtime.proto` request names (signed in:
//! 401; a known role: 403), and its fields (422, every bad field at once), checked into the
//! domain's values.

use crate::domain::{Caller, ConversationId, ConversationPage, MessagePage, NewMessage};
use mercato_proto::realtime as pb;
use mercato_runtime::auth::Role;
use mercato_runtime::error::{ServiceError, Validator};
use mercato_runtime::ids::StoreId;
use mercato_runtime::text::{Lines, refuse_controls};

const MAX_SUBJECT_CHARS: usize = 200;
const MAX_BODY_CHARS: usize = 4000;
const MAX_CLIENT_MSG_ID_CHARS: usize = 64;
const DEFAULT_MESSAGES_PER_PAGE: u32 = 50;
const MAX_MESSAGES_PER_PAGE: u32 = 200;
const DEFAULT_CONVERSATIONS_PER_PAGE: u32 = 20;
const MAX_CONVERSATIONS_PER_PAGE: u32 = 100;

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
}

fn missing() -> ServiceError {
    ServiceError::internal("validator passed with a missing field")
}

fn check_subject(v: &mut Validator, subject: &str) -> String {
    let subject = subject.trim();
    if subject.chars().count() > MAX_SUBJECT_CHARS {
        v.add("subject", "must be at most 200 characters");
    }
    v.check(refuse_controls("subject", subject, Lines::One));
    subject.to_owned()
}

fn check_body(v: &mut Validator, body: &str) -> String {
    let body = body.trim();
    if body.is_empty() || body.chars().count() > MAX_BODY_CHARS {
        v.add("body", "must be 1-4000 characters (after trimming)");
    }
    v.check(refuse_controls("body", body, Lines::Many));
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
    #[test]
    fn control_characters_are_refused_in_subjects_and_bodies_but_line_feeds_and_tabs_pass_in_bodies() {
        let customer = Caller {
            user_id: "c1".into(),
            role: Role::Customer,
        };
        let open_req = pb::OpenConversationRequest {
            store_id: StoreId::new().to_string(),
            subject: "Order\0 42".into(),
            ..Default::default()
        };
        assert_eq!(fields(&open(&open_req).unwrap_err()), ["subject"]);
        let mut req = pb::PostMessageRequest {
            store_id: StoreId::new().to_string(),
            conversation_id: ConversationId::new().to_string(),
            client_msg_id: "m1".into(),
            body: "Hello\n\tthere".into(),
            ..Default::default()
        };
        assert_eq!(post(&req, &customer).unwrap().1.body, "Hello\n\tthere");
        for bad in ["a\0b", "a\u{1b}[2Jb", "a\rb", "a\u{9b}b"] {
            req.body = bad.into();
            assert_eq!(fields(&post(&req, &customer).unwrap_err()), ["body"], "{bad:?}");
        }
    }
}
