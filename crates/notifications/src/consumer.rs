//! The consumer: one group per followed subject family, each taking what the bus has ready (up
//! to [`MAX_BATCH`] events) into one write transaction, in which every event not seen before
//! (the inbox) updates the directory of stores and accounts, enqueues the e-mails it causes and
//! records the webhook deliveries it causes. Acknowledged once that commits; on failure the
//! events are applied one by one, so one that cannot be applied holds up only itself.

use crate::service::NotificationsService;
use futures::FutureExt;
use mercato_proto::events::EventEnvelope;
use mercato_proto::subjects;
use mercato_runtime::bus::{Delivery, Incoming, SharedBus, Subscription};
use mercato_runtime::db::DbError;
use mercato_runtime::inbox;
use mercato_runtime::shutdown::Shutdown;
use prost::Message;
use std::sync::Arc;

/// Most events applied in one transaction.
const MAX_BATCH: usize = 256;

/// The inbox name of every notifications consumer (event ids are unique across subjects).
const INBOX: &str = "notifications";

/// The subjects followed and their consumer groups.
const FOLLOWED: [(&str, &str); 6] = [
    (subjects::identity::ALL, "notifications-identity"),
    (subjects::orders::ALL, "notifications-orders"),
    (subjects::payments::ALL, "notifications-payments"),
    (subjects::inventory::STOCK_CHANGED, "notifications-stock"),
    (subjects::inventory::LOW_STOCK, "notifications-low-stock"),
    (subjects::catalog::ALL, "notifications-catalog"),
];

/// The subjects the directory and the e-mails act on (`email::directory`, `email::decide`);
/// webhooks act on those of `event_types`.
const DIRECTORY_AND_EMAIL: [&str; 8] = [
    subjects::identity::STORE_PROVISIONED,
    subjects::identity::STORE_CHANGED,
    subjects::identity::ACCOUNT_CREATED,
    subjects::identity::ACCOUNT_CHANGED,
    subjects::orders::ORDER_CONFIRMED,
    subjects::orders::ORDER_CANCELLED,
    subjects::orders::ORDER_REFUNDED,
    subjects::payments::PAYMENT_DECLINED,
];

/// Whether an event of `subject` can have any effect here. Those that cannot (carts, the
/// funnel, jobs, reservations…) are acknowledged without a transaction or an inbox row.
fn matters(subject: &str) -> bool {
    DIRECTORY_AND_EMAIL.contains(&subject) || crate::event_types::for_subject(subject).is_some()
}

/// What a committed batch started, so the right workers are woken.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Effects {
    pub emails: bool,
    pub deliveries: bool,
}

impl Effects {
    fn add(&mut self, other: Effects) {
        self.emails |= other.emails;
        self.deliveries |= other.deliveries;
    }
}

impl NotificationsService {
    pub(crate) async fn start_consumer(
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

    async fn consume(&self, mut sub: Subscription, group: &str, shutdown: Shutdown) {
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
            match self.apply(events.clone()).await {
                Ok(()) => {
                    for m in messages {
                        m.ack().await;
                    }
                }
                Err(e) if messages.len() > 1 => {
                    tracing::debug!(consumer = group, error = %e, events = messages.len(), "notifications batch failed; applying its events one by one");
                    for (m, event) in messages.into_iter().zip(events) {
                        match self.apply(vec![event]).await {
                            Ok(()) => m.ack().await,
                            Err(e) => {
                                tracing::warn!(consumer = group, subject = %m.subject, error = %e, "notifications event failed; will retry");
                                m.nack().await;
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(consumer = group, error = %e, "notifications event failed; will retry");
                    for m in messages {
                        m.nack().await;
                    }
                }
            }
        }
    }

    /// Applies `events` in one transaction (events seen before are skipped), then wakes the
    /// e-mail runner and the dispatcher if the batch gave them work. Public for tests, which
    /// replay events through it.
    pub async fn apply(&self, mut events: Vec<EventEnvelope>) -> Result<(), DbError> {
        events.retain(|e| matters(&e.subject));
        if events.is_empty() {
            return Ok(());
        }
        let (email, webhooks) = (self.email.clone(), self.webhooks.clone());
        let now = mercato_runtime::time::now_ms();
        let effects = self
            .db
            .write("notifications_apply", move |tx| {
                let mut effects = Effects::default();
                for event in &events {
                    if !inbox::first_delivery(tx, INBOX, &event.id)? {
                        continue;
                    }
                    email.directory_apply(tx, event, now)?;
                    effects.add(email.on_event(tx, event, now)?);
                    effects.add(webhooks.on_event(tx, event, now)?);
                }
                Ok::<_, DbError>(effects)
            })
            .await?;
        if effects.emails {
            self.jobs.wake();
        }
        if effects.deliveries {
            self.webhooks.wake();
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_events_that_can_have_effects_matter() {
        assert!(matters(subjects::orders::ORDER_CONFIRMED));
        assert!(matters(subjects::identity::ACCOUNT_CREATED));
        assert!(matters(subjects::inventory::STOCK_CHANGED), "a webhook type");
        assert!(!matters(subjects::orders::CART_STARTED));
        assert!(!matters(subjects::inventory::STOCK_RESERVED));
        assert!(!matters(subjects::orders::JOB_CHANGED));
        assert!(
            !matters(subjects::orders::ORDER_IMPORTED),
            "an imported order is history: no e-mail, no webhook"
        );
    }
}
