//! Exactly-once effects from at-least-once delivery: a consumer records each event id it has
//! processed in the same transaction as the effect, and skips ids it has seen.

use crate::bus::{Delivery, SharedBus};
use crate::db::{DbError, Migration, Tx};
use crate::shutdown::Shutdown;
use mercato_proto::events::EventEnvelope;
use prost::Message;
use std::future::Future;

/// The processed-events table, which `Db::migrate` gives every service database.
pub(crate) const MIGRATION: Migration = Migration {
    name: "0000_inbox",
    sql: "CREATE TABLE processed_events (
            consumer TEXT NOT NULL,
            event_id TEXT NOT NULL,
            processed_at BIGINT NOT NULL,
            PRIMARY KEY (consumer, event_id)
          );",
};

/// Records that `consumer` processed `event_id`, inside the caller's transaction. Returns
/// `false` when it already had: the caller must then skip the effect.
pub fn first_delivery(tx: &mut Tx<'_>, consumer: &str, event_id: &str) -> Result<bool, DbError> {
    let inserted = tx.execute(
        "INSERT INTO processed_events (consumer, event_id, processed_at) VALUES ($1, $2, $3)
         ON CONFLICT (consumer, event_id) DO NOTHING",
        &[&consumer, &event_id, &crate::time::now_ms()],
    )?;
    Ok(inserted == 1)
}

/// Describes what [`run_consumer`] records.
pub(crate) fn describe_metrics() {
    crate::metric_family::Family::describe_all(&[BUS_CONSUMER_LAG]);
}

crate::metric_families! {
    /// Time from an event's occurrence to its delivery to a consumer, by consumer.
    pub(crate) const BUS_CONSUMER_LAG: Histogram(Seconds) = "bus_consumer_lag_seconds";
}

/// Runs a consumer until shutdown: decodes each envelope, calls `handle`, acknowledges on
/// success and asks for redelivery on failure. Malformed messages are logged and dropped, since
/// redelivering them cannot help.
pub async fn run_consumer<F, Fut>(
    bus: SharedBus,
    filter: &str,
    delivery: Delivery,
    shutdown: Shutdown,
    handle: F,
) -> anyhow::Result<()>
where
    F: Fn(EventEnvelope) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let name = match &delivery {
        Delivery::Group(g) => g.clone(),
        Delivery::Fanout => format!("fanout:{filter}"),
    };
    let mut sub = bus.subscribe(filter, delivery).await?;
    tokio::spawn(async move {
        loop {
            let msg = tokio::select! {
                m = sub.next() => match m { Some(m) => m, None => break },
                () = shutdown.cancelled() => break,
            };
            let event = match EventEnvelope::decode(msg.payload.clone()) {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!(consumer = %name, subject = %msg.subject, error = %e, "dropping malformed event");
                    msg.ack().await;
                    continue;
                }
            };
            let lag = (crate::time::now_ms() - event.occurred_at_ms).max(0) as f64 / 1000.0;
            metrics::histogram!(BUS_CONSUMER_LAG.name, "consumer" => name.clone()).record(lag);
            let span = tracing::info_span!("consume", consumer = %name, subject = %event.subject,
                event_id = %event.id, trace_id = tracing::field::Empty);
            crate::trace_context::adopt_traceparent(&span, &event.traceparent);
            match tracing::Instrument::instrument(handle(event), span).await {
                Ok(()) => msg.ack().await,
                Err(e) => {
                    tracing::warn!(consumer = %name, subject = %msg.subject, error = %e, "event handling failed; will retry");
                    msg.nack().await;
                }
            }
        }
    });
    Ok(())
}
