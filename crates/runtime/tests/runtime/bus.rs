//! The bus suite: the in-process bus and NATS JetStream deliver alike. Each case is one test
//! per bus (`case::memory`, `case::nats`).

use bytes::Bytes;
use mercato_runtime::bus::{Delivery, MemoryBus, NatsBus, SharedBus};
use mercato_runtime::env::TEST_NATS_URL;
use mercato_runtime::testing::{Facility, NatsNamespaceGuard};
use std::sync::Arc;
use std::time::Duration;

mercato_runtime::backend_tests! {
    setup: bus_on,
    variants: { memory: Facility::InProcess, nats: Facility::Server(TEST_NATS_URL) },
    cases: [
        a_group_subscriber_receives_what_is_published_on_matching_subjects,
        every_fanout_subscriber_sees_every_message,
        members_of_one_group_share_the_messages_without_duplicates,
        a_rejected_group_message_is_delivered_again,
        signals_reach_current_listeners_of_matching_subjects_and_are_not_stored,
    ],
}

/// A bus under test; its guard deletes the NATS test stream when the test ends.
struct TestBus {
    bus: SharedBus,
    in_process: bool,
    _cleanup: Option<NatsNamespaceGuard>,
}

async fn bus_on(facility: Facility) -> TestBus {
    mercato_runtime::testing::init_logs();
    let Some(url) = facility.url() else {
        let bus: SharedBus = Arc::new(MemoryBus::new());
        return TestBus {
            bus,
            in_process: true,
            _cleanup: None,
        };
    };
    let namespace = format!("t{}", uuid::Uuid::now_v7().simple());
    let nats = NatsBus::connect_namespaced(&url, &namespace).await.expect("nats");
    TestBus {
        bus: Arc::new(nats),
        in_process: false,
        _cleanup: Some(NatsNamespaceGuard::new(&url, &namespace)),
    }
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

async fn a_group_subscriber_receives_what_is_published_on_matching_subjects(test: TestBus) {
    let bus = &test.bus;
    let mut sub = bus
        .subscribe("mercato.catalog.*", Delivery::Group("g1".into()))
        .await
        .unwrap();
    let p1 = publish(bus, "mercato.identity.store_provisioned", "other");
    let p2 = publish(bus, "mercato.catalog.product_created", "mine");
    assert_eq!(next(&mut sub).await.as_deref(), Some("mine"));
    p1.await.unwrap().unwrap();
    p2.await.unwrap().unwrap();
}

async fn every_fanout_subscriber_sees_every_message(test: TestBus) {
    let bus = &test.bus;
    let mut a = bus.subscribe("mercato.>", Delivery::Fanout).await.unwrap();
    let mut b = bus.subscribe("mercato.>", Delivery::Fanout).await.unwrap();
    publish(bus, "mercato.catalog.product_updated", "x")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next(&mut a).await.as_deref(), Some("x"));
    assert_eq!(next(&mut b).await.as_deref(), Some("x"));
}

async fn members_of_one_group_share_the_messages_without_duplicates(test: TestBus) {
    let bus = &test.bus;
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
        publish(bus, "mercato.catalog.product_updated", body)
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
    assert_eq!(got.len(), 20, "every message once");
    assert_eq!(received.lock().unwrap().len(), 20, "no duplicates");
}

async fn a_rejected_group_message_is_delivered_again(test: TestBus) {
    let bus = &test.bus;
    let mut sub = bus
        .subscribe("mercato.>", Delivery::Group("retry".into()))
        .await
        .unwrap();
    let publisher = publish(bus, "mercato.catalog.product_deleted", "again");
    let first = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap()
        .unwrap();
    first.nack().await;
    if test.in_process {
        // In process the publisher learns of the rejection; its outbox relay retries.
        assert!(publisher.await.unwrap().is_err());
        publish(bus, "mercato.catalog.product_deleted", "again");
    }
    let second = tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&second.payload[..], b"again");
    second.ack().await;
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

/// The in-process bus keeps each subject's route; a route kept from an earlier publish must
/// still reach a subscriber that came since, and must not skip a group whose member left.
#[tokio::test]
async fn a_kept_route_follows_subscribers_that_come_and_go() {
    let bus: SharedBus = Arc::new(MemoryBus::new());
    let subject = "mercato.orders.order_placed";
    let mut member = bus
        .subscribe("mercato.orders.>", Delivery::Group("analytics-orders".into()))
        .await
        .unwrap();
    let publisher = publish(&bus, subject, "first");
    assert_eq!(next(&mut member).await.as_deref(), Some("first"));
    publisher.await.unwrap().unwrap();

    let mut watcher = bus.subscribe("mercato.orders.*", Delivery::Fanout).await.unwrap();
    let publisher = publish(&bus, subject, "second");
    assert_eq!(next(&mut member).await.as_deref(), Some("second"));
    assert_eq!(
        next(&mut watcher).await.as_deref(),
        Some("second"),
        "a newer subscriber"
    );
    publisher.await.unwrap().unwrap();

    drop(member);
    let refused = bus.publish(subject, "e3", Bytes::from_static(b"third")).await;
    let refused = refused.expect_err("the group's only member left after its route was kept");
    assert!(
        refused.to_string().contains("no live member"),
        "the route is worked out again, not sent to the member that left: {refused}"
    );
}

#[tokio::test]
async fn a_kept_route_skips_a_group_member_that_left_and_shares_among_the_rest() {
    let bus: SharedBus = Arc::new(MemoryBus::new());
    let subject = "mercato.orders.order_placed";
    let group = || Delivery::Group("notifications-orders".into());
    let leaving = bus.subscribe("mercato.orders.>", group()).await.unwrap();
    let mut staying = bus.subscribe("mercato.orders.>", group()).await.unwrap();
    let mut watcher = bus.subscribe("mercato.orders.>", Delivery::Fanout).await.unwrap();
    // Keep the route: the first message goes to one of the two members.
    let publisher = publish(&bus, subject, "kept");
    assert_eq!(next(&mut watcher).await.as_deref(), Some("kept"));
    drop(leaving);
    if let Ok(Some(first)) = tokio::time::timeout(Duration::from_millis(200), staying.next()).await {
        first.ack().await;
    }
    // Refused if it went to the member that left unacknowledged; either way it is over.
    let _ = publisher.await.unwrap();
    for body in ["a", "b", "c"] {
        let publisher = publish(&bus, subject, body);
        assert_eq!(
            next(&mut staying).await.as_deref(),
            Some(body),
            "the member that stayed"
        );
        assert_eq!(next(&mut watcher).await.as_deref(), Some(body));
        publisher.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn two_groups_of_two_each_use_both_members() {
    let bus: SharedBus = Arc::new(MemoryBus::new());
    let mut members = Vec::new();
    for group in [
        "analytics-orders",
        "analytics-orders",
        "notifications-orders",
        "notifications-orders",
    ] {
        let delivery = Delivery::Group(group.into());
        members.push(bus.subscribe("mercato.orders.>", delivery).await.unwrap());
    }
    let mut received = [0; 4];
    for _ in 0..8 {
        let publisher = publish(&bus, "mercato.orders.order_placed", "x");
        let mut got = 0;
        while got < 2 {
            for (i, member) in members.iter_mut().enumerate() {
                let wait = tokio::time::timeout(Duration::from_millis(20), member.next());
                if let Ok(Some(m)) = wait.await {
                    m.ack().await;
                    received[i] += 1;
                    got += 1;
                }
            }
        }
        publisher.await.unwrap().unwrap();
    }
    assert!(
        received.iter().all(|n| *n > 0),
        "every member gets a share: {received:?}"
    );
}

async fn signals_reach_current_listeners_of_matching_subjects_and_are_not_stored(test: TestBus) {
    let bus = &test.bus;
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
    assert_eq!(next(&mut a).await.as_deref(), Some("t1"));
    assert_eq!(next(&mut b).await.as_deref(), Some("t1"));
    let stray = tokio::time::timeout(Duration::from_millis(300), events.next()).await;
    assert!(stray.is_err(), "a signal reached an event subscriber");
}
