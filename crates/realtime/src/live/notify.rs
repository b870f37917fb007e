//! Which events become which pushes, on which channels (pure: envelope in, pushes out).
//!
//! - `mercato.orders.*` → the customer's `orders:` channel and the store's `staff:` feed.
//! - `mercato.payments.payment_declined` and `payment_flagged` → the `staff:` feed.
//! - `mercato.inventory.stock_changed` → `stock:{store}:{sku}` (available quantity only: on-hand
//!   and reserved stay private); `low_stock` → the `staff:` feed.
//! - `mercato.realtime.message_posted` → the conversation, as a `message` with its seq, and the
//!   `staff:` feed, as a `conversation.message` event naming the conversation (not the text), so
//!   an inbox learns of new conversations and messages without subscribing to each;
//!   `read_marked` → the conversation, as a `read` marker.
//! - `mercato.analytics.figures_changed` → the `staff:` feed, as `figures.changed` with today's
//!   figures, so the admin home follows them.
//! - `mercato.{catalog,orders,identity,notifications}.job_changed` → the `staff:` feed, as
//!   `job.changed` with the job under its REST names (no download link), so the jobs page
//!   follows progress.
//! - `mercato.notifications.webhook_endpoint_disabled` → the `staff:` feed, as
//!   `webhook.disabled` with the endpoint's id, URL and the reason, so the admin can say so.

use super::hub::Push;
use axum::extract::ws::Utf8Bytes;
use mercato_proto::analytics::Figures;
use mercato_proto::events::{
    EventEnvelope, FiguresChanged, JobChanged, LowStock, MessagePosted, OrderChanged, PaymentChanged,
    ReadMarked, StockChanged, WebhookEndpointDisabled,
};
use mercato_proto::inventory::StockLevel;
use mercato_proto::jobs::Job;
use mercato_proto::names;
use mercato_proto::orders::Order;
use mercato_proto::payments::PaymentIntent;
use mercato_proto::realtime::ChatMessage;
use mercato_proto::subjects;
use mercato_runtime::bus::subject_matches;
use prost::Message;
use serde_json::{Value, json};

/// Event subjects the realtime replicas listen to: exactly those `route` turns into pushes, so
/// that the busiest events (reservations, captures) never reach a realtime replica at all.
pub const SUBJECTS: [&str; 11] = [
    subjects::orders::ALL,
    subjects::catalog::JOB_CHANGED,
    subjects::identity::JOB_CHANGED,
    subjects::notifications::JOB_CHANGED,
    subjects::notifications::WEBHOOK_ENDPOINT_DISABLED,
    subjects::payments::PAYMENT_DECLINED,
    subjects::payments::PAYMENT_FLAGGED,
    subjects::inventory::STOCK_CHANGED,
    subjects::inventory::LOW_STOCK,
    subjects::realtime::ALL,
    subjects::analytics::FIGURES_CHANGED,
];

/// The pushes one event causes on the channels `wanted` accepts (those with subscribers here,
/// so that events nobody watches cost no serializing); an event that does not decode causes none.
pub fn route(envelope: &EventEnvelope, wanted: &dyn Fn(&str) -> bool) -> Vec<Push> {
    let mut pushes = all_pushes(envelope, wanted);
    pushes.retain(|p| wanted(&p.channel));
    pushes
}

/// Every push `envelope` could cause, before filtering by `wanted` (which the order and stock
/// cases also consult first, to skip building frames nobody will receive).
fn all_pushes(envelope: &EventEnvelope, wanted: &dyn Fn(&str) -> bool) -> Vec<Push> {
    let store = envelope.store_id.as_str();
    let at = envelope.occurred_at_ms;
    let subject = envelope.subject.as_str();
    // The event's own name, the subject's last token (`order_confirmed`).
    let name = subject.rsplit('.').next().unwrap_or_default();
    let payload = envelope.payload.as_slice();
    match subject {
        // Before `orders::ALL`, which its subject also matches.
        subjects::orders::JOB_CHANGED
        | subjects::catalog::JOB_CHANGED
        | subjects::identity::JOB_CHANGED
        | subjects::notifications::JOB_CHANGED => JobChanged::decode(payload)
            .ok()
            .and_then(|e| e.job)
            .map(|job| vec![job_push(store, &job, at)])
            .unwrap_or_default(),
        // The funnel's events carry no order (`CartStarted`, `CheckoutStarted`): nothing to push.
        subjects::orders::CART_STARTED | subjects::orders::CHECKOUT_STARTED => Vec::new(),
        _ if subject_matches(subjects::orders::ALL, subject) => OrderChanged::decode(payload)
            .ok()
            .and_then(|e| e.order)
            .map(|o| order_pushes(store, name, &o, at, wanted))
            .unwrap_or_default(),
        subjects::payments::PAYMENT_DECLINED | subjects::payments::PAYMENT_FLAGGED => {
            PaymentChanged::decode(payload)
                .ok()
                .and_then(|e| e.intent)
                .map(|i| vec![payment_push(store, name, &i, at)])
                .unwrap_or_default()
        }
        subjects::inventory::STOCK_CHANGED => StockChanged::decode(payload)
            .ok()
            .and_then(|e| e.level)
            .map(|l| stock_pushes(store, &l, at, wanted))
            .unwrap_or_default(),
        subjects::inventory::LOW_STOCK => LowStock::decode(payload)
            .ok()
            .and_then(|e| e.level)
            .map(|l| vec![low_stock_push(store, &l, at)])
            .unwrap_or_default(),
        subjects::realtime::MESSAGE_POSTED => MessagePosted::decode(payload)
            .ok()
            .and_then(|e| Some((e.message?, e.customer_id)))
            .map(|(m, customer)| vec![message_push(&m, at), inbox_push(store, &m, &customer, at)])
            .unwrap_or_default(),
        subjects::realtime::READ_MARKED => ReadMarked::decode(payload)
            .ok()
            .map(|r| vec![read_push(&r, at)])
            .unwrap_or_default(),
        subjects::notifications::WEBHOOK_ENDPOINT_DISABLED => WebhookEndpointDisabled::decode(payload)
            .ok()
            .and_then(|e| e.endpoint)
            .map(|endpoint| vec![webhook_disabled_push(store, &endpoint, at)])
            .unwrap_or_default(),
        subjects::analytics::FIGURES_CHANGED => FiguresChanged::decode(payload)
            .ok()
            .map(|f| vec![figures_push(store, &f, at)])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// An order event (`name` such as `order_confirmed`) for the staff feed and, if the order has
/// one, its customer's channel; nothing if neither is watched.
fn order_pushes(store: &str, name: &str, o: &Order, at: i64, wanted: &dyn Fn(&str) -> bool) -> Vec<Push> {
    let staff = format!("staff:{store}");
    let customer = format!("orders:{store}:{}", o.customer_id);
    if !wanted(&staff) && (o.customer_id.is_empty() || !wanted(&customer)) {
        return Vec::new();
    }
    let event = format!("order.{}", name.strip_prefix("order_").unwrap_or(name));
    let data = json!({
        "order_id": o.id, "status": names::order_status(o.status()), "total_minor": o.total_minor,
        "currency": o.currency, "failure_code": names::failure_code(o.failure_code()),
        "refunded_minor": o.refunded_minor, "version": o.version,
    });
    let mut pushes = vec![event_push(&staff, &event, &data, at)];
    if !o.customer_id.is_empty() {
        pushes.push(event_push(&customer, &event, &data, at));
    }
    pushes
}

/// A job's change for the staff feed (`job.changed`).
fn job_push(store: &str, job: &Job, at: i64) -> Push {
    event_push(
        &format!("staff:{store}"),
        "job.changed",
        &super::job_push::job_json(job),
        at,
    )
}

/// A webhook endpoint disabled because its deliveries kept failing, for the staff feed
/// (`webhook.disabled`): which one, where it pointed and why; never its secret.
fn webhook_disabled_push(store: &str, e: &mercato_proto::notifications::Endpoint, at: i64) -> Push {
    let data = json!({
        "endpoint_id": e.id, "url": e.url, "status": names::endpoint_status(e.status()),
        "reason": e.disabled_reason,
    });
    event_push(&format!("staff:{store}"), "webhook.disabled", &data, at)
}

/// A declined or flagged payment (`name` such as `payment_declined`) for the staff feed.
fn payment_push(store: &str, name: &str, i: &PaymentIntent, at: i64) -> Push {
    let event = format!("payment.{}", name.trim_start_matches("payment_"));
    let data = json!({
        "payment_intent_id": i.id, "order_id": i.order_id, "amount_minor": i.amount_minor,
        "currency": i.currency, "status": names::intent_status(i.status()),
        "failure_code": names::payment_failure(i.failure()),
        "card_last4": i.card_last4,
    });
    event_push(&format!("staff:{store}"), &event, &data, at)
}

/// A stock level for its public `stock:` channel, availability only; nothing if unwatched.
fn stock_pushes(store: &str, l: &StockLevel, at: i64, wanted: &dyn Fn(&str) -> bool) -> Vec<Push> {
    let channel = format!("stock:{store}:{}", l.sku);
    if !wanted(&channel) {
        return Vec::new();
    }
    let data = json!({"sku": l.sku, "location": l.location, "available": l.available});
    vec![event_push(&channel, "stock.changed", &data, at)]
}

/// A stock level at or under its threshold, for the staff feed.
fn low_stock_push(store: &str, l: &StockLevel, at: i64) -> Push {
    let data = json!({
        "sku": l.sku, "location": l.location, "available": l.available,
        "low_stock_threshold": l.low_stock_threshold,
    });
    event_push(&format!("staff:{store}"), "stock.low", &data, at)
}

/// Today's figures of a store, for the staff feed (`figures.changed`): the local date they are
/// for, the currency and the figures under the REST summary's names.
fn figures_push(store: &str, f: &FiguresChanged, at: i64) -> Push {
    let data = json!({
        "date": f.date, "currency": f.currency,
        "figures": f.figures.as_ref().map(figures_json).unwrap_or(Value::Null),
    });
    event_push(&format!("staff:{store}"), "figures.changed", &data, at)
}

fn figures_json(f: &Figures) -> Value {
    json!({
        "gross_sales_minor": f.gross_sales_minor, "discounts_minor": f.discounts_minor,
        "refunds_minor": f.refunds_minor, "net_sales_minor": f.net_sales_minor,
        "shipping_minor": f.shipping_minor, "taxes_minor": f.taxes_minor,
        "total_sales_minor": f.total_sales_minor, "orders": f.orders, "units": f.units,
        "average_order_value_minor": f.average_order_value_minor,
        "new_customers": f.new_customers, "returning_customers": f.returning_customers,
        "returning_customer_rate_bp": f.returning_customer_rate_bp,
        "payment_declines": f.payment_declines, "product_views": f.product_views,
        "conversion_rate_bp": f.conversion_rate_bp,
    })
}

/// A conversation's new message for the store's staff feed: which conversation, whose, from
/// whom; the text stays on the conversation's own channel.
fn inbox_push(store: &str, m: &ChatMessage, customer_id: &str, at: i64) -> Push {
    let data = json!({
        "conversation_id": m.conversation_id, "customer_id": customer_id, "seq": m.seq,
        "sender_role": names::role_value(m.sender_role),
    });
    event_push(&format!("staff:{store}"), "conversation.message", &data, at)
}

/// A member's read marker, as a `read` frame on the conversation.
fn read_push(r: &ReadMarked, at: i64) -> Push {
    let channel = format!("conversation:{}", r.conversation_id);
    let frame = json!({"type": "read", "channel": channel, "user_id": r.user_id, "seq": r.seq});
    push(&channel, None, &frame, at)
}

/// A conversation message as its subscribers receive it.
pub fn message_push(m: &ChatMessage, occurred_at_ms: i64) -> Push {
    let channel = format!("conversation:{}", m.conversation_id);
    let frame = message_frame(&channel, m);
    push(&channel, Some(m.seq), &frame, occurred_at_ms)
}

/// The `message` frame of a conversation message.
pub fn message_frame(channel: &str, m: &ChatMessage) -> Value {
    json!({
        "type": "message", "channel": channel, "seq": m.seq, "id": m.id, "sender_id": m.sender_id,
        "sender_role": names::role_value(m.sender_role), "client_msg_id": m.client_msg_id, "body": m.body,
        "sent_at_ms": m.sent_at_ms,
    })
}

/// A signal frame (typing, presence) for a channel.
pub fn signal_push(channel: &str, frame: &Value, occurred_at_ms: i64) -> Push {
    push(channel, None, frame, occurred_at_ms)
}

fn event_push(channel: &str, event: &str, data: &Value, occurred_at_ms: i64) -> Push {
    let frame = json!({
        "type": "event", "channel": channel, "event": event, "data": data,
        "occurred_at_ms": occurred_at_ms,
    });
    push(channel, None, &frame, occurred_at_ms)
}

fn push(channel: &str, seq: Option<i64>, frame: &Value, occurred_at_ms: i64) -> Push {
    Push {
        channel: channel.into(),
        seq,
        text: Utf8Bytes::from(frame.to_string()),
        occurred_at_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mercato_proto::orders::Order;

    fn envelope(subject: &str, payload: Vec<u8>) -> EventEnvelope {
        EventEnvelope {
            id: "e1".into(),
            store_id: "s1".into(),
            occurred_at_ms: 42,
            subject: subject.into(),
            version: 1,
            payload,
            traceparent: String::new(),
        }
    }

    #[test]
    fn an_order_event_goes_to_the_customer_and_the_staff_feed() {
        let order = Order {
            id: "o1".into(),
            customer_id: "u1".into(),
            status: mercato_proto::orders::OrderStatus::Confirmed.into(),
            ..Default::default()
        };
        let e = envelope(
            subjects::orders::ORDER_CONFIRMED,
            OrderChanged { order: Some(order) }.encode_to_vec(),
        );
        let pushes = route(&e, &|_| true);
        let channels: Vec<_> = pushes.iter().map(|p| &*p.channel).collect();
        assert_eq!(channels, ["staff:s1", "orders:s1:u1"]);
        let frame: Value = serde_json::from_str(pushes[1].text.as_str()).unwrap();
        assert_eq!(frame["event"], "order.confirmed");
        assert_eq!(frame["data"]["order_id"], "o1");
        assert_eq!(frame["data"]["status"], "confirmed", "by its public name");
        assert_eq!(pushes[0].occurred_at_ms, 42);
    }

    #[test]
    fn the_funnel_events_of_orders_push_nothing() {
        use mercato_proto::events::{CartStarted, CheckoutStarted};
        let started = CartStarted {
            cart_id: "0190c3a4-0000-7000-8000-000000000001".into(),
            customer_id: "u1".into(),
        };
        let checkout = CheckoutStarted {
            cart_id: "c1".into(),
            order_id: "o1".into(),
            customer_id: "u1".into(),
        };
        let events = [
            envelope(subjects::orders::CART_STARTED, started.encode_to_vec()),
            envelope(subjects::orders::CHECKOUT_STARTED, checkout.encode_to_vec()),
        ];
        for e in events {
            assert!(route(&e, &|_| true).is_empty(), "{}", e.subject);
        }
    }

    #[test]
    fn a_message_goes_to_its_conversation_and_without_its_text_to_the_staff_feed() {
        let message = ChatMessage {
            id: "m1".into(),
            conversation_id: "c1".into(),
            seq: 3,
            body: "where is my parcel?".into(),
            sender_role: mercato_proto::common::Role::Customer.into(),
            ..Default::default()
        };
        let posted = MessagePosted {
            message: Some(message),
            customer_id: "u1".into(),
        };
        let e = envelope(subjects::realtime::MESSAGE_POSTED, posted.encode_to_vec());
        let pushes = route(&e, &|_| true);
        let channels: Vec<_> = pushes.iter().map(|p| &*p.channel).collect();
        assert_eq!(channels, ["conversation:c1", "staff:s1"]);
        let frame: Value = serde_json::from_str(pushes[1].text.as_str()).unwrap();
        assert_eq!(frame["event"], "conversation.message");
        assert_eq!(
            frame["data"],
            json!({"conversation_id": "c1", "customer_id": "u1", "seq": 3, "sender_role": "customer"})
        );
        assert!(
            !pushes[1].text.as_str().contains("parcel"),
            "the text stays in the conversation"
        );
        assert_eq!(
            route(&e, &|c| c != "staff:s1").len(),
            1,
            "an unwatched feed gets nothing"
        );
    }

    #[test]
    fn changed_figures_go_to_the_staff_feed_under_their_rest_names() {
        let figures = Figures {
            net_sales_minor: 4200,
            orders: 3,
            returning_customer_rate_bp: 5000,
            ..Default::default()
        };
        let changed = FiguresChanged {
            date: "2026-12-06".into(),
            currency: "EUR".into(),
            figures: Some(figures),
        };
        let e = envelope(subjects::analytics::FIGURES_CHANGED, changed.encode_to_vec());
        assert!(SUBJECTS.contains(&subjects::analytics::FIGURES_CHANGED));
        let pushes = route(&e, &|_| true);
        assert_eq!(pushes.len(), 1);
        assert_eq!(&*pushes[0].channel, "staff:s1");
        let frame: Value = serde_json::from_str(pushes[0].text.as_str()).unwrap();
        assert_eq!(frame["event"], "figures.changed");
        assert_eq!(frame["data"]["date"], "2026-12-06");
        assert_eq!(frame["data"]["currency"], "EUR");
        assert_eq!(frame["data"]["figures"]["net_sales_minor"], 4200);
        assert_eq!(frame["data"]["figures"]["orders"], 3);
        assert_eq!(frame["data"]["figures"]["returning_customer_rate_bp"], 5000);
        assert!(route(&e, &|c| c != "staff:s1").is_empty(), "nobody watches it");
    }

    #[test]
    fn a_job_change_goes_to_the_staff_feed_by_its_rest_names_without_a_link() {
        use mercato_proto::jobs::{JobProgress, JobResult, JobStatus};
        let job = Job {
            id: "j1".into(),
            service: "orders".into(),
            kind: "export.orders".into(),
            status: JobStatus::Succeeded.into(),
            progress: Some(JobProgress {
                done: 3,
                total: 4,
                estimated_finish_ms: 0,
            }),
            input_json: r#"{"format":"csv"}"#.into(),
            result: Some(JobResult {
                file_key: "secret/key".into(),
                file_name: "orders.csv".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let e = envelope(
            subjects::orders::JOB_CHANGED,
            JobChanged { job: Some(job) }.encode_to_vec(),
        );
        assert!(
            SUBJECTS
                .iter()
                .any(|s| subject_matches(s, subjects::orders::JOB_CHANGED))
        );
        let pushes = route(&e, &|_| true);
        assert_eq!(pushes.len(), 1, "a job, not an order");
        assert_eq!(&*pushes[0].channel, "staff:s1");
        let frame: Value = serde_json::from_str(pushes[0].text.as_str()).unwrap();
        assert_eq!(frame["event"], "job.changed");
        assert_eq!(frame["data"]["status"], "succeeded");
        assert_eq!(frame["data"]["progress"]["percent"], 75);
        assert_eq!(frame["data"]["input"]["format"], "csv");
        assert_eq!(frame["data"]["result"]["file_name"], "orders.csv");
        assert!(
            !pushes[0].text.as_str().contains("secret/key"),
            "no file key, no link"
        );
    }

    #[test]
    fn a_failing_webhook_endpoint_goes_to_the_staff_feed_without_its_secret_hint() {
        use mercato_proto::notifications::{Endpoint, EndpointStatus};
        let endpoint = Endpoint {
            id: "w1".into(),
            store_id: "s1".into(),
            url: "https://erp.example.com/hook".into(),
            status: EndpointStatus::Failing.into(),
            disabled_reason: "every delivery failed for 3 days".into(),
            secret_hint: "AbCd".into(),
            ..Default::default()
        };
        let e = envelope(
            subjects::notifications::WEBHOOK_ENDPOINT_DISABLED,
            WebhookEndpointDisabled {
                endpoint: Some(endpoint),
            }
            .encode_to_vec(),
        );
        assert!(SUBJECTS.contains(&subjects::notifications::WEBHOOK_ENDPOINT_DISABLED));
        let pushes = route(&e, &|_| true);
        assert_eq!(pushes.len(), 1);
        assert_eq!(&*pushes[0].channel, "staff:s1");
        let frame: Value = serde_json::from_str(pushes[0].text.as_str()).unwrap();
        assert_eq!(frame["event"], "webhook.disabled");
        assert_eq!(
            frame["data"],
            json!({"endpoint_id": "w1", "url": "https://erp.example.com/hook", "status": "failing",
                   "reason": "every delivery failed for 3 days"})
        );
        assert!(route(&e, &|c| c != "staff:s1").is_empty(), "nobody watches it");
    }

    #[test]
    fn an_email_job_change_goes_to_the_staff_feed() {
        let job = Job {
            id: "j2".into(),
            service: "notifications".into(),
            kind: "email.send".into(),
            status: mercato_proto::jobs::JobStatus::Dead.into(),
            ..Default::default()
        };
        let e = envelope(
            subjects::notifications::JOB_CHANGED,
            JobChanged { job: Some(job) }.encode_to_vec(),
        );
        assert!(SUBJECTS.contains(&subjects::notifications::JOB_CHANGED));
        let pushes = route(&e, &|_| true);
        assert_eq!(pushes.len(), 1);
        let frame: Value = serde_json::from_str(pushes[0].text.as_str()).unwrap();
        assert_eq!(frame["event"], "job.changed");
        assert_eq!(frame["data"]["kind"], "email.send");
        assert_eq!(frame["data"]["status"], "dead");
    }

    #[test]
    fn public_stock_pushes_show_only_availability_and_noise_is_dropped() {
        let level = mercato_proto::inventory::StockLevel {
            sku: "TEE".into(),
            location: "main".into(),
            on_hand: 10,
            reserved: 3,
            available: 7,
            ..Default::default()
        };
        let e = envelope(
            subjects::inventory::STOCK_CHANGED,
            StockChanged { level: Some(level) }.encode_to_vec(),
        );
        assert!(
            route(&e, &|c| c != "stock:s1:TEE").is_empty(),
            "nobody watches it"
        );
        let pushes = route(&e, &|_| true);
        assert_eq!(&*pushes[0].channel, "stock:s1:TEE");
        let frame: Value = serde_json::from_str(pushes[0].text.as_str()).unwrap();
        assert_eq!(
            frame["data"],
            json!({"sku": "TEE", "location": "main", "available": 7})
        );
        let all = |_: &str| true;
        assert!(route(&envelope(subjects::payments::PAYMENT_CAPTURED, vec![]), &all).is_empty());
        assert!(route(&envelope(subjects::orders::ORDER_PLACED, vec![1, 2, 3]), &all).is_empty());
    }
}
