//! The transactional outbox: an event is written in the same transaction as the change that
//! caused it, and a relay publishes it afterwards, at least once.
//!
//! Killing the process between commit and publish loses nothing: the row stays unpublished
//! and the next relay run (after a restart, or another replica's) publishes it.

use crate::bus::SharedBus;
use crate::db::{Db, DbError, Migration, Param, Tx};
use crate::shutdown::Shutdown;
use futures::StreamExt;
use mercato_proto::events::EventEnvelope;
use prost::Message;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The outbox table; every service that publishes events includes this migration.
pub(crate) const MIGRATION: Migration = Migration {
    name: "0000_outbox",
    sql: "CREATE TABLE outbox (
            id TEXT PRIMARY KEY,
            subject TEXT NOT NULL,
            payload {{BYTES}} NOT NULL,
            created_at BIGINT NOT NULL,
            published_at BIGINT
          );
          CREATE INDEX outbox_pending ON outbox (published_at, id);",
};

/// The pending events' index holds only pending events: the relay's poll walks it in id order
/// and stops at its batch size. Indexing `(published_at, id)` for every event made PostgreSQL
/// read the index entries of every event ever marked published until a vacuum removed them (9 ms
/// a poll after 30,000 checkouts, half of the database's CPU); a partial index's dead entries
/// are skipped after one scan has seen them dead. `Db::migrate` applies it after [`MIGRATION`].
pub(crate) const PENDING_INDEX: Migration = Migration {
    name: "0000_outbox_pending_index",
    sql: "DROP INDEX outbox_pending;
          CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;",
};

/// Builds an event envelope around an event message.
pub fn envelope(store_id: &str, subject: &str, version: u32, event: &impl Message) -> EventEnvelope {
    EventEnvelope {
        id: uuid::Uuid::now_v7().to_string(),
        store_id: store_id.to_owned(),
        occurred_at_ms: crate::time::now_ms(),
        subject: subject.to_owned(),
        version,
        payload: event.encode_to_vec(),
        traceparent: crate::trace_context::current_traceparent(),
    }
}

/// Writes an event inside the caller's transaction.
pub fn append(tx: &mut Tx<'_>, event: &EventEnvelope) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO outbox (id, subject, payload, created_at) VALUES ($1, $2, $3, $4)",
        &[
            &event.id,
            &event.subject,
            &event.encode_to_vec(),
            &event.occurred_at_ms,
        ],
    )?;
    Ok(())
}

/// Writes several events inside the caller's transaction, in one statement.
pub fn append_all(tx: &mut Tx<'_>, events: &[EventEnvelope]) -> Result<(), DbError> {
    match events {
        [] => Ok(()),
        [one] => append(tx, one),
        many => {
            let rows = (0..many.len())
                .map(|i| format!("(${}, ${}, ${}, ${})", 4 * i + 1, 4 * i + 2, 4 * i + 3, 4 * i + 4))
                .collect::<Vec<_>>()
                .join(", ");
            let payloads: Vec<Vec<u8>> = many.iter().map(Message::encode_to_vec).collect();
            let mut params: Vec<&dyn Param> = Vec::with_capacity(4 * many.len());
            for (event, payload) in many.iter().zip(&payloads) {
                params.extend([
                    &event.id as &dyn Param,
                    &event.subject,
                    payload,
                    &event.occurred_at_ms,
                ]);
            }
            tx.execute(
                &format!("INSERT INTO outbox (id, subject, payload, created_at) VALUES {rows}"),
                &params,
            )?;
            Ok(())
        }
    }
}

/// How often the relay looks for events even when nobody woke it.
const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Events published per round trip.
const BATCH: i64 = 200;
/// Publishes in flight at once. Each waits for the bus's acknowledgement (on the in-process bus,
/// every consumer group's), so one at a time would hand consumers one event at a time; with
/// several in flight they take what is ready in one batch. Messages enter the bus in the
/// outbox's order (a publish hands its message over before it waits, and only then does the
/// next one start) unless a subscriber's queue is full; consumers already take events out of
/// order by version, and at least once by event id.
const PIPELINE: usize = 32;
/// Published rows are kept this long after their event was created, for inspection.
const RETENTION_MS: i64 = 3_600_000;

/// Describes what [`OutboxRelay`] records.
pub(crate) fn describe_metrics() {
    crate::metric_family::Family::describe_all(&[OUTBOX_PENDING_EVENTS, OUTBOX_RELAY_LAG]);
}

crate::metric_families! {
    /// Events a service's outbox relay found unpublished on its last pass (at most one batch, 200).
    pub(crate) const OUTBOX_PENDING_EVENTS: Gauge(Count) = "outbox_pending_events";
    /// Time from an event's commit to its publication on the bus, by service.
    pub(crate) const OUTBOX_RELAY_LAG: Histogram(Seconds) = "outbox_relay_lag_seconds";
}

/// Publishes a service's outbox to the bus.
#[derive(Clone)]
pub struct OutboxRelay {
    service: &'static str,
    db: Db,
    bus: SharedBus,
    wake: Arc<Notify>,
}

impl OutboxRelay {
    pub fn new(service: &'static str, db: Db, bus: SharedBus) -> Self {
        OutboxRelay {
            service,
            db,
            bus,
            wake: Arc::new(Notify::new()),
        }
    }

    /// A handle services call after committing, so the relay publishes at once.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Runs until shutdown, then drains what is left.
    pub async fn run(self, shutdown: Shutdown) {
        let mut last_cleanup = 0;
        loop {
            match self.publish_pending().await {
                Ok(n) if n as i64 == BATCH => continue,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(service = self.service, error = %e, "outbox relay failed; retrying")
                }
            }
            let now = crate::time::now_ms();
            if now - last_cleanup > 60_000 {
                last_cleanup = now;
                if let Err(e) = self.delete_old(now).await {
                    tracing::warn!(service = self.service, error = %e, "old published events not deleted");
                }
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(POLL_INTERVAL) => {}
                () = shutdown.cancelled() => break,
            }
        }
        if let Err(e) = self.publish_pending().await {
            tracing::warn!(service = self.service, error = %e, "outbox not drained at shutdown; it will be on restart");
        }
    }

    /// Deletes the published events created more than [`RETENTION_MS`] before `now_ms`; returns
    /// how many. Event ids are UUIDv7, which begin with their creation time, so the oldest
    /// events are a range of the primary key, bounded by the smallest id of the cut-off
    /// millisecond.
    pub async fn delete_old(&self, now_ms: i64) -> Result<u64, DbError> {
        let cutoff_ms = u64::try_from(now_ms - RETENTION_MS).unwrap_or(0);
        let cutoff = uuid::Builder::from_unix_timestamp_millis(cutoff_ms, &[0; 10])
            .into_uuid()
            .to_string();
        self.db
            .execute(
                "outbox_cleanup",
                "DELETE FROM outbox WHERE id < $1 AND published_at IS NOT NULL",
                &[&cutoff],
            )
            .await
    }

    /// Publishes one batch of pending events in order, then marks them published in one
    /// transaction; returns how many were published. A crash between the two republishes them
    /// (at least once).
    pub async fn publish_pending(&self) -> anyhow::Result<usize> {
        let rows: Vec<(String, String, Vec<u8>, i64)> = self
            .db
            .query_all(
                "SELECT id, subject, payload, created_at FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1",
                &[&BATCH],
            )
            .await?;
        metrics::gauge!(OUTBOX_PENDING_EVENTS.name, "service" => self.service).set(rows.len() as f64);
        let mut published = Vec::with_capacity(rows.len());
        let mut failure = None;
        let mut outcomes = futures::stream::iter(rows)
            .map(|(id, subject, payload, created_at)| async move {
                let outcome = self.bus.publish(&subject, &id, payload.into()).await;
                outcome.map(|()| (id, created_at))
            })
            .buffered(PIPELINE);
        // In order: the first failure ends the pass; what follows it stays pending (a later
        // pass publishes it again, and consumers deduplicate by event id).
        while let Some(outcome) = outcomes.next().await {
            match outcome {
                Ok((id, created_at)) => {
                    let lag = (crate::time::now_ms() - created_at).max(0) as f64 / 1000.0;
                    metrics::histogram!(OUTBOX_RELAY_LAG.name, "service" => self.service).record(lag);
                    published.push(id);
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        drop(outcomes);
        let count = published.len();
        if count > 0 {
            // One statement for the batch: ids are listed, not ranged, because a smaller id may
            // commit after a larger one and must stay pending.
            let now = crate::time::now_ms();
            let list = (2..count + 2)
                .map(|n| format!("${n}"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut params: Vec<&dyn Param> = vec![&now];
            params.extend(published.iter().map(|id| id as &dyn Param));
            self.db
                .execute(
                    "outbox_mark_published",
                    &format!("UPDATE outbox SET published_at = $1 WHERE id IN ({list})"),
                    &params,
                )
                .await?;
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(count),
        }
    }

    /// How many events wait to be published.
    pub async fn pending(&self) -> anyhow::Result<i64> {
        let (n,): (i64,) = self
            .db
            .query_one("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL", &[])
            .await?;
        Ok(n)
    }
}
