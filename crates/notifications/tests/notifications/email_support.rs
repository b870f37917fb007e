//! What the e-mail tests share: a service sending through the test SMTP server (or to files),
//! its `email.send` runner, and the events a store, its accounts and an order make.
#![allow(dead_code)]

use crate::support::{Builder, Harness, event};
use mercato_proto::common::{Address, Role};
use mercato_proto::events::{AccountChanged, EventEnvelope, OrderChanged, StoreProvisioned};
use mercato_proto::identity::User;
use mercato_proto::notifications::SetEmailPreferencesRequest;
use mercato_proto::orders::{Order, OrderLine};
use mercato_proto::subjects::{identity, orders};
use mercato_runtime::testing::Backend;
use mercato_runtime::testing::smtp::{ReceivedMail, SmtpServer};
use std::time::Duration;

pub const STORE: &str = "0190f0a0-0000-7000-8000-0000000000aa";
pub const SLUG: &str = "tea-house";
pub const STORE_NAME: &str = "The Tea House";
pub const XSS: &str = "<img src=x onerror=alert(1)>";

/// A harness whose mail goes to `smtp` (or to files without one), with `email.send` running.
pub async fn harness(backend: Backend, smtp: Option<&SmtpServer>) -> Harness {
    let url = smtp.map(SmtpServer::url);
    let h = Builder::new(backend)
        .dispatcher(false)
        .settings(|s| {
            s.smtp_url = url.map(mercato_runtime::config::Secret::new);
            s.mail_from = "Mercato <shop@mercato.test>".to_owned();
            s.public_url = Some("https://shop.example.com".to_owned());
            s.smtp_timeout = Duration::from_secs(5);
        })
        .build()
        .await;
    let mut runner = h.service.jobs().runner().poll_every(Duration::from_millis(50));
    for handler in h.service.job_handlers() {
        runner.register(handler);
    }
    tokio::spawn(runner.run(h.shutdown.clone()));
    h
}

/// The SMTP server, or `None` when no Python can run it (the test then passes without running).
pub fn smtp() -> Option<SmtpServer> {
    SmtpServer::start()
}

pub async fn apply(h: &Harness, e: &EventEnvelope) {
    h.service.apply(vec![e.clone()]).await.expect("event applied");
}

/// `store_provisioned` of the test store.
pub fn store_provisioned() -> EventEnvelope {
    event(
        STORE,
        identity::STORE_PROVISIONED,
        &StoreProvisioned {
            store_id: STORE.to_owned(),
            slug: SLUG.to_owned(),
            name: STORE_NAME.to_owned(),
            currency: "EUR".to_owned(),
            time_zone: "Europe/Dublin".to_owned(),
        },
    )
}

/// `account_created` of an account of the test store.
pub fn account_created(user_id: &str, email: &str, role: Role, first_name: &str) -> EventEnvelope {
    account_event(identity::ACCOUNT_CREATED, user_id, email, role, first_name, 0)
}

pub fn account_event(
    subject: &str,
    user_id: &str,
    email: &str,
    role: Role,
    first_name: &str,
    disabled_at: i64,
) -> EventEnvelope {
    event(
        STORE,
        subject,
        &AccountChanged {
            user: Some(User {
                id: user_id.to_owned(),
                store_id: STORE.to_owned(),
                email: email.to_owned(),
                role: role as i32,
                created_at_ms: 1,
                disabled_at_ms: disabled_at,
            }),
            first_name: first_name.to_owned(),
            last_name: String::new(),
        },
    )
}

/// An order of the test store to `email` with one line titled `title`.
pub fn order(id: &str, email: &str, title: &str) -> Order {
    Order {
        id: id.to_owned(),
        store_id: STORE.to_owned(),
        customer_id: String::new(),
        lines: vec![OrderLine {
            sku: "TEA-1".to_owned(),
            product_id: "p1".to_owned(),
            title: title.to_owned(),
            quantity: 2,
            unit_price_minor: 625,
            ..Default::default()
        }],
        currency: "EUR".to_owned(),
        total_minor: 1250,
        number: 1001,
        email: email.to_owned(),
        shipping_address: Some(Address {
            name: "Ada <b>Lovelace</b>".to_owned(),
            line1: "1 Main Street".to_owned(),
            city: "Dublin".to_owned(),
            country: "IE".to_owned(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn order_event(subject: &str, order: &Order) -> EventEnvelope {
    event(
        STORE,
        subject,
        &OrderChanged {
            order: Some(order.clone()),
        },
    )
}

pub fn order_confirmed(order: &Order) -> EventEnvelope {
    order_event(orders::ORDER_CONFIRMED, order)
}

/// Opts a staff member in (or out) of new-order mail.
pub async fn staff_new_orders(h: &Harness, user_id: &str, role: Role, on: bool) {
    h.service
        .email
        .set_preferences(SetEmailPreferencesRequest {
            store_id: STORE.to_owned(),
            user_id: user_id.to_owned(),
            role: role as i32,
            new_orders: Some(on),
            ..Default::default()
        })
        .await
        .expect("preferences set");
}

/// Waits until `n` mails arrived (or 20 s passed), then a little longer to catch extra ones.
pub async fn mails(server: &SmtpServer, n: usize) -> Vec<ReceivedMail> {
    server.wait_until(Duration::from_secs(20), |m| m.len() >= n).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.received()
}

/// `(status, attempts)` of every `email.send` job to `to`.
pub async fn jobs_to(h: &Harness, to: &str) -> Vec<(String, i64)> {
    let pattern = format!("%\"to\":\"{to}\"%");
    h.service
        .db()
        .query_all(
            "SELECT status, attempts FROM jobs WHERE kind = 'email.send' AND input_json LIKE $1 ORDER BY id",
            &[&pattern],
        )
        .await
        .expect("jobs")
}

/// Makes every waiting job due now (skips the backoff of a retry).
pub async fn make_jobs_due(h: &Harness) {
    h.service
        .db()
        .execute(
            "test_jobs_due",
            "UPDATE jobs SET run_after = 0 WHERE status = 'queued'",
            &[],
        )
        .await
        .expect("jobs due");
    h.service.email.wake();
}
