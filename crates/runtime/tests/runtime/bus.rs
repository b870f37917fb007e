//! The bus suite: the in-process bus and NATS JetStream deliver alike.

use bytes::Bytes;
use mercato_runtime::bus::{Delivery, MemoryBus, NatsBus, SharedBus};
use mercato_runtime::env::{TEST_NATS_URL, test_url};
use mercato_runtime::testing::NatsNamespaceGuard;
use std::sync::Arc;
use std::time::Duration;

/// Every bus under test; the guard deletes the NATS test stream when the test ends.
async fn buses() -> (Vec<(&'static str, SharedBus)>, Option<NatsNamespaceGuard>) {
    mercato_runtime::testing::init_logs();
    let mut buses: Vec<(&'static str, SharedBus)> = vec![("memory", Arc::new(MemoryBus::new()))];
    let mut guard = None;
    if let Some(url) = test_url(TEST_NATS_URL) {
        let ns = format!("t{}", uuid::Uuid::now_v7().simple());
        buses.push((
            "nats",
            Arc::new(NatsBus::connect_namespaced(&url, &ns).await.expect("nats")),
        ));
        guard = Some(NatsNamespaceGuard::new(&url, &ns));
    }
    (buses, guard)
}

/// Receives the next payload within a generous bound, acknowledging it.
async fn next(sub: &mut mercato_runtime::bus::Subscription) -> Option<String> {
    let msg = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .ok()??;
    let text = String::from_utf8(msg.payload.to_vec()).unwrap();
    msg.ack().await;
    Some(text)
}

/// Publishes in the background: the in-process bus waits for group acknowledgements.
fn publish(
    bus: &SharedBus,
    subject: &'static str,
    body: &'static str,
) -> tokio::task::JoinHandle<anyhow::Result<()>> {
    let bus = bus.clone();
    tokio::spawn(async move {
        bus.publish(subject, &uuid::Uuid::now_v7().to_string(), Bytes::from(body))
            .await
    })
}

#[tokio::test]
async fn a_group_subscriber_receives_what_is_published_on_matching_subjects() {
    let (buses, _cleanup) = buses().await;
    for (name, bus) in buses {
        let mut sub = bus
            .subscribe("mercato.catalog.*", Delivery::Group("g1".into()))
            .await
            .unwrap();
        let p1 = publish(&bus, "mercato.identity.store_provisioned", "other");
        let p2 = publish(&bus, "mercato.catalog.product_created", "mine");
        assert_eq!(next(&mut sub).await.as_deref(), Some("mine"), "{name}");
        p1.await.unwrap().unwrap();
        p2.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn every_fanout_subscriber_sees_every_message() {
    let (buses, _cleanup) = buses().await;
    for (name, bus) in buses {
        let mut a = bus.subscribe("mercato.>", Delivery::Fanout).await.unwrap();
        let mut b = bus.subscribe("mercato.>", Delivery::Fanout).await.unwrap();
        publish(&bus, "mercato.catalog.product_updated", "x")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(next(&mut a).await.as_deref(), Some("x"), "{name}");
        assert_eq!(next(&mut b).await.as_deref(), Some("x"), "{name}");
    }
}

#[tokio::test]
async fn members_of_one_group_share_the_messages_without_duplicates() {
    let (buses, _cleanup) = buses().await;
    for (name, bus) in buses {
        let a = bus
            .subscribe("mercato.>", Delivery::Group("shared".into()))
            .await
            .unwrap();
        let b = bus
            .subscribe("mercato.>", Delivery::Group("shared".into()))
            .await
            .unwrap();
        let received = Arc::new(std::sync::Mutex::new(Vec::new()));
        for mut sub in [a, b] {
            let received = received.clone();
            tokio::spawn(async move {
                while let Some(m) = sub.next().await {
                    received
                        .lock()
                        .unwrap()
                        .push(String::from_utf8(m.payload.to_vec()).unwrap());
                    m.ack().await;
                }
            });
        }
        for i in 0..20 {
            let body: &'static str = Box::leak(format!("m{i}").into_boxed_str());
            publish(&bus, "mercato.catalog.product_updated", body)
                .await
                .unwrap()
                .unwrap();
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while received.lock().unwrap().len() < 20 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut got = received.lock().unwrap().clone();
        got.sort();
        got.dedup();
        assert_eq!(got.len(), 20, "{name}: every message once");
        assert_eq!(received.lock().unwrap().len(), 20, "{name}: no duplicates");
    }
}

#[tokio::test]
async fn a_rejected_group_message_is_delivered_again() {
    let (buses, _cleanup) = buses().await;
    for (name, bus) in buses {
        let mut sub = bus
            .subscribe("mercato.>", Delivery::Group("retry".into()))
            .await
            .unwrap();
        let publisher = publish(&bus, "mercato.catalog.product_deleted", "again");
        let first = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .unwrap()
            .unwrap();
        first.nack().await;
        if name == "memory" {
            // In process the publisher learns of the rejection; its outbox relay retries.
            assert!(publisher.await.unwrap().is_err());
            publish(&bus, "mercato.catalog.product_deleted", "again");
        }
        let second = tokio::time::timeout(Duration::from_secs(10), sub.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&second.payload[..], b"again", "{name}");
        second.ack().await;
    }
}

#[tokio::test]
async fn publishing_fails_while_a_known_group_has_no_live_member() {
    let bus: SharedBus = Arc::new(MemoryBus::new());
    let sub = bus
        .subscribe("mercato.identity.*", Delivery::Group("catalog-stores".into()))
        .await
        .unwrap();
    drop(sub);
    let result = bus
        .publish(
            "mercato.identity.store_provisioned",
            "e1",
            Bytes::from_static(b"x"),
        )
        .await;
    assert!(
        result.is_err(),
        "the outbox must keep the event until the group is back"
    );
    let mut back = bus
        .subscribe("mercato.identity.*", Delivery::Group("catalog-stores".into()))
        .await
        .unwrap();
    let publisher = publish(&bus, "mercato.identity.store_provisioned", "x");
    assert_eq!(next(&mut back).await.as_deref(), Some("x"));
    publisher.await.unwrap().unwrap();
}

#[tokio::test]
async fn signals_reach_current_listeners_of_matching_subjects_and_are_not_stored() {
    let (buses, _cleanup) = buses().await;
    for (name, bus) in buses {
        // A signal sent before anyone listens is gone: signals are not stored.
        bus.signal("mercato.realtime.typing", Bytes::from("early"))
            .await
            .unwrap();
        let mut a = bus.subscribe_signals("mercato.realtime.*").await.unwrap();
        let mut b = bus.subscribe_signals("mercato.realtime.typing").await.unwrap();
        let mut events = bus.subscribe("mercato.>", Delivery::Fanout).await.unwrap();
        // Core NATS subscriptions are registered asynchronously; a flush-free wait suffices.
        tokio::time::sleep(Duration::from_millis(100)).await;
        bus.signal("mercato.realtime.typing", Bytes::from("t1"))
            .await
            .unwrap();
        bus.signal("mercato.orders.other", Bytes::from("no"))
            .await
            .unwrap();
        assert_eq!(next(&mut a).await.as_deref(), Some("t1"), "{name}");
        assert_eq!(next(&mut b).await.as_deref(), Some("t1"), "{name}");
        let stray = tokio::time::timeout(Duration::from_millis(300), events.next()).await;
        assert!(stray.is_err(), "{name}: a signal reached an event subscriber");
    }
}
