//! Webhooks end to end on each backend: events in through the consumer's apply, deliveries out
//! through the real outbound client to a real HTTP receiver on 127.0.0.1, signatures checked by
//! computing them independently here.

use crate::email_support::{self, STORE};
use crate::support::{Builder, Harness, event, eventually};
use crate::webhooks_receiver::{Receiver, Request};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mercato_proto::common::Role;
use mercato_proto::events::{LowStock, OrderChanged};
use mercato_proto::inventory::StockLevel;
use mercato_proto::notifications::*;
use mercato_proto::orders::Order;
use mercato_proto::subjects;
use mercato_runtime::testing::Backend;
use std::time::Duration;

mercato_runtime::backend_tests! {
    setup: |b| async move { b },
    cases: [
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        events_are_delivered_signed_once,
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        failures_are_retried_with_growing_delays,
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        rotation_signs_with_both_secrets,
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        an_endpoint_failing_for_retry_for_is_disabled_and_its_owner_told,
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        redelivery_keeps_the_webhook_id,
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        a_hanging_receiver_does_not_delay_other_stores,
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        a_lapsed_claim_is_taken_over,
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        the_standard_webhooks_library_verifies_deliveries,
    ],
}

pub(crate) fn order_event(
    store: &str,
    subject: &str,
    order_id: &str,
) -> mercato_proto::events::EventEnvelope {
    let order = Order {
        id: order_id.to_owned(),
        store_id: store.to_owned(),
        currency: "EUR".to_owned(),
        total_minor: 4200,
        ..Default::default()
    };
    event(store, subject, &OrderChanged { order: Some(order) })
}

pub(crate) async fn endpoint(h: &Harness, store: &str, url: &str, types: &[&str]) -> EndpointWithSecret {
    h.service
        .webhooks
        .create_endpoint(CreateEndpointRequest {
            store_id: store.to_owned(),
            url: url.to_owned(),
            event_types: types.iter().map(|t| (*t).to_owned()).collect(),
            description: "test".to_owned(),
        })
        .await
        .expect("endpoint created")
}

/// The signature of a request under `secret`, computed here from the specification.
pub(crate) fn expected_signature(secret: &str, r: &Request) -> String {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let mut signed = format!(
        "{}.{}.",
        r.header("webhook-id").unwrap(),
        r.header("webhook-timestamp").unwrap()
    )
    .into_bytes();
    signed.extend_from_slice(&r.body);
    format!("v1,{}", STANDARD.encode(ring::hmac::sign(&key, &signed).as_ref()))
}

pub(crate) async fn local(backend: Backend) -> Harness {
    Builder::new(backend).local_receivers().build().await
}

pub(crate) async fn deliveries(h: &Harness, store: &str, endpoint: &str) -> Vec<Delivery> {
    h.service
        .webhooks
        .list_deliveries(ListDeliveriesRequest {
            store_id: store.to_owned(),
            endpoint_id: endpoint.to_owned(),
            ..Default::default()
        })
        .await
        .expect("deliveries")
        .deliveries
}

async fn events_are_delivered_signed_once(backend: Backend) {
    let h = local(backend).await;
    let receiver = Receiver::start().await;
    let created = endpoint(&h, "s1", &receiver.url(), &["order.confirmed"]).await;
    let id = created.endpoint.as_ref().unwrap().id.clone();
    let confirmed = order_event("s1", subjects::orders::ORDER_CONFIRMED, "o1");
    let placed = order_event("s1", subjects::orders::ORDER_PLACED, "o1");
    let other_store = order_event("s2", subjects::orders::ORDER_CONFIRMED, "o2");
    h.service
        .apply(vec![confirmed.clone(), placed, other_store])
        .await
        .unwrap();

    let got = receiver.wait_for(1, 10).await;
    assert_eq!(got.len(), 1, "one delivery: {got:?}");
    let r = &got[0];
    assert_eq!(r.header("webhook-id"), Some(confirmed.id.as_str()));
    let ts: i64 = r.header("webhook-timestamp").unwrap().parse().unwrap();
    assert!((ts - mercato_runtime::time::now_ms() / 1000).abs() < 60);
    assert_eq!(
        r.header("webhook-signature"),
        Some(expected_signature(&created.secret, r).as_str())
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body = r.json();
    assert_eq!(body["type"], "order.confirmed");
    assert_eq!(body["data"]["id"], "o1");
    assert_eq!(body["data"]["total_minor"], 4200);
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));

    // A replay of the same event changes nothing.
    h.service.apply(vec![confirmed.clone()]).await.unwrap();
    assert!(
        eventually(5, || async {
            deliveries(&h, "s1", &id).await[0].status == DeliveryStatus::Succeeded as i32
        })
        .await
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.requests().len(), 1);
    let log = deliveries(&h, "s1", &id).await;
    assert_eq!(log.len(), 1);
    let one = h
        .service
        .webhooks
        .get_delivery(DeliveryRequest {
            store_id: "s1".into(),
            delivery_id: log[0].id.clone(),
        })
        .await
        .unwrap();
    assert_eq!(one.attempt_log.len(), 1);
    assert_eq!(one.attempt_log[0].status_code, 200);
    assert_eq!(one.attempt_log[0].response_excerpt, "received");
    assert_eq!(one.payload_json.as_bytes(), r.body.as_slice());
    assert_eq!(one.event_id, confirmed.id);
    // Another store cannot see it.
    let hidden = h
        .service
        .webhooks
        .get_delivery(DeliveryRequest {
            store_id: "s2".into(),
            delivery_id: log[0].id.clone(),
        })
        .await;
    assert!(hidden.is_err());
    let endpoint = h
        .service
        .webhooks
        .get_endpoint(EndpointRequest {
            store_id: "s1".into(),
            endpoint_id: id,
        })
        .await
        .unwrap();
    assert!(endpoint.last_success_at_ms > 0);
    assert_eq!(endpoint.failing_since_ms, 0);
}

async fn failures_are_retried_with_growing_delays(backend: Backend) {
    let h = local(backend).await;
    let receiver = Receiver::start().await;
    receiver.fail_next(3, 500);
    let created = endpoint(&h, "s1", &receiver.url(), &["*"]).await;
    let low = LowStock {
        level: Some(StockLevel {
            sku: "SKU-1".into(),
            location: "main".into(),
            available: 1,
            ..Default::default()
        }),
    };
    let e = event("s1", subjects::inventory::LOW_STOCK, &low);
    h.service.apply(vec![e.clone()]).await.unwrap();
    let got = receiver.wait_for(4, 20).await;
    assert_eq!(got.len(), 4, "three failures and a success");
    assert_eq!(
        got.iter().map(|r| r.status).collect::<Vec<_>>(),
        [500, 500, 500, 200]
    );
    assert!(got.iter().all(|r| r.header("webhook-id") == Some(e.id.as_str())));
    assert!(
        got.iter().all(|r| r.body == got[0].body),
        "the same body on every attempt"
    );
    for r in &got {
        assert_eq!(
            r.header("webhook-signature"),
            Some(expected_signature(&created.secret, r).as_str())
        );
    }
    let gaps: Vec<Duration> = got.windows(2).map(|w| w[1].at - w[0].at).collect();
    // The schedule is 50 ms ×4 per attempt up to 500 ms (`local_receivers`), ±20 %, counted from
    // when the failure was recorded, so each gap is at least its delay's floor (a busy machine
    // only adds to it), and each floor is above the previous delay's ceiling: the delays grow.
    assert!(gaps[0] >= Duration::from_millis(35), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(150), "delays grow: {gaps:?}");
    assert!(gaps[2] >= Duration::from_millis(390), "delays grow: {gaps:?}");
    let id = created.endpoint.unwrap().id;
    assert!(
        eventually(5, || async {
            let d = deliveries(&h, "s1", &id).await;
            d[0].status == DeliveryStatus::Succeeded as i32 && d[0].attempts == 4
        })
        .await
    );
    let d = &deliveries(&h, "s1", &id).await[0];
    let one = h
        .service
        .webhooks
        .get_delivery(DeliveryRequest {
            store_id: "s1".into(),
            delivery_id: d.id.clone(),
        })
        .await
        .unwrap();
    let codes: Vec<u32> = one.attempt_log.iter().map(|a| a.status_code).collect();
    assert_eq!(codes, [500, 500, 500, 200]);
    assert_eq!(one.attempt_log[0].error, "HTTP 500");
}

async fn rotation_signs_with_both_secrets(backend: Backend) {
    let h = local(backend).await;
    let receiver = Receiver::start().await;
    let created = endpoint(&h, "s1", &receiver.url(), &["order.confirmed"]).await;
    let id = created.endpoint.unwrap().id;
    let rotated = h
        .service
        .webhooks
        .rotate_secret(RotateSecretRequest {
            store_id: "s1".into(),
            endpoint_id: id.clone(),
            overlap_seconds: Some(3600),
        })
        .await
        .unwrap();
    assert_ne!(rotated.secret, created.secret);
    let e = rotated.endpoint.unwrap();
    assert!(e.previous_secret_expires_at_ms > mercato_runtime::time::now_ms());
    assert!(rotated.secret.ends_with(&e.secret_hint));
    h.service
        .webhooks
        .send_test_event(EndpointRequest {
            store_id: "s1".into(),
            endpoint_id: id.clone(),
        })
        .await
        .unwrap();
    let got = receiver.wait_for(1, 10).await;
    let r = &got[0];
    let header = r.header("webhook-signature").unwrap();
    let parts: Vec<&str> = header.split(' ').collect();
    assert_eq!(parts.len(), 2, "{header}");
    assert!(parts.contains(&expected_signature(&rotated.secret, r).as_str()));
    assert!(parts.contains(&expected_signature(&created.secret, r).as_str()));
    let body = r.json();
    assert_eq!(body["type"], "webhook.test");
    assert_eq!(body["data"]["endpoint_id"], id.as_str());
    let too_long = h
        .service
        .webhooks
        .rotate_secret(RotateSecretRequest {
            store_id: "s1".into(),
            endpoint_id: id.clone(),
            overlap_seconds: Some(8 * 24 * 3600),
        })
        .await;
    assert!(too_long.is_err());
    // No overlap: a leaked secret stops signing at once.
    let revoked = h
        .service
        .webhooks
        .rotate_secret(RotateSecretRequest {
            store_id: "s1".into(),
            endpoint_id: id.clone(),
            overlap_seconds: Some(0),
        })
        .await
        .unwrap();
    assert_eq!(revoked.endpoint.unwrap().previous_secret_expires_at_ms, 0);
    h.service
        .webhooks
        .send_test_event(EndpointRequest {
            store_id: "s1".into(),
            endpoint_id: id,
        })
        .await
        .unwrap();
    let got = receiver.wait_for(2, 10).await;
    let header = got[1].header("webhook-signature").unwrap();
    assert_eq!(
        header,
        expected_signature(&revoked.secret, &got[1]),
        "one signature"
    );
}

async fn an_endpoint_failing_for_retry_for_is_disabled_and_its_owner_told(backend: Backend) {
    let h = Builder::new(backend)
        .local_receivers()
        .webhooks(|w| w.retry_for = Duration::from_millis(400))
        .build()
        .await;
    // The store and its owner, as identity's events tell the e-mail directory.
    let owner = email_support::account_created("u-owner", "owner@example.com", Role::Owner, "Olive");
    h.service
        .apply(vec![email_support::store_provisioned(), owner])
        .await
        .unwrap();
    let receiver = Receiver::start().await;
    receiver.fail_next(u32::MAX, 503);
    let created = endpoint(&h, STORE, &receiver.url(), &["order.confirmed"]).await;
    let id = created.endpoint.unwrap().id;
    h.service
        .apply(vec![order_event(STORE, subjects::orders::ORDER_CONFIRMED, "o1")])
        .await
        .unwrap();
    let get = || async {
        h.service
            .webhooks
            .get_endpoint(EndpointRequest {
                store_id: STORE.into(),
                endpoint_id: id.clone(),
            })
            .await
            .unwrap()
    };
    assert!(
        eventually(10, || async {
            get().await.status == EndpointStatus::Failing as i32
        })
        .await,
        "the endpoint is disabled for failing"
    );
    let e = get().await;
    assert!(e.disabled_reason.contains("HTTP 503"), "{}", e.disabled_reason);
    let d = &deliveries(&h, STORE, &id).await[0];
    assert_eq!(d.status, DeliveryStatus::Dead as i32);
    assert!(d.attempts >= 2);
    // WebhookEndpointDisabled is in the outbox, for the staff feed.
    let (n,): (i64,) = h
        .service
        .db()
        .query_one(
            "SELECT COUNT(*) FROM outbox WHERE subject = $1",
            &[&subjects::notifications::WEBHOOK_ENDPOINT_DISABLED],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    // The owner is told by mail (an `email.send` job in the same transaction).
    assert_eq!(email_support::jobs_to(&h, "owner@example.com").await.len(), 1);
    // New events are not delivered while it is failing; enabling clears the failure.
    h.service
        .apply(vec![order_event(STORE, subjects::orders::ORDER_CONFIRMED, "o2")])
        .await
        .unwrap();
    assert_eq!(deliveries(&h, STORE, &id).await.len(), 1);
    let enabled = h
        .service
        .webhooks
        .update_endpoint(UpdateEndpointRequest {
            store_id: STORE.into(),
            endpoint_id: id.clone(),
            enabled: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(enabled.status, EndpointStatus::Enabled as i32);
    assert_eq!(enabled.failing_since_ms, 0);
    assert!(enabled.disabled_reason.is_empty());
}

async fn redelivery_keeps_the_webhook_id(backend: Backend) {
    let h = local(backend).await;
    let receiver = Receiver::start().await;
    let created = endpoint(&h, "s1", &receiver.url(), &["order.confirmed"]).await;
    let id = created.endpoint.unwrap().id;
    let e = order_event("s1", subjects::orders::ORDER_CONFIRMED, "o1");
    h.service.apply(vec![e.clone()]).await.unwrap();
    receiver.wait_for(1, 10).await;
    let first = deliveries(&h, "s1", &id).await[0].clone();
    let again = h
        .service
        .webhooks
        .redeliver(DeliveryRequest {
            store_id: "s1".into(),
            delivery_id: first.id.clone(),
        })
        .await
        .unwrap();
    assert!(again.manual);
    assert_ne!(again.id, first.id);
    assert_eq!(again.event_id, e.id);
    let got = receiver.wait_for(2, 10).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].header("webhook-id"), Some(e.id.as_str()));
    assert_eq!(got[1].body, got[0].body);
    // The log pages newest first.
    let page = h
        .service
        .webhooks
        .list_deliveries(ListDeliveriesRequest {
            store_id: "s1".into(),
            endpoint_id: id.clone(),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.deliveries[0].id, again.id);
    assert!(!page.next.is_empty());
    let rest = h
        .service
        .webhooks
        .list_deliveries(ListDeliveriesRequest {
            store_id: "s1".into(),
            endpoint_id: id,
            limit: 1,
            after: page.next,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(rest.deliveries[0].id, first.id);
    assert!(rest.next.is_empty());
}

async fn a_hanging_receiver_does_not_delay_other_stores(backend: Backend) {
    let h = Builder::new(backend)
        .local_receivers()
        .webhooks(|w| {
            w.per_store_concurrency = 2;
            w.timeout = Duration::from_secs(30);
        })
        .build()
        .await;
    let slow = Receiver::start().await;
    slow.hang(Duration::from_secs(30));
    let fast = Receiver::start().await;
    endpoint(&h, "slow", &slow.url(), &["*"]).await;
    endpoint(&h, "fast", &fast.url(), &["*"]).await;
    let flood: Vec<_> = (0..50)
        .map(|i| order_event("slow", subjects::orders::ORDER_CONFIRMED, &format!("o{i}")))
        .collect();
    h.service.apply(flood).await.unwrap();
    slow.wait_for(2, 5).await;
    let started = std::time::Instant::now();
    for i in 0..5 {
        h.service
            .apply(vec![order_event(
                "fast",
                subjects::orders::ORDER_CONFIRMED,
                &format!("f{i}"),
            )])
            .await
            .unwrap();
    }
    let got = fast.wait_for(5, 10).await;
    assert_eq!(got.len(), 5);
    assert!(
        // Far below the slow store's 30 s hang, with room for a busy machine.
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        slow.requests().len(),
        2,
        "the hanging store holds only its own two slots"
    );
}

async fn a_lapsed_claim_is_taken_over(backend: Backend) {
    let h = Builder::new(backend)
        .local_receivers()
        .dispatcher(false)
        .build()
        .await;
    let receiver = Receiver::start().await;
    endpoint(&h, "s1", &receiver.url(), &["order.confirmed"]).await;
    let e = order_event("s1", subjects::orders::ORDER_CONFIRMED, "o1");
    h.service.apply(vec![e.clone()]).await.unwrap();
    // As if a process claimed it and died mid-send: leased to another owner until soon.
    let until = mercato_runtime::time::now_ms() + 500;
    h.service
        .db()
        .write("test", move |tx| {
            tx.execute(
                "UPDATE webhook_deliveries SET lease_owner = 'gone', lease_until = $1, next_attempt_at = $1",
                &[&until],
            )
        })
        .await
        .unwrap();
    h.service.webhooks.start(h.shutdown.clone());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(receiver.requests().is_empty(), "not before the lease lapses");
    let got = receiver.wait_for(1, 10).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].header("webhook-id"), Some(e.id.as_str()));
}

/// The specification's own Python library (`standardwebhooks`, in W5's receiver) accepts what
/// is sent, before and after a rotation.
async fn the_standard_webhooks_library_verifies_deliveries(backend: Backend) {
    let Some(receiver) = mercato_runtime::testing::webhook_receiver::WebhookReceiver::start() else {
        return;
    };
    let h = local(backend).await;
    let created = endpoint(&h, "s1", &receiver.url(), &["order.confirmed"]).await;
    let id = created.endpoint.unwrap().id;
    receiver.set_secrets(&[&created.secret]);
    let e = order_event("s1", subjects::orders::ORDER_CONFIRMED, "o1");
    h.service.apply(vec![e.clone()]).await.unwrap();
    let got = receiver
        .wait_until(Duration::from_secs(10), |r| !r.is_empty())
        .await;
    assert_eq!(got.len(), 1);
    assert!(got[0].verified, "{}", got[0].error);
    assert_eq!(got[0].webhook_id.as_deref(), Some(e.id.as_str()));
    assert_eq!(got[0].event_type.as_deref(), Some("order.confirmed"));
    let rotated = h
        .service
        .webhooks
        .rotate_secret(RotateSecretRequest {
            store_id: "s1".into(),
            endpoint_id: id.clone(),
            overlap_seconds: None,
        })
        .await
        .unwrap();
    // A receiver that knows only the new secret verifies; so does one that knows only the old.
    receiver.set_secrets(&[&rotated.secret]);
    h.service
        .webhooks
        .send_test_event(EndpointRequest {
            store_id: "s1".into(),
            endpoint_id: id.clone(),
        })
        .await
        .unwrap();
    let got = receiver
        .wait_until(Duration::from_secs(10), |r| r.len() >= 2)
        .await;
    assert!(got[1].verified, "{}", got[1].error);
    receiver.set_secrets(&[&created.secret]);
    h.service
        .webhooks
        .send_test_event(EndpointRequest {
            store_id: "s1".into(),
            endpoint_id: id,
        })
        .await
        .unwrap();
    let got = receiver
        .wait_until(Duration::from_secs(10), |r| r.len() >= 3)
        .await;
    assert!(got[2].verified, "{}", got[2].error);
}
