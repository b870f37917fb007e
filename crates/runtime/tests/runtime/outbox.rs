//! The outbox and inbox suite, on every database backend.

use bytes::Bytes;
use mercato_proto::events::{EventEnvelope, StoreProvisioned};
use mercato_runtime::bus::{Bus, Delivery, MemoryBus, SharedBus, Subscription};
use mercato_runtime::db::{Db, DbError};
use mercato_runtime::inbox;
use mercato_runtime::outbox::{self, OutboxRelay};
use mercato_runtime::testing::Backend;
use prost::Message;
use std::sync::Arc;
use std::time::Duration;

mercato_runtime::backend_tests! {
    setup: migrated,
    cases: [
        an_event_appended_in_a_rolled_back_transaction_is_never_published,
        a_committed_event_survives_a_crash_before_publication_and_goes_out_once_relayed,
        events_stay_pending_while_the_bus_is_down,
        the_inbox_reports_a_redelivered_event_as_already_processed,
        events_appended_together_are_relayed_in_order,
        cleanup_deletes_published_events_older_than_an_hour_and_keeps_pending_ones,
    ],
}

/// A fresh database of `backend` with the outbox and inbox tables (every migrated database has
/// them).
async fn migrated(backend: Backend) -> Db {
    let db = backend.database().await;
    db.migrate("test", &[]).await.unwrap();
    db
}

fn event() -> EventEnvelope {
    let payload = StoreProvisioned {
        store_id: "s".into(),
        slug: "shop".into(),
        name: "Shop".into(),
        currency: "EUR".into(),
        time_zone: "UTC".into(),
    };
    outbox::envelope("s", "mercato.identity.store_provisioned", 1, &payload)
}

async fn received(sub: &mut Subscription) -> Option<EventEnvelope> {
    let msg = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .ok()??;
    let env = EventEnvelope::decode(msg.payload.clone()).unwrap();
    msg.ack().await;
    Some(env)
}

async fn an_event_appended_in_a_rolled_back_transaction_is_never_published(db: Db) {
    let rolled_back: Result<(), DbError> = db
        .write("test", |tx| {
            outbox::append(tx, &event())?;
            Err(DbError::Other("the caller changed its mind".into()))
        })
        .await;
    assert!(rolled_back.is_err());
    let relay = OutboxRelay::new("test", db, Arc::new(MemoryBus::new()));
    assert_eq!(relay.pending().await.unwrap(), 0);
}

async fn a_committed_event_survives_a_crash_before_publication_and_goes_out_once_relayed(db: Db) {
    let sent = event();
    let appended = sent.clone();
    db.write("test", move |tx| outbox::append(tx, &appended))
        .await
        .unwrap();
    // The process "dies" here: no relay ran. A new one, after restart, finds the event.
    let bus: SharedBus = Arc::new(MemoryBus::new());
    let mut sub = bus
        .subscribe("mercato.>", Delivery::Group("g".into()))
        .await
        .unwrap();
    let relay = OutboxRelay::new("test", db.clone(), bus);
    assert_eq!(relay.pending().await.unwrap(), 1);
    let publishing = tokio::spawn({
        let relay = relay.clone();
        async move { relay.publish_pending().await }
    });
    assert_eq!(received(&mut sub).await.unwrap().id, sent.id);
    assert_eq!(publishing.await.unwrap().unwrap(), 1);
    assert_eq!(relay.pending().await.unwrap(), 0);
    assert_eq!(
        relay.publish_pending().await.unwrap(),
        0,
        "nothing published twice"
    );
}

/// A bus that is down.
struct DownBus;

#[async_trait::async_trait]
impl Bus for DownBus {
    async fn publish(&self, _: &str, _: &str, _: Bytes) -> anyhow::Result<()> {
        anyhow::bail!("bus unreachable")
    }
    async fn subscribe(&self, _: &str, _: Delivery) -> anyhow::Result<Subscription> {
        anyhow::bail!("bus unreachable")
    }
    async fn signal(&self, _: &str, _: Bytes) -> anyhow::Result<()> {
        anyhow::bail!("bus unreachable")
    }
    async fn subscribe_signals(&self, _: &str) -> anyhow::Result<Subscription> {
        anyhow::bail!("bus unreachable")
    }
    async fn ready(&self) -> bool {
        false
    }
}

async fn events_stay_pending_while_the_bus_is_down(db: Db) {
    db.write("test", |tx| outbox::append(tx, &event())).await.unwrap();
    let relay = OutboxRelay::new("test", db, Arc::new(DownBus));
    assert!(relay.publish_pending().await.is_err());
    assert_eq!(relay.pending().await.unwrap(), 1);
}

async fn the_inbox_reports_a_redelivered_event_as_already_processed(db: Db) {
    let first = db
        .write("test", |tx| inbox::first_delivery(tx, "c", "e1"))
        .await
        .unwrap();
    assert!(first);
    let (again, other) = db
        .write("test", |tx| {
            Ok::<_, DbError>((
                inbox::first_delivery(tx, "c", "e1")?,
                inbox::first_delivery(tx, "other-consumer", "e1")?,
            ))
        })
        .await
        .unwrap();
    assert!(!again);
    assert!(other);
}

async fn events_appended_together_are_relayed_in_order(db: Db) {
    let events: Vec<EventEnvelope> = (0..3).map(|_| event()).collect();
    let appended = events.clone();
    db.write("test", move |tx| outbox::append_all(tx, &appended))
        .await
        .unwrap();
    let bus: SharedBus = Arc::new(MemoryBus::new());
    let mut sub = bus
        .subscribe("mercato.>", Delivery::Group("g".into()))
        .await
        .unwrap();
    let relay = OutboxRelay::new("test", db, bus);
    let publishing = tokio::spawn(async move { relay.publish_pending().await });
    for sent in &events {
        assert_eq!(received(&mut sub).await.unwrap().id, sent.id);
    }
    assert_eq!(publishing.await.unwrap().unwrap(), 3);
}

async fn cleanup_deletes_published_events_older_than_an_hour_and_keeps_pending_ones(db: Db) {
    let hour_ms = 3_600_000;
    let now = mercato_runtime::time::now_ms();
    let made_at = |age_ms: i64| {
        let mut e = event();
        e.id = uuid::Builder::from_unix_timestamp_millis((now - age_ms) as u64, &[9; 10])
            .into_uuid()
            .to_string();
        e
    };
    let events = [
        made_at(hour_ms + 60_000),
        made_at(hour_ms + 30_000),
        made_at(60_000),
    ];
    let appended = events.to_vec();
    db.write("test", move |tx| outbox::append_all(tx, &appended))
        .await
        .unwrap();
    // The oldest and the newest were published; the middle one is still pending.
    for published in [&events[0].id, &events[2].id] {
        db.execute(
            "test",
            "UPDATE outbox SET published_at = $1 WHERE id = $2",
            &[&now, published],
        )
        .await
        .unwrap();
    }
    let relay = OutboxRelay::new("test", db.clone(), Arc::new(DownBus));
    assert_eq!(relay.delete_old(now).await.unwrap(), 1);
    let left: Vec<(String,)> = db
        .query_all("SELECT id FROM outbox ORDER BY id", &[])
        .await
        .unwrap();
    let left: Vec<&str> = left.iter().map(|(id,)| id.as_str()).collect();
    assert_eq!(left, [events[1].id.as_str(), events[2].id.as_str()]);
}
