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
    let name = consumer_name(&delivery, filter);
    let mut sub = bus.subscribe(filter, delivery).await?;
    tokio::spawn(async move {
        loop {
            let msg = tokio::select! {
                m = sub.next() => match m { Some(m) => m, None => break },
                () = shutdown.cancelled() => break,
            };
            let Some((msg, event)) = delivered(&name, msg).await else {
                continue;
            };
            let span = event_span(&name, &event);
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

/// Runs a consumer like [`run_consumer`], but hands `handle` what the bus has ready (up to
/// `max_batch` events) at once, so that it can apply them in one transaction. The batch is
/// acknowledged when `handle` succeeds; when it fails, its events are handled again one by one,
/// so that an event that cannot be applied holds up only itself. `handle` must be all or
/// nothing (one transaction, with the inbox): the one-by-one pass relies on the failed batch
/// having left no effect.
pub async fn run_batch_consumer<F, Fut>(
    bus: SharedBus,
    filter: &str,
    delivery: Delivery,
    shutdown: Shutdown,
    max_batch: usize,
    handle: F,
) -> anyhow::Result<()>
where
    F: Fn(Vec<EventEnvelope>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    use futures::FutureExt;
    let name = consumer_name(&delivery, filter);
    let mut sub = bus.subscribe(filter, delivery).await?;
    tokio::spawn(async move {
        loop {
            let first = tokio::select! {
                m = sub.next() => match m { Some(m) => m, None => break },
                () = shutdown.cancelled() => break,
            };
            let mut ready = vec![first];
            while ready.len() < max_batch.max(1) {
                match sub.next().now_or_never() {
                    Some(Some(m)) => ready.push(m),
                    _ => break,
                }
            }
            let mut batch = Vec::with_capacity(ready.len());
            for msg in ready {
                if let Some(delivered) = delivered(&name, msg).await {
                    batch.push(delivered);
                }
            }
            if batch.is_empty() {
                continue;
            }
            let events = batch.iter().map(|(_, e)| e.clone()).collect();
            // The batch's span continues the trace of its first event (one parent only); each
            // event retried alone below continues its own.
            let span = tracing::info_span!("consume", consumer = %name, events = batch.len(),
                subject = %batch[0].1.subject, event_id = %batch[0].1.id, trace_id = tracing::field::Empty);
            crate::trace_context::adopt_traceparent(&span, &batch[0].1.traceparent);
            match tracing::Instrument::instrument(handle(events), span).await {
                Ok(()) => {
                    for (msg, _) in batch {
                        msg.ack().await;
                    }
                }
                Err(e) if batch.len() > 1 => {
                    tracing::debug!(consumer = %name, error = %e, events = batch.len(), "batch failed; handling its events one by one");
                    for (msg, event) in batch {
                        let span = event_span(&name, &event);
                        let handled = tracing::Instrument::instrument(handle(vec![event]), span).await;
                        settle(&name, msg, handled).await;
                    }
                }
                Err(e) => {
                    let (msg, _) = batch.into_iter().next().expect("one event");
                    settle(&name, msg, Err(e)).await;
                }
            }
        }
    });
    Ok(())
}

/// The span of one event's handling, continuing the trace of the request that caused it.
fn event_span(consumer: &str, event: &EventEnvelope) -> tracing::Span {
    let span = tracing::info_span!("consume", consumer, subject = %event.subject,
        event_id = %event.id, trace_id = tracing::field::Empty);
    crate::trace_context::adopt_traceparent(&span, &event.traceparent);
    span
}

/// A consumer's name in logs and metrics: its group, or the filter it fans out from.
fn consumer_name(delivery: &Delivery, filter: &str) -> String {
    match delivery {
        Delivery::Group(g) => g.clone(),
        Delivery::Fanout => format!("fanout:{filter}"),
    }
}

/// The envelope a message carries, its lag recorded; `None` (the message acknowledged and
/// logged, since redelivering it cannot help) when it does not decode.
async fn delivered(
    consumer: &str,
    msg: crate::bus::Incoming,
) -> Option<(crate::bus::Incoming, EventEnvelope)> {
    match EventEnvelope::decode(msg.payload.clone()) {
        Ok(event) => {
            let lag = (crate::time::now_ms() - event.occurred_at_ms).max(0) as f64 / 1000.0;
            metrics::histogram!(BUS_CONSUMER_LAG.name, "consumer" => consumer.to_owned()).record(lag);
            Some((msg, event))
        }
        Err(e) => {
            tracing::warn!(consumer, subject = %msg.subject, error = %e, "dropping malformed event");
            msg.ack().await;
            None
        }
    }
}

/// Acknowledges a handled message, or asks for its redelivery.
async fn settle(consumer: &str, msg: crate::bus::Incoming, handled: anyhow::Result<()>) {
    match handled {
        Ok(()) => msg.ack().await,
        Err(e) => {
            tracing::warn!(consumer, subject = %msg.subject, error = %e, "event handling failed; will retry");
            msg.nack().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::MemoryBus;
    use std::sync::{Arc, Mutex};

    #[tokio::test(flavor = "current_thread")]
    async fn a_batch_is_handled_at_once_and_one_bad_event_holds_up_only_itself() {
        let bus: SharedBus = Arc::new(MemoryBus::new());
        let calls: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
        let seen = calls.clone();
        run_batch_consumer(
            bus.clone(),
            "test.>",
            Delivery::Group("batch".into()),
            Shutdown::new(),
            8,
            move |events: Vec<EventEnvelope>| {
                let ids: Vec<String> = events.iter().map(|e| e.store_id.clone()).collect();
                seen.lock().unwrap().push(ids.clone());
                async move {
                    if ids.iter().any(|s| s == "poison") {
                        anyhow::bail!("cannot apply it");
                    }
                    Ok(())
                }
            },
        )
        .await
        .unwrap();
        let publish = |store: &'static str| {
            let bus = bus.clone();
            async move {
                let event = crate::outbox::envelope(store, "test.thing", 1, &EventEnvelope::default());
                bus.publish("test.thing", &event.id, event.encode_to_vec().into())
                    .await
            }
        };
        // Published side by side: all four are ready when the consumer first looks.
        let outcomes = futures::future::join_all(["a", "b", "poison", "c"].map(publish)).await;
        let ok: Vec<bool> = outcomes.iter().map(Result::is_ok).collect();
        assert_eq!(ok, [true, true, false, true], "only the bad event is refused");
        let calls = calls.lock().unwrap().clone();
        assert_eq!(calls[0], ["a", "b", "poison", "c"], "handed over as one batch");
        assert_eq!(&calls[1..], [["a"], ["b"], ["poison"], ["c"]], "then one by one");
    }
}
