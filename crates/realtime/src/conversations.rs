//! Conversation use cases (stub signatures).

use crate::service::RealtimeService;
use mercato_proto::realtime::*;
use mercato_runtime::error::{ErrorCode, ServiceError};

fn stub() -> ServiceError {
    ServiceError::new(ErrorCode::Unavailable, "not yet")
}

impl RealtimeService {
    pub async fn open_conversation(&self, _r: OpenConversationRequest) -> Result<Conversation, ServiceError> {
        Err(stub())
    }
    pub async fn get_conversation(&self, _r: GetConversationRequest) -> Result<Conversation, ServiceError> {
        Err(stub())
    }
    pub async fn list_conversations(
        &self,
        _r: ListConversationsRequest,
    ) -> Result<ListConversationsResponse, ServiceError> {
        Err(stub())
    }
    pub async fn post_message(&self, _r: PostMessageRequest) -> Result<PostMessageResponse, ServiceError> {
        Err(stub())
    }
    pub async fn list_messages(&self, _r: ListMessagesRequest) -> Result<ListMessagesResponse, ServiceError> {
        Err(stub())
    }
    pub async fn mark_read(&self, _r: MarkReadRequest) -> Result<Conversation, ServiceError> {
        Err(stub())
    }
    pub async fn list_presence(&self, _r: ListPresenceRequest) -> Result<ListPresenceResponse, ServiceError> {
        Err(stub())
    }
}
