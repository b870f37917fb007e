//! REST shapes of conversations, their messages and staff presence.

use mercato_proto::realtime as pb;
use mercato_runtime::time::to_rfc3339;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct ConversationView {
    pub id: String,
    pub customer_id: String,
    pub subject: String,
    /// The newest message's sequence number (0: none yet).
    pub last_seq: i64,
    /// The caller's read marker.
    pub read_seq: i64,
    /// Messages after the caller's read marker.
    pub unread: i64,
    /// Subscribe to this on `/v1/realtime` for live messages.
    pub channel: String,
    pub created_at: String,
    pub updated_at: String,
    pub updated_at_ms: i64,
}

impl From<pb::Conversation> for ConversationView {
    fn from(c: pb::Conversation) -> Self {
        ConversationView {
            channel: format!("conversation:{}", c.id),
            id: c.id,
            customer_id: c.customer_id,
            subject: c.subject,
            last_seq: c.last_seq,
            read_seq: c.read_seq,
            unread: (c.last_seq - c.read_seq).max(0),
            created_at: to_rfc3339(c.created_at_ms),
            updated_at: to_rfc3339(c.updated_at_ms),
            updated_at_ms: c.updated_at_ms,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ConversationPageView {
    pub items: Vec<ConversationView>,
}

#[derive(Serialize, ToSchema)]
pub struct ChatMessageView {
    pub id: String,
    pub seq: i64,
    pub sender_id: String,
    pub sender_role: String,
    pub client_msg_id: String,
    pub body: String,
    pub sent_at: String,
    pub sent_at_ms: i64,
}

impl From<pb::ChatMessage> for ChatMessageView {
    fn from(m: pb::ChatMessage) -> Self {
        ChatMessageView {
            id: m.id,
            seq: m.seq,
            sender_id: m.sender_id,
            sender_role: mercato_proto::names::role_value(m.sender_role).to_owned(),
            client_msg_id: m.client_msg_id,
            body: m.body,
            sent_at: to_rfc3339(m.sent_at_ms),
            sent_at_ms: m.sent_at_ms,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MessagePageView {
    pub items: Vec<ChatMessageView>,
    pub last_seq: i64,
    /// More messages follow: ask again with `after_seq` = the last item's seq.
    pub has_more: bool,
}

#[derive(Serialize, ToSchema)]
pub struct PresenceView {
    pub user_id: String,
    /// `online` or `away`.
    pub status: String,
    pub expires_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct PresencePageView {
    pub staff: Vec<PresenceView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"subject": "Where is my order?"})))]
pub struct OpenConversationBody {
    /// At most 200 characters.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub subject: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"client_msg_id": "m-0001", "body": "Hello, is the blue shirt back in stock?"})))]
pub struct PostMessageBody {
    /// Chosen by the client, unique per message: sending it again returns the first message.
    /// 1–64 characters of `A-Z a-z 0-9 _ . : -`.
    #[schema(pattern = "^[A-Za-z0-9_.:-]{1,64}$")]
    pub client_msg_id: String,
    /// 1–4000 characters after trimming.
    #[schema(pattern = r"\S", max_length = 4000)]
    pub body: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"seq": 0})))]
pub struct MarkReadBody {
    #[serde(deserialize_with = "crate::dto::whole::i64")]
    #[schema(minimum = 0)]
    pub seq: i64,
}

#[derive(Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConversationsQuery {
    /// Conversations per page; the default when absent or 0, larger values count as the maximum.
    #[param(value_type = Option<u64>, maximum = 4294967295.0)]
    pub limit: Option<u32>,
    /// Conversations updated before this time (epoch ms), for the next page; 0: the newest.
    #[param(minimum = 0)]
    pub before_ms: Option<i64>,
}

#[derive(Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    /// Messages with a greater sequence number (default 0: from the start).
    #[param(minimum = 0)]
    pub after_seq: Option<i64>,
    /// Messages per page; the default when absent or 0, larger values count as the maximum.
    #[param(value_type = Option<u64>, maximum = 4294967295.0)]
    pub limit: Option<u32>,
}
