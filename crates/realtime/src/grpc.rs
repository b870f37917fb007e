//! The `Realtime` gRPC contract, each method a thin call into its use case.

use crate::service::RealtimeService;
use mercato_proto::realtime::realtime_server::Realtime;
use mercato_proto::realtime::*;
use tonic::{Request, Response, Status};

#[tonic::async_trait]
impl Realtime for RealtimeService {
    async fn open_conversation(
        &self,
        r: Request<OpenConversationRequest>,
    ) -> Result<Response<Conversation>, Status> {
        Ok(Response::new(self.open_conversation(r.into_inner()).await?))
    }

    async fn get_conversation(
        &self,
        r: Request<GetConversationRequest>,
    ) -> Result<Response<Conversation>, Status> {
        Ok(Response::new(self.get_conversation(r.into_inner()).await?))
    }

    async fn list_conversations(
        &self,
        r: Request<ListConversationsRequest>,
    ) -> Result<Response<ListConversationsResponse>, Status> {
        Ok(Response::new(self.list_conversations(r.into_inner()).await?))
    }

    async fn post_message(
        &self,
        r: Request<PostMessageRequest>,
    ) -> Result<Response<PostMessageResponse>, Status> {
        Ok(Response::new(self.post_message(r.into_inner()).await?))
    }

    async fn list_messages(
        &self,
        r: Request<ListMessagesRequest>,
    ) -> Result<Response<ListMessagesResponse>, Status> {
        Ok(Response::new(self.list_messages(r.into_inner()).await?))
    }

    async fn mark_read(&self, r: Request<MarkReadRequest>) -> Result<Response<Conversation>, Status> {
        Ok(Response::new(self.mark_read(r.into_inner()).await?))
    }

    async fn list_presence(
        &self,
        r: Request<ListPresenceRequest>,
    ) -> Result<Response<ListPresenceResponse>, Status> {
        Ok(Response::new(self.list_presence(r.into_inner()).await?))
    }
}
