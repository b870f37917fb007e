//! The consumers: one group per subject family, each taking what the bus has ready (up to
//! [`MAX_BATCH`] events) into one write transaction, acknowledged once it commits and sent
//! back for redelivery if it fails (the inbox makes the retry harmless).

use crate::service::AnalyticsService;
use futures::FutureExt;
use mercato_proto::events::EventEnvelope;
use mercato_proto::subjects;
use mercato_runtime::bus::{Delivery, Incoming, SharedBus};
use mercato_runtime::shutdown::Shutdown;
use prost::Message;
use std::sync::Arc;

/// Most events applied in one transaction.
pub const MAX_BATCH: usize = 512;

/// The subjects followed and their consumer groups.
const FOLLOWED: [(&str, &str); 6] = [
    (subjects::orders::ALL, "analytics-orders"),
    (subjects::inventory::LOW_STOCK, "analytics-low-stock"),
    (subjects::inventory::STOCK_CHANGED, "analytics-stock"),
    (subjects::identity::STORE_PROVISIONED, "analytics-stores"),
    (subjects::identity::STORE_CHANGED, "analytics-store-changes"),
    (subjects::gateway::PRODUCT_VIEWS_COUNTED, "analytics-views"),
];

impl AnalyticsService {
    pub(crate) async fn start_consumers(
        self: &Arc<Self>,
        bus: SharedBus,
        shutdown: Shutdown,
    ) -> anyhow::Result<()> {
        for (filter, group) in FOLLOWED {
            let sub = bus.subscribe(filter, Delivery::Group(group.to_owned())).await?;
            let (service, stop) = (self.clone(), shutdown.clone());
            tokio::spawn(async move { service.consume(sub, group, stop).await });
        }
        Ok(())
    }

    async fn consume(&self, mut sub: mercato_runtime::bus::Subscription, group: &str, shutdown: Shutdown) {
        loop {
            let first = tokio::select! {
                m = sub.next() => match m { Some(m) => m, None => break },
                () = shutdown.cancelled() => break,
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match sub.next().now_or_never() {
                    Some(Some(m)) => batch.push(m),
                    _ => break,
                }
            }
            let (messages, events) = decode(batch).await;
            match self.ingest(events.clone()).await {
                Ok(()) => {
                    for m in messages {
                        m.ack().await;
                    }
                }
                // One at a time, so that an event that cannot be applied holds up only itself.
                Err(e) if messages.len() > 1 => {
                    tracing::debug!(consumer = group, error = %e, events = messages.len(), "analytics batch failed; applying its events one by one");
                    for (m, event) in messages.into_iter().zip(events) {
                        self.settle(m, vec![event], group).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(consumer = group, error = %e, "analytics event failed; will retry");
                    for m in messages {
                        m.nack().await;
                    }
                }
            }
        }
    }
}

impl AnalyticsService {
    /// Applies `events` and acknowledges `message`, or asks for its redelivery.
    async fn settle(&self, message: Incoming, events: Vec<EventEnvelope>, group: &str) {
        match self.ingest(events).await {
            Ok(()) => message.ack().await,
            Err(e) => {
                tracing::warn!(consumer = group, subject = %message.subject, error = %e, "analytics event failed; will retry");
                message.nack().await;
            }
        }
    }
}

/// The envelopes of `batch`; malformed messages are acknowledged and dropped (redelivering
/// them cannot help).
async fn decode(batch: Vec<Incoming>) -> (Vec<Incoming>, Vec<EventEnvelope>) {
    let (mut messages, mut events) = (Vec::new(), Vec::new());
    for m in batch {
        match EventEnvelope::decode(m.payload.clone()) {
            Ok(e) => {
                events.push(e);
                messages.push(m);
            }
            Err(e) => {
                tracing::warn!(subject = %m.subject, error = %e, "dropping malformed event");
                m.ack().await;
            }
        }
    }
    (messages, events)
}
