//! The product-view counter: views per store, product and minute, distinct visitors, drained
//! into one event per store and minute.

use super::*;
use mercato_proto::events::EventEnvelope;
use std::net::Ipv4Addr;

const T0: i64 = 1_764_979_200_000; // a minute boundary (2025-12-06 00:00 UTC)

fn anonymous(last: u8, user_agent: &str) -> Visitor<'_> {
    Visitor::Anonymous {
        addr: Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, last))),
        user_agent: user_agent.as_bytes(),
    }
}

/// A drained event as (store, minute, views per product).
type Summary<'a> = (&'a str, i64, Vec<(&'a str, i64)>);

fn views(event: &ProductViewsCounted) -> Vec<(&str, i64)> {
    event
        .products
        .iter()
        .map(|p| (p.product_id.as_str(), p.views))
        .collect()
}

#[test]
fn views_are_counted_per_store_product_and_minute() {
    let counter = ProductViews::new(Duration::from_secs(60), Some("secret"));
    let ann = anonymous(1, "Firefox");
    for at in [T0, T0 + 1, T0 + 59_999] {
        counter.count("s1", "p1", ann, at);
    }
    counter.count("s1", "p2", ann, T0 + 10);
    counter.count("s2", "p1", ann, T0 + 10);
    counter.count("s1", "p1", ann, T0 + 60_000);

    let drained = counter.drain();
    let summary: Vec<Summary> = drained
        .iter()
        .map(|(store, e)| (store.as_str(), e.minute_start_ms, views(e)))
        .collect();
    assert_eq!(
        summary,
        [
            ("s1", T0, vec![("p1", 3), ("p2", 1)]),
            ("s2", T0, vec![("p1", 1)]),
            ("s1", T0 + 60_000, vec![("p1", 1)]),
        ]
    );
    assert!(counter.drain().is_empty(), "drained counts are gone");
}

#[test]
fn visitors_are_distinct_opaque_keys_stable_within_a_day_and_never_the_address() {
    let counter = ProductViews::new(Duration::from_secs(60), Some("secret"));
    counter.count("s1", "p1", anonymous(1, "Firefox"), T0);
    counter.count("s1", "p2", anonymous(1, "Firefox"), T0 + 5);
    counter.count("s1", "p1", anonymous(1, "Safari"), T0 + 6);
    counter.count("s1", "p1", anonymous(2, "Firefox"), T0 + 7);
    counter.count("s1", "p1", Visitor::Customer("ann"), T0 + 8);
    counter.count("s1", "p3", Visitor::Customer("ann"), T0 + 9);
    let drained = counter.drain();
    assert_eq!(drained.len(), 1);
    let keys = &drained[0].1.visitor_keys;
    assert_eq!(keys.len(), 4, "one per address and agent, one per customer");
    assert!(keys.iter().all(|k| k.len() == 32 && !k.contains("203")));

    // Another replica with the same secret gives the same visitor the same key; a new day, or
    // another secret, another.
    let key = |secret: &str, at: i64| {
        let c = ProductViews::new(Duration::from_secs(60), Some(secret));
        c.count("s1", "p1", anonymous(1, "Firefox"), at);
        c.drain()[0].1.visitor_keys[0].clone()
    };
    assert_eq!(key("secret", T0), key("secret", T0 + 3_600_000));
    assert_ne!(key("secret", T0), key("secret", T0 + DAY_MS));
    assert_ne!(key("secret", T0), key("other", T0));
}

#[test]
fn a_store_minute_keeps_a_bounded_number_of_visitors() {
    let counter = ProductViews::new(Duration::from_secs(60), None);
    for n in 0..(MAX_VISITORS + 50) {
        let agent = format!("agent-{n}");
        counter.count("s1", &format!("p{}", n % 40), anonymous(1, &agent), T0);
    }
    let drained = counter.drain();
    assert_eq!(drained[0].1.visitor_keys.len(), MAX_VISITORS);
    let total: i64 = drained[0].1.products.iter().map(|p| p.views).sum();
    assert_eq!(total, (MAX_VISITORS + 50) as i64, "every view counts");
}

#[tokio::test]
async fn a_flush_publishes_one_event_per_store_and_minute_on_the_bus() {
    use mercato_runtime::bus::{Delivery, MemoryBus};
    let bus: SharedBus = Arc::new(MemoryBus::new());
    let mut sub = bus
        .subscribe(PRODUCT_VIEWS_COUNTED, Delivery::Fanout)
        .await
        .unwrap();
    let counter = Arc::new(ProductViews::new(Duration::from_millis(20), None));
    let stop = Shutdown::new();
    counter.clone().start(bus.clone(), stop.clone());
    counter.count(
        "s1",
        "p1",
        Visitor::Customer("ann"),
        mercato_runtime::time::now_ms(),
    );
    let message = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap()
        .unwrap();
    let envelope = EventEnvelope::decode(message.payload.clone()).unwrap();
    assert_eq!(
        (envelope.store_id.as_str(), envelope.subject.as_str()),
        ("s1", PRODUCT_VIEWS_COUNTED)
    );
    let counted = ProductViewsCounted::decode(envelope.payload.as_slice()).unwrap();
    assert_eq!(views(&counted), [("p1", 1)]);
    message.ack().await;

    // What is counted before shutdown is flushed by it.
    counter.count(
        "s2",
        "p9",
        Visitor::Customer("bob"),
        mercato_runtime::time::now_ms(),
    );
    stop.cancel();
    let message = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap()
        .unwrap();
    let envelope = EventEnvelope::decode(message.payload.clone()).unwrap();
    assert_eq!(envelope.store_id, "s2");
}

#[test]
fn the_gateways_own_asks_are_nobodys_view() {
    let client = |internal| Client {
        addr: Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7))),
        user_agent: None,
        internal,
    };
    let (shopper, shadow_ask) = (client(false), client(true));
    assert!(shopper.visitor().is_some());
    assert!(Visitor::of(None, &shopper).is_some());
    assert!(shadow_ask.visitor().is_none());
    assert!(Visitor::of(None, &shadow_ask).is_none());
}
