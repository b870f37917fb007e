//! Product page views reach the bus: a gateway counts the REST product read (whether the route
//! or the edge's read cache answers it) and the shop's product page (once: it reads through the
//! same route) and publishes them as `mercato.gateway.product_views_counted` within its flush
//! interval — from the gateway process itself in the distributed topology. Watched on NATS in
//! both topologies (the embedded one is given a NATS bus for it).

use crate::harness::{Platform, base_settings, distributed_with, embedded_with, shared_turn};
use mercato_proto::events::{EventEnvelope, ProductViewsCounted};
use mercato_proto::subjects::gateway::PRODUCT_VIEWS_COUNTED;
use mercato_runtime::bus::{Bus, Delivery, NatsBus};
use mercato_runtime::config::{Secret, Settings};
use mercato_runtime::env::{TEST_NATS_URL, test_url};
use prost::Message;
use serde_json::json;
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery";
const FLUSH: Duration = Duration::from_millis(300);

fn settings() -> Settings {
    let mut s = base_settings();
    s.http.product_views_flush = FLUSH;
    s
}

/// Views of `product` in `store_id` published on `namespace` until `want` arrived (10 s at
/// most), and the visitor keys they named.
async fn views_on_bus(
    sub: &mut mercato_runtime::bus::Subscription,
    store_id: &str,
    product: &str,
    want: i64,
) -> (i64, usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let (mut views, mut visitors) = (0, std::collections::HashSet::new());
    while views < want {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(Some(message)) = tokio::time::timeout(left, sub.next()).await else {
            break;
        };
        let envelope = EventEnvelope::decode(message.payload.clone()).unwrap();
        message.ack().await;
        if envelope.store_id != store_id {
            continue;
        }
        let counted = ProductViewsCounted::decode(envelope.payload.as_slice()).unwrap();
        assert_eq!(counted.minute_start_ms % 60_000, 0);
        views += counted
            .products
            .iter()
            .filter(|p| p.product_id == product)
            .map(|p| p.views)
            .sum::<i64>();
        visitors.extend(counted.visitor_keys);
    }
    (views, visitors.len())
}

async fn check(p: &Platform, nats: &str, namespace: &str) {
    let bus = NatsBus::connect_namespaced(nats, namespace).await.unwrap();
    let mut sub = bus
        .subscribe(PRODUCT_VIEWS_COUNTED, Delivery::Fanout)
        .await
        .unwrap();
    let (store, created) = p.provision(0).await;
    let store_id = created["store"]["id"].as_str().unwrap().to_owned();
    let (owner, _) = p.sign_in(0, &store, "owner@example.com", PASSWORD).await;
    let body = json!({"slug": "wool-scarf", "title": "Wool scarf", "status": "active",
        "variants": [{"sku": "SCARF-1", "price": {"amount_minor": 1900, "currency": "EUR"}}]});
    let made = p
        .post(0, &format!("/v1/stores/{store}/products"), Some(&owner), &body)
        .await;
    assert_eq!(made.status, 201, "{}: {}", p.name, made.body);
    let product = made.body["id"].as_str().unwrap().to_owned();

    // The owner's own read is not a view; a shopper's reads are, the second maybe from the cache.
    let own = p
        .get(0, &format!("/v1/stores/{store}/products/{product}"), Some(&owner))
        .await;
    assert_eq!(own.status, 200, "{}", p.name);
    for path in [
        format!("/v1/stores/{store}/products/{product}"),
        format!("/v1/stores/{store}/products/wool-scarf"),
    ] {
        let read = p
            .send(
                0,
                p.http
                    .get(format!("{}{path}", p.gateway(0)))
                    .header("user-agent", "Shopper/1.0"),
            )
            .await;
        assert_eq!(read.status, 200, "{}: {}", p.name, read.body);
    }
    let again = p
        .send(
            0,
            p.http
                .get(format!("{}/v1/stores/{store}/products/wool-scarf", p.gateway(0))),
        )
        .await;
    assert_eq!(again.status, 200, "{}", p.name);
    let page = p
        .http
        .get(format!("{}/s/{store}/p/wool-scarf", p.gateway(0)))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "{}: the shop's product page", p.name);

    let (views, visitors) = views_on_bus(&mut sub, &store_id, &product, 4).await;
    assert_eq!(views, 4, "{}: three API reads and one page", p.name);
    assert!(visitors >= 1, "{}", p.name);
    // Nothing more arrives: the page read the product once, the owner not at all.
    tokio::time::sleep(FLUSH * 3).await;
    let (more, _) = views_on_bus(&mut sub, &store_id, &product, 1).await;
    assert_eq!(more, 0, "{}: counted once each", p.name);
}

#[tokio::test]
async fn a_product_view_reaches_the_bus_within_the_flush_in_both_topologies() {
    let Some(nats) = test_url(TEST_NATS_URL) else {
        eprintln!("no NATS to watch: skipped");
        return;
    };
    let turn = shared_turn().await;
    let namespace = format!("e2eviews{}", &uuid::Uuid::now_v7().simple().to_string()[16..]);
    let _guard = mercato_runtime::testing::NatsNamespaceGuard::new(&nats, &namespace);
    let mut s = settings();
    s.nats.url = Some(Secret::new(nats.clone()));
    s.nats.namespace = namespace.clone();
    let embedded = embedded_with(s).await.holding(turn.clone());
    check(&embedded, &nats, &namespace).await;
    drop(embedded);
    if let Some(distributed) = distributed_with(settings()).await {
        let distributed = distributed.holding(turn);
        let namespace = distributed.nats_namespace.clone().unwrap();
        check(&distributed, &nats, &namespace).await;
    }
}
