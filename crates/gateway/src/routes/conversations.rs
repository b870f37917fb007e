//! Customer–store conversations over REST: open, list, history (`?after_seq=`), send, read
//! markers, and which staff are online. Live delivery is on `/v1/realtime`.

use crate::access::{Member, StoreScope};
use crate::dto_realtime::{
    ChatMessageView, ConversationPageView, ConversationView, ConversationsQuery, MarkReadBody,
    MessagePageView, MessagesQuery, OpenConversationBody, PostMessageBody, PresencePageView, PresenceView,
};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::GatewayState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use mercato_proto::realtime as pb;
use mercato_runtime::error::ServiceError;
use mercato_runtime::time::to_rfc3339;

/// Open a conversation with the store (customers).
#[utoipa::path(post, path = "/v1/stores/{store}/conversations", tag = "conversations",
    request_body = OpenConversationBody, params(("store" = String, Path, description = "store slug")),
    security(("bearer" = [])),
    responses((status = 201, body = ConversationView, description = "The new conversation"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "Only customers open conversations"),
              (status = 404, description = "No store has this slug, or the token is another store's"),
              (status = 422, description = "The subject is too long")))]
pub async fn open_conversation(
    State(state): State<GatewayState>,
    scope: StoreScope<Member>,
    ApiJson(body): ApiJson<OpenConversationBody>,
) -> Result<(StatusCode, Json<ConversationView>), ServiceError> {
    let conversation = state
        .realtime()
        .open_conversation(pb::OpenConversationRequest {
            caller: Some(scope.realtime_caller()),
            store_id: scope.store.id,
            subject: body.subject,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(conversation.into())))
}

/// Conversations, newest activity first: a customer's own, or all of the store's for staff.
#[utoipa::path(get, path = "/v1/stores/{store}/conversations", tag = "conversations",
    params(("store" = String, Path, description = "store slug"), ConversationsQuery), security(("bearer" = [])),
    responses((status = 200, body = ConversationPageView, description = "One page of conversations"),
              (status = 401, description = "No valid bearer token"),
              (status = 404, description = "No store has this slug, or the token is another store's"),
              (status = 422, description = "A parameter is out of range")))]
pub async fn list_conversations(
    State(state): State<GatewayState>,
    scope: StoreScope<Member>,
    ApiQuery(query): ApiQuery<ConversationsQuery>,
) -> Result<Json<ConversationPageView>, ServiceError> {
    let page = state
        .realtime()
        .list_conversations(pb::ListConversationsRequest {
            caller: Some(scope.realtime_caller()),
            store_id: scope.store.id,
            limit: query.limit.unwrap_or(0),
            before_ms: query.before_ms.unwrap_or(0),
        })
        .await?;
    Ok(Json(ConversationPageView {
        items: page.conversations.into_iter().map(Into::into).collect(),
    }))
}

/// One conversation, with the caller's read marker.
#[utoipa::path(get, path = "/v1/stores/{store}/conversations/{id}", tag = "conversations",
    params(("store" = String, Path, description = "store slug"), ("id" = uuid::Uuid, Path, description = "conversation id")),
    security(("bearer" = [])),
    responses((status = 200, body = ConversationView, description = "The conversation"),
              (status = 401, description = "No valid bearer token"),
              (status = 404, description = "No such store or conversation, or not the caller's"),
              (status = 422, description = "The conversation id is not a UUID")))]
pub async fn get_conversation(
    State(state): State<GatewayState>,
    scope: StoreScope<Member>,
    Path((_store, id)): Path<(String, String)>,
) -> Result<Json<ConversationView>, ServiceError> {
    let conversation = state
        .realtime()
        .get_conversation(pb::GetConversationRequest {
            caller: Some(scope.realtime_caller()),
            store_id: scope.store.id,
            conversation_id: id,
        })
        .await?;
    Ok(Json(conversation.into()))
}

/// History: messages after `after_seq`, in order, in pages.
#[utoipa::path(get, path = "/v1/stores/{store}/conversations/{id}/messages", tag = "conversations",
    params(("store" = String, Path, description = "store slug"), ("id" = uuid::Uuid, Path, description = "conversation id"),
           MessagesQuery),
    security(("bearer" = [])),
    responses((status = 200, body = MessagePageView, description = "One page of messages, in order"),
              (status = 401, description = "No valid bearer token"),
              (status = 404, description = "No such store or conversation, or not the caller's"),
              (status = 422, description = "A parameter is out of range, or `after_seq` is beyond the last message")))]
pub async fn list_messages(
    State(state): State<GatewayState>,
    scope: StoreScope<Member>,
    Path((_store, id)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<MessagesQuery>,
) -> Result<Json<MessagePageView>, ServiceError> {
    let page = state
        .realtime()
        .list_messages(pb::ListMessagesRequest {
            caller: Some(scope.realtime_caller()),
            store_id: scope.store.id,
            conversation_id: id,
            after_seq: query.after_seq.unwrap_or(0),
            limit: query.limit.unwrap_or(0),
        })
        .await?;
    Ok(Json(MessagePageView {
        items: page.messages.into_iter().map(Into::into).collect(),
        last_seq: page.last_seq,
        has_more: page.has_more,
    }))
}

/// Send a message. Resending the same `client_msg_id` returns the first message with 200.
#[utoipa::path(post, path = "/v1/stores/{store}/conversations/{id}/messages", tag = "conversations",
    request_body = PostMessageBody,
    params(("store" = String, Path, description = "store slug"), ("id" = uuid::Uuid, Path, description = "conversation id")),
    security(("bearer" = [])),
    responses((status = 201, body = ChatMessageView, description = "The message, sent"),
              (status = 200, body = ChatMessageView, description = "A resend: the message first sent with this `client_msg_id`"),
              (status = 401, description = "No valid bearer token"),
              (status = 404, description = "No such store or conversation, or not the caller's"),
              (status = 422, description = "A field is invalid; `errors` names each one")))]
pub async fn post_message(
    State(state): State<GatewayState>,
    scope: StoreScope<Member>,
    Path((_store, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<PostMessageBody>,
) -> Result<(StatusCode, Json<ChatMessageView>), ServiceError> {
    let posted = state
        .realtime()
        .post_message(pb::PostMessageRequest {
            caller: Some(scope.realtime_caller()),
            store_id: scope.store.id,
            conversation_id: id,
            client_msg_id: body.client_msg_id,
            body: body.body,
        })
        .await?;
    let message = posted
        .message
        .ok_or_else(|| ServiceError::new(mercato_runtime::error::ErrorCode::Internal, "no message"))?;
    let status = if posted.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(message.into())))
}

/// Move the caller's read marker forward to `seq`.
#[utoipa::path(post, path = "/v1/stores/{store}/conversations/{id}/read", tag = "conversations",
    request_body = MarkReadBody,
    params(("store" = String, Path, description = "store slug"), ("id" = uuid::Uuid, Path, description = "conversation id")),
    security(("bearer" = [])),
    responses((status = 200, body = ConversationView, description = "The conversation, with the read marker moved"),
              (status = 401, description = "No valid bearer token"),
              (status = 404, description = "No such store or conversation, or not the caller's"),
              (status = 422, description = "`seq` is negative or beyond the last message")))]
pub async fn mark_read(
    State(state): State<GatewayState>,
    scope: StoreScope<Member>,
    Path((_store, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<MarkReadBody>,
) -> Result<Json<ConversationView>, ServiceError> {
    let conversation = state
        .realtime()
        .mark_read(pb::MarkReadRequest {
            caller: Some(scope.realtime_caller()),
            store_id: scope.store.id,
            conversation_id: id,
            seq: body.seq,
        })
        .await?;
    Ok(Json(conversation.into()))
}

/// Which of the store's staff are online or away (any signed-in user of the store).
#[utoipa::path(get, path = "/v1/stores/{store}/presence", tag = "conversations",
    params(("store" = String, Path, description = "store slug")), security(("bearer" = [])),
    responses((status = 200, body = PresencePageView, description = "The staff online or away"),
              (status = 401, description = "No valid bearer token"),
              (status = 404, description = "No store has this slug, or the token is another store's")))]
pub async fn list_presence(
    State(state): State<GatewayState>,
    scope: StoreScope<Member>,
) -> Result<Json<PresencePageView>, ServiceError> {
    let presence = state
        .realtime()
        .list_presence(pb::ListPresenceRequest {
            store_id: scope.store.id,
        })
        .await?;
    Ok(Json(PresencePageView {
        staff: presence
            .staff
            .into_iter()
            .map(|p| PresenceView {
                user_id: p.user_id,
                status: p.status,
                expires_at: to_rfc3339(p.expires_at_ms),
            })
            .collect(),
    }))
}
