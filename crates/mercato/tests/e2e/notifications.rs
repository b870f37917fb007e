//! E-mail and webhooks end to end, in both topologies, against real servers: an SMTP server
//! (`aiosmtpd`) and a webhook receiver that verifies every request with the Standard Webhooks
//! Python library. A checkout sends exactly one confirmation mail and one verified
//! `order.confirmed` delivery; a receiver answering 500 three times gets the event on the fourth
//! attempt after growing gaps, and the delivery log shows all four; an `http://127.0.0.1` endpoint
//! is refused where the deployment does not allow it (the other tests allow it: development
//! settings with `allowed_ranges = ["127.0.0.0/8"]`). Without a usable Python (see
//! `scripts/test-python.sh`) the tests pass without running, unless
//! `MERCATO_TEST_REQUIRE_PYTHON=1`.

use crate::analytics::order;
use crate::checkout::{APPROVE, store_with_stock};
use crate::harness::{Platform, platforms, platforms_configured};
use mercato_runtime::config::{Secret, Settings};
use mercato_runtime::testing::smtp::{ReceivedMail, SmtpServer};
use mercato_runtime::testing::webhook_receiver::{Received, WebhookReceiver};
use serde_json::{Value, json};
use std::time::Duration;

/// How long a notification may take to arrive (debug builds beside parallel tests).
pub(crate) const ARRIVAL: Duration = Duration::from_secs(30);

/// Mail through `smtp`, webhooks allowed to reach this machine over plain HTTP (development
/// settings), and retries fast enough for a test: 200 ms, then ×4 up to 2 s.
pub(crate) fn notifications_settings(s: &mut Settings, smtp: &SmtpServer) {
    s.notifications.smtp_url = Some(Secret::new(smtp.url()));
    s.notifications.webhooks.allow_http = true;
    s.notifications.webhooks.allowed_ranges = vec!["127.0.0.0/8".parse().expect("a range")];
    s.notifications.webhooks.retry_base = Duration::from_millis(200);
    s.notifications.webhooks.retry_max = Duration::from_secs(2);
    s.notifications.webhooks.connect_timeout = Duration::from_secs(1);
    s.notifications.webhooks.timeout = Duration::from_secs(3);
}

/// Registers `receiver` for `types` as the store's owner; trusts the secret it was given.
/// Returns the endpoint's id.
pub(crate) async fn register(
    p: &Platform,
    store: &str,
    owner: &str,
    receiver: &WebhookReceiver,
    types: &[&str],
) -> String {
    let body = json!({"url": receiver.url(), "event_types": types, "description": "e2e"});
    let created = p
        .post(0, &format!("/v1/stores/{store}/webhooks"), Some(owner), &body)
        .await;
    assert_eq!(created.status, 201, "{}: {}", p.name, created.body);
    let secret = created.body["secret"].as_str().expect("the secret, once");
    assert!(secret.starts_with("whsec_"), "{}: {secret}", p.name);
    receiver.set_secrets(&[secret]);
    created.body["webhook"]["id"].as_str().expect("an id").to_owned()
}

/// A unique customer address for one order of one test.
pub(crate) fn buyer(what: &str) -> String {
    let run = uuid::Uuid::now_v7().simple().to_string();
    format!("{what}-{}@example.com", &run[20..])
}

/// Checks out one unit as the guest `email`; the new order's id.
pub(crate) async fn confirmed_order(p: &Platform, store: &str, sku: &str, email: &str) -> String {
    let placed = order(p, store, sku, 1, email, APPROVE).await;
    assert_eq!(placed.status, 201, "{}: {}", p.name, placed.body);
    placed.body["id"].as_str().expect("an order id").to_owned()
}

/// The receiver's requests about `order_id`.
pub(crate) fn about<'a>(records: &'a [Received], order_id: &str) -> Vec<&'a Received> {
    records
        .iter()
        .filter(|r| r.payload["data"]["id"].as_str() == Some(order_id))
        .collect()
}

/// The mails whose envelope names `email`.
pub(crate) fn mails_to<'a>(mails: &'a [ReceivedMail], email: &str) -> Vec<&'a ReceivedMail> {
    mails
        .iter()
        .filter(|m| m.rcpt_tos.iter().any(|r| r.eq_ignore_ascii_case(email)))
        .collect()
}

/// Starts the real SMTP server and webhook receivers, or `None` (the test passes without
/// running; they said why) when no Python can run them.
fn servers() -> Option<SmtpServer> {
    let smtp = SmtpServer::start()?;
    // Also checks the receiver's modules once, before platforms are built.
    WebhookReceiver::start()?;
    Some(smtp)
}

#[tokio::test]
async fn a_checkout_sends_one_mail_and_one_verified_webhook_and_a_failing_receiver_gets_it_on_the_fourth_attempt()
 {
    let Some(smtp) = servers() else { return };
    // Gaps of 300 ms, 1.2 s and 4.8 s (±20 %): far enough apart that a busy machine's
    // scheduling delays cannot reorder them.
    let settings = |s: &mut Settings| {
        notifications_settings(s, &smtp);
        s.notifications.webhooks.retry_base = Duration::from_millis(300);
        s.notifications.webhooks.retry_max = Duration::from_secs(10);
    };
    for p in platforms_configured(settings).await {
        let (store, owner, sku) = store_with_stock(&p, 100).await;
        let receiver = WebhookReceiver::start().expect("started once already");
        let endpoint = register(&p, &store, &owner, &receiver, &["order.confirmed"]).await;
        one_mail_and_one_verified_delivery(&p, &smtp, &receiver, &store, &sku).await;

        let failing = WebhookReceiver::start().expect("started once already");
        let failing_endpoint = register(&p, &store, &owner, &failing, &["order.confirmed"]).await;
        failing.fail_next(3, 500);
        let order_id = confirmed_order(&p, &store, &sku, &buyer("retried")).await;
        let attempts = failing
            .wait_until(ARRIVAL, |r| about(r, &order_id).iter().any(|r| r.status == 200))
            .await;
        let attempts = about(&attempts, &order_id);
        growing_gaps(&p, &attempts);
        delivery_log_shows_four_attempts(&p, &store, &owner, &failing_endpoint, &order_id).await;
        // The first endpoint got the second order too, once.
        let first = receiver
            .wait_until(ARRIVAL, |r| !about(r, &order_id).is_empty())
            .await;
        assert_eq!(about(&first, &order_id).len(), 1, "{}: {first:?}", p.name);
        let _ = endpoint;
    }
}

/// A checkout: exactly one confirmation mail to the buyer (with the event's id) and exactly one
/// `order.confirmed` delivery, which the receiver verified with the Standard Webhooks library.
async fn one_mail_and_one_verified_delivery(
    p: &Platform,
    smtp: &SmtpServer,
    receiver: &WebhookReceiver,
    store: &str,
    sku: &str,
) {
    let email = buyer("confirmed");
    let order_id = confirmed_order(p, store, sku, &email).await;
    let records = receiver
        .wait_until(ARRIVAL, |r| !about(r, &order_id).is_empty())
        .await;
    let mails = smtp
        .wait_until(ARRIVAL, |m| !mails_to(m, &email).is_empty())
        .await;
    // Anything sent twice would have arrived by now.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let records = [records, receiver.records()].concat();
    let deliveries: std::collections::BTreeSet<_> = about(&records, &order_id)
        .iter()
        .map(|r| (r.webhook_id.clone(), r.status))
        .collect();
    assert_eq!(deliveries.len(), 1, "{}: one delivery: {records:?}", p.name);
    let delivered = about(&receiver.records(), &order_id)[0].clone();
    assert!(delivered.verified, "{}: {delivered:?}", p.name);
    assert_eq!(delivered.status, 200, "{}", p.name);
    assert_eq!(delivered.event_type.as_deref(), Some("order.confirmed"));
    assert_eq!(delivered.payload["type"], "order.confirmed", "{}", p.name);
    assert!(delivered.payload["timestamp"].is_string(), "{}", p.name);
    assert_eq!(about(&receiver.records(), &order_id).len(), 1, "{}", p.name);

    let mails = [mails, smtp.received()].concat();
    let mut ids: Vec<_> = mails_to(&mails, &email)
        .iter()
        .map(|m| m.header("message-id").unwrap_or_default().to_owned())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 1, "{}: one mail: {mails:?}", p.name);
    let mail = mails_to(&smtp.received(), &email)[0].clone();
    assert_eq!(mails_to(&smtp.received(), &email).len(), 1, "{}", p.name);
    assert!(
        mail.header("x-mercato-event-id").is_some(),
        "{}: {mail:?}",
        p.name
    );
    assert_eq!(
        mail.header("x-mercato-event-id"),
        delivered.webhook_id.as_deref(),
        "{}: the mail and the webhook name the same event",
        p.name
    );
}

/// Four attempts with one `webhook-id`, answered 500, 500, 500, 200, after growing delays.
fn growing_gaps(p: &Platform, attempts: &[&Received]) {
    let statuses: Vec<u16> = attempts.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [500, 500, 500, 200], "{}: {attempts:?}", p.name);
    let ids: std::collections::BTreeSet<_> = attempts.iter().map(|r| r.webhook_id.clone()).collect();
    assert_eq!(ids.len(), 1, "{}: one webhook-id on every attempt", p.name);
    assert!(attempts.iter().all(|r| r.verified), "{}: {attempts:?}", p.name);
    let gaps: Vec<f64> = attempts
        .windows(2)
        .map(|w| w[1].arrived_at - w[0].arrived_at)
        .collect();
    // 300 ms ×4 per attempt, ±20 %, counted from when the failure was recorded: each gap is at
    // least its delay's floor (a busy machine only adds), each floor above the previous ceiling.
    for (gap, floor) in gaps.iter().zip([0.23, 0.95, 3.8]) {
        assert!(*gap >= floor, "{}: the gaps grow: {gaps:?}", p.name);
    }
}

/// The endpoint's delivery log over REST: the delivery succeeded after 4 attempts, whose status
/// codes it lists.
async fn delivery_log_shows_four_attempts(
    p: &Platform,
    store: &str,
    owner: &str,
    endpoint: &str,
    order_id: &str,
) {
    let path = format!("/v1/stores/{store}/webhooks/{endpoint}/deliveries");
    let mut listed = p.get(0, &path, Some(owner)).await;
    // The success is recorded just after the receiver answered it.
    for _ in 0..50 {
        if listed.body["items"][0]["status"] == "succeeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        listed = p.get(0, &path, Some(owner)).await;
    }
    assert_eq!(listed.status, 200, "{}: {}", p.name, listed.body);
    let items = listed.body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{}: {}", p.name, listed.body);
    let delivery = &items[0];
    assert_eq!(delivery["status"], "succeeded", "{}: {delivery}", p.name);
    assert_eq!(delivery["attempts"], 4, "{}: {delivery}", p.name);
    assert_eq!(delivery["event_type"], "order.confirmed", "{}", p.name);
    let id = delivery["id"].as_str().expect("a delivery id");
    let detail = p
        .get(
            1,
            &format!("/v1/stores/{store}/webhook-deliveries/{id}"),
            Some(owner),
        )
        .await;
    assert_eq!(detail.status, 200, "{}: {}", p.name, detail.body);
    let codes: Vec<Value> = detail.body["attempt_log"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|a| a["status_code"].clone())
        .collect();
    assert_eq!(codes, [500, 500, 500, 200], "{}: {}", p.name, detail.body);
    assert_eq!(
        detail.body["payload"]["data"]["id"], order_id,
        "{}: {}",
        p.name, detail.body
    );
}

#[tokio::test]
async fn an_endpoint_on_loopback_or_over_http_is_refused_unless_the_deployment_allows_it() {
    // The default (production) settings: https only, public addresses only.
    for p in platforms().await {
        let (store, _) = p.provision(0).await;
        let (owner, _) = p
            .sign_in(1, &store, "owner@example.com", "correct horse battery")
            .await;
        let path = format!("/v1/stores/{store}/webhooks");
        for url in [
            "http://127.0.0.1:9/hooks",
            "https://127.0.0.1:9/hooks",
            "https://[::1]/hooks",
            "https://169.254.169.254/latest/meta-data",
            "https://10.1.2.3/hooks",
            "http://example.com/hooks",
        ] {
            let body = json!({"url": url, "event_types": ["order.confirmed"]});
            let refused = p.post(0, &path, Some(&owner), &body).await;
            assert_eq!(refused.status, 422, "{}: {url}: {}", p.name, refused.body);
            assert_eq!(refused.error_fields(), ["url"], "{}: {}", p.name, refused.body);
        }
        let listed = p.get(0, &path, Some(&owner)).await;
        assert_eq!(listed.body["webhooks"], json!([]), "{}: none made", p.name);
    }
}
