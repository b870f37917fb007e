//! E-mail and webhooks when things go wrong, in both topologies: the sending process dies as
//! under `kill -9` (the embedded platform, or the distributed notifications process: its runtime
//! is dropped mid-flight, nothing drained, no lease released) while its deliveries are in flight
//! to a receiver that hangs (claimed under a lease) and its mails wait for an SMTP server answering
//! 451 — restarted, it loses no notification and sends no order's webhook under two ids; and an event
//! replayed on the bus (the same envelope published again) sends no second mail or webhook.

use crate::harness::{
    Platform, base_settings, distributed_with, embedded_killable, embedded_with, shared_turn,
};
use crate::notifications::{
    ARRIVAL, about, buyer, confirmed_order, mails_to, notifications_settings, register,
};
use mercato_proto::events::{EventEnvelope, OrderChanged};
use mercato_proto::subjects::orders::ORDER_CONFIRMED;
use mercato_runtime::bus::{Bus, Delivery, NatsBus};
use mercato_runtime::config::{Secret, Settings};
use mercato_runtime::env::{TEST_NATS_URL, test_url};
use mercato_runtime::testing::smtp::SmtpServer;
use mercato_runtime::testing::webhook_receiver::{Received, WebhookReceiver};
use prost::Message;
use std::collections::BTreeSet;
use std::time::Duration;

const ORDERS: usize = 3;

/// One topology's real servers and the settings pointing at them.
struct Servers {
    smtp: SmtpServer,
    receiver: WebhookReceiver,
    settings: Settings,
}

fn servers() -> Option<Servers> {
    let smtp = SmtpServer::start()?;
    let receiver = WebhookReceiver::start()?;
    let mut settings = base_settings();
    notifications_settings(&mut settings, &smtp);
    Some(Servers {
        smtp,
        receiver,
        settings,
    })
}

/// A store whose endpoint's receiver hangs (every delivery stays in flight, claimed) and whose
/// buyers' first mails the SMTP server answers 451, with [`ORDERS`] confirmed orders; returns the
/// orders' (id, buyer) pairs.
async fn orders_pending(p: &Platform, servers: &Servers) -> Vec<(String, String)> {
    let (store, owner, sku) = crate::checkout::store_with_stock(p, 100).await;
    register(p, &store, &owner, &servers.receiver, &["order.confirmed"]).await;
    servers.receiver.hang(Duration::from_secs(120));
    servers.smtp.set_failures(ORDERS as u32, &[]);
    let mut orders = Vec::new();
    for n in 0..ORDERS {
        let email = buyer(&format!("crash{n}"));
        orders.push((confirmed_order(p, &store, &sku, &email).await, email));
    }
    // Long enough for the confirmations to be learnt and first attempts made (in flight, 451);
    // short of the mails' first retry (5 s).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    orders
}

/// Every order's webhook arrived again after the restart (`since`, Unix seconds: the hung
/// requests were recorded but never answered), verified, under one `webhook-id` per order, and
/// every buyer got their mail (a resend after the crash carries the same Message-ID).
async fn nothing_lost(name: &str, servers: &Servers, orders: &[(String, String)], since: f64) {
    let delivered = |r: &Received| r.status == 200 && r.arrived_at >= since;
    let records = servers
        .receiver
        .wait_until(ARRIVAL * 3, |r| {
            orders
                .iter()
                .all(|(id, _)| about(r, id).iter().any(|r| delivered(r)))
        })
        .await;
    let mails = servers
        .smtp
        .wait_until(ARRIVAL * 2, |m| {
            orders.iter().all(|(_, email)| !mails_to(m, email).is_empty())
        })
        .await;
    for (id, email) in orders {
        let got = about(&records, id);
        assert!(
            got.iter().any(|r| delivered(r) && r.verified),
            "{name}: order {id} delivered: {records:?}"
        );
        let ids: BTreeSet<_> = got.iter().map(|r| r.webhook_id.clone()).collect();
        assert_eq!(ids.len(), 1, "{name}: one webhook-id for order {id}: {got:?}");
        let message_ids: BTreeSet<_> = mails_to(&mails, email)
            .iter()
            .map(|m| m.header("message-id").unwrap_or_default().to_owned())
            .collect();
        assert_eq!(message_ids.len(), 1, "{name}: one mail to {email}: {mails:?}");
    }
}

#[tokio::test]
async fn a_kill_9_of_the_sending_process_loses_no_notification_and_sends_no_webhook_under_two_ids() {
    // Shares the machine like every platform test, so load tests that need it alone wait.
    let turn = shared_turn().await;
    // Embedded: the whole platform dies and starts again on its data directory.
    let Some(servers) = servers() else { return };
    let (p, killable) = embedded_killable(servers.settings.clone()).await;
    let orders = orders_pending(&p, &servers).await;
    killable.kill();
    drop(p);
    servers.receiver.hang(Duration::ZERO);
    let since = unix_now();
    let (_restarted, again) = embedded_killable(servers.settings.clone()).await;
    nothing_lost("embedded", &servers, &orders, since).await;
    again.kill();

    // Distributed: only the notifications process dies, and starts again on its port.
    let Some(servers) = self::servers() else { return };
    let Some(p) = distributed_with(servers.settings.clone()).await else {
        return;
    };
    let p = p.holding(turn);
    let orders = orders_pending(&p, &servers).await;
    let notifications = p.notifications.as_ref().expect("its own process");
    notifications.kill();
    servers.receiver.hang(Duration::ZERO);
    let since = unix_now();
    notifications.restart().await;
    nothing_lost("distributed", &servers, &orders, since).await;
}

/// Now, in Unix seconds (the receiver's clock for `arrived_at`).
fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64()
}

/// The `order_confirmed` envelope of `order_id` as it crossed the bus, within 30 s.
async fn confirmed_envelope(
    sub: &mut mercato_runtime::bus::Subscription,
    order_id: &str,
) -> (String, EventEnvelope) {
    loop {
        let message = tokio::time::timeout(ARRIVAL, sub.next())
            .await
            .expect("the confirmation crosses the bus")
            .expect("a subscription");
        let envelope = EventEnvelope::decode(message.payload.clone()).expect("an envelope");
        let subject = message.subject.clone();
        message.ack().await;
        let changed = OrderChanged::decode(envelope.payload.as_slice()).expect("an order event");
        if changed.order.is_some_and(|o| o.id == order_id) {
            return (subject, envelope);
        }
    }
}

/// A checkout's confirmation, published on the bus again (the same envelope under a new
/// JetStream message id, so the stream keeps it): no second mail and no second delivery.
async fn replay_changes_nothing(p: &Platform, servers: &Servers, nats: &str, namespace: &str) {
    let bus = NatsBus::connect_namespaced(nats, namespace).await.unwrap();
    let mut sub = bus.subscribe(ORDER_CONFIRMED, Delivery::Fanout).await.unwrap();
    let (store, owner, sku) = crate::checkout::store_with_stock(p, 10).await;
    register(p, &store, &owner, &servers.receiver, &["order.confirmed"]).await;
    let email = buyer("replayed");
    let order_id = confirmed_order(p, &store, &sku, &email).await;
    let (subject, envelope) = confirmed_envelope(&mut sub, &order_id).await;
    servers
        .smtp
        .wait_until(ARRIVAL, |m| !mails_to(m, &email).is_empty())
        .await;
    servers
        .receiver
        .wait_until(ARRIVAL, |r| !about(r, &order_id).is_empty())
        .await;
    let replay_id = format!("replay-{}", uuid::Uuid::now_v7());
    bus.publish(&subject, &replay_id, envelope.encode_to_vec().into())
        .await
        .expect("published again");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mails = servers.smtp.received();
    assert_eq!(mails_to(&mails, &email).len(), 1, "{}: {mails:?}", p.name);
    let records = servers.receiver.records();
    assert_eq!(about(&records, &order_id).len(), 1, "{}: {records:?}", p.name);
}

#[tokio::test]
async fn a_replayed_event_sends_no_second_mail_or_webhook() {
    let Some(nats) = test_url(TEST_NATS_URL) else {
        eprintln!("no NATS to replay events on: skipped");
        return;
    };
    let turn = shared_turn().await;
    // Embedded, given a NATS bus so that the test can publish on it.
    let Some(servers) = servers() else { return };
    let namespace = format!("e2ereplay{}", &uuid::Uuid::now_v7().simple().to_string()[16..]);
    let _guard = mercato_runtime::testing::NatsNamespaceGuard::new(&nats, &namespace);
    let mut settings = servers.settings.clone();
    settings.nats.url = Some(Secret::new(nats.clone()));
    settings.nats.namespace = namespace.clone();
    let embedded = embedded_with(settings).await.holding(turn.clone());
    replay_changes_nothing(&embedded, &servers, &nats, &namespace).await;
    drop(embedded);

    let Some(servers) = self::servers() else { return };
    if let Some(distributed) = distributed_with(servers.settings.clone()).await {
        let distributed = distributed.holding(turn);
        let namespace = distributed.nats_namespace.clone().unwrap();
        replay_changes_nothing(&distributed, &servers, &nats, &namespace).await;
    }
}
