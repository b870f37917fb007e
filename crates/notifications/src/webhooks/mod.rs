//! Webhooks: endpoints a store's owner registers, and the deliveries of the events they
//! subscribed to, signed as the Standard Webhooks specification says.
//!
//! TODO(webhooks helper): the layout, guarantees and implementation. The signatures below are
//! the contract the rest of the crate (grpc, consumer, service) calls.

pub(crate) mod schema;

use crate::consumer::Effects;
use crate::email::Email;
use crate::outbound::Outbound;
use mercato_proto::events::EventEnvelope;
use mercato_proto::notifications::*;
use mercato_runtime::config::WebhookSettings;
use mercato_runtime::db::{Db, DbError, Tx};
use mercato_runtime::error::ServiceError;
use mercato_runtime::kek::KeyEncryptionKey;
use mercato_runtime::shutdown::Shutdown;
use std::sync::Arc;
use tokio::sync::Notify;

/// The webhooks part of the service.
pub struct Webhooks {
    db: Db,
    outbox: Arc<Notify>,
    settings: WebhookSettings,
    kek: Arc<KeyEncryptionKey>,
    outbound: Arc<Outbound>,
    /// Tells owners of an endpoint disabled for failing.
    email: Arc<Email>,
    /// Rung when deliveries became due.
    dispatcher: Arc<Notify>,
}

fn todo() -> ServiceError {
    ServiceError::unavailable("webhooks are not built yet")
}

impl Webhooks {
    pub fn new(
        db: Db,
        outbox: Arc<Notify>,
        settings: WebhookSettings,
        kek: Arc<KeyEncryptionKey>,
        outbound: Arc<Outbound>,
        email: Arc<Email>,
    ) -> Self {
        Webhooks {
            db,
            outbox,
            settings,
            kek,
            outbound,
            email,
            dispatcher: Arc::new(Notify::new()),
        }
    }

    /// Starts the dispatcher and the retention sweep.
    pub fn start(self: &Arc<Self>, _shutdown: Shutdown) {}

    /// Wakes the dispatcher (after a commit that made deliveries due).
    pub fn wake(&self) {
        self.dispatcher.notify_one();
    }

    /// Inside the consumer's transaction: records a delivery of `event` for every enabled
    /// endpoint of its store subscribed to its type.
    pub(crate) fn on_event(
        &self,
        _tx: &mut Tx<'_>,
        _event: &EventEnvelope,
        _now: i64,
    ) -> Result<Effects, DbError> {
        Ok(Effects::default())
    }

    pub async fn create_endpoint(
        &self,
        _r: CreateEndpointRequest,
    ) -> Result<EndpointWithSecret, ServiceError> {
        Err(todo())
    }

    pub async fn list_endpoints(
        &self,
        _r: ListEndpointsRequest,
    ) -> Result<ListEndpointsResponse, ServiceError> {
        Err(todo())
    }

    pub async fn get_endpoint(&self, _r: EndpointRequest) -> Result<Endpoint, ServiceError> {
        Err(todo())
    }

    pub async fn update_endpoint(&self, _r: UpdateEndpointRequest) -> Result<Endpoint, ServiceError> {
        Err(todo())
    }

    pub async fn delete_endpoint(&self, _r: EndpointRequest) -> Result<Deleted, ServiceError> {
        Err(todo())
    }

    pub async fn rotate_secret(&self, _r: RotateSecretRequest) -> Result<EndpointWithSecret, ServiceError> {
        Err(todo())
    }

    pub async fn send_test_event(&self, _r: EndpointRequest) -> Result<Delivery, ServiceError> {
        Err(todo())
    }

    pub async fn list_deliveries(
        &self,
        _r: ListDeliveriesRequest,
    ) -> Result<ListDeliveriesResponse, ServiceError> {
        Err(todo())
    }

    pub async fn get_delivery(&self, _r: DeliveryRequest) -> Result<Delivery, ServiceError> {
        Err(todo())
    }

    pub async fn redeliver(&self, _r: DeliveryRequest) -> Result<Delivery, ServiceError> {
        Err(todo())
    }
}
