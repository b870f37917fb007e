//! The `Notifications` gRPC contract, each method a thin call into its part. Who may ask is the
//! gateway's decision (owners for endpoints and templates; any signed-in member for their own
//! e-mail preferences; nobody for `Unsubscribe`, whose token is the proof).

use crate::service::NotificationsService;
use mercato_proto::jobs::{Job, JobRequest, ListJobsRequest, ListJobsResponse};
use mercato_proto::notifications::notifications_server::Notifications;
use mercato_proto::notifications::*;
use tonic::{Request, Response, Status};

type Answer<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl Notifications for NotificationsService {
    async fn create_endpoint(&self, r: Request<CreateEndpointRequest>) -> Answer<EndpointWithSecret> {
        Ok(Response::new(
            self.webhooks.create_endpoint(r.into_inner()).await?,
        ))
    }

    async fn list_endpoints(&self, r: Request<ListEndpointsRequest>) -> Answer<ListEndpointsResponse> {
        Ok(Response::new(self.webhooks.list_endpoints(r.into_inner()).await?))
    }

    async fn get_endpoint(&self, r: Request<EndpointRequest>) -> Answer<Endpoint> {
        Ok(Response::new(self.webhooks.get_endpoint(r.into_inner()).await?))
    }

    async fn update_endpoint(&self, r: Request<UpdateEndpointRequest>) -> Answer<Endpoint> {
        Ok(Response::new(
            self.webhooks.update_endpoint(r.into_inner()).await?,
        ))
    }

    async fn delete_endpoint(&self, r: Request<EndpointRequest>) -> Answer<Deleted> {
        Ok(Response::new(
            self.webhooks.delete_endpoint(r.into_inner()).await?,
        ))
    }

    async fn rotate_endpoint_secret(&self, r: Request<RotateSecretRequest>) -> Answer<EndpointWithSecret> {
        Ok(Response::new(self.webhooks.rotate_secret(r.into_inner()).await?))
    }

    async fn send_test_event(&self, r: Request<EndpointRequest>) -> Answer<Delivery> {
        Ok(Response::new(
            self.webhooks.send_test_event(r.into_inner()).await?,
        ))
    }

    async fn list_deliveries(&self, r: Request<ListDeliveriesRequest>) -> Answer<ListDeliveriesResponse> {
        Ok(Response::new(
            self.webhooks.list_deliveries(r.into_inner()).await?,
        ))
    }

    async fn get_delivery(&self, r: Request<DeliveryRequest>) -> Answer<Delivery> {
        Ok(Response::new(self.webhooks.get_delivery(r.into_inner()).await?))
    }

    async fn redeliver(&self, r: Request<DeliveryRequest>) -> Answer<Delivery> {
        Ok(Response::new(self.webhooks.redeliver(r.into_inner()).await?))
    }

    async fn list_event_types(&self, _r: Request<EventTypesRequest>) -> Answer<EventTypes> {
        let types = crate::EVENT_TYPES
            .iter()
            .map(|t| EventType {
                name: t.name.to_owned(),
                description: t.description.to_owned(),
            })
            .collect();
        Ok(Response::new(EventTypes { types }))
    }

    async fn get_email_preferences(&self, r: Request<EmailPreferencesRequest>) -> Answer<EmailPreferences> {
        Ok(Response::new(self.email.preferences(r.into_inner()).await?))
    }

    async fn set_email_preferences(
        &self,
        r: Request<SetEmailPreferencesRequest>,
    ) -> Answer<EmailPreferences> {
        Ok(Response::new(self.email.set_preferences(r.into_inner()).await?))
    }

    async fn unsubscribe(&self, r: Request<UnsubscribeRequest>) -> Answer<Unsubscribed> {
        Ok(Response::new(self.email.unsubscribe(r.into_inner()).await?))
    }

    async fn list_email_templates(
        &self,
        r: Request<EmailTemplatesRequest>,
    ) -> Answer<ListEmailTemplatesResponse> {
        Ok(Response::new(self.email.list_templates(r.into_inner()).await?))
    }

    async fn get_email_template(&self, r: Request<EmailTemplateRequest>) -> Answer<EmailTemplate> {
        Ok(Response::new(self.email.get_template(r.into_inner()).await?))
    }

    async fn put_email_template(&self, r: Request<PutEmailTemplateRequest>) -> Answer<EmailTemplate> {
        Ok(Response::new(self.email.put_template(r.into_inner()).await?))
    }

    async fn delete_email_template(&self, r: Request<EmailTemplateRequest>) -> Answer<EmailTemplate> {
        Ok(Response::new(self.email.delete_template(r.into_inner()).await?))
    }

    async fn preview_email_template(&self, r: Request<PutEmailTemplateRequest>) -> Answer<EmailPreview> {
        Ok(Response::new(self.email.preview_template(r.into_inner()).await?))
    }

    async fn list_jobs(&self, r: Request<ListJobsRequest>) -> Answer<ListJobsResponse> {
        Ok(Response::new(self.jobs.list(r.into_inner()).await?))
    }

    async fn get_job(&self, r: Request<JobRequest>) -> Answer<Job> {
        Ok(Response::new(self.jobs.get(r.into_inner()).await?))
    }

    async fn cancel_job(&self, r: Request<JobRequest>) -> Answer<Job> {
        Ok(Response::new(self.jobs.cancel(r.into_inner()).await?))
    }

    async fn retry_job(&self, r: Request<JobRequest>) -> Answer<Job> {
        Ok(Response::new(self.jobs.retry(r.into_inner()).await?))
    }
}
