//! The funnel counts a shopper once per step, across days too.

use crate::support::*;
use mercato_proto::analytics::FunnelRequest;
use mercato_proto::events::{CartStarted, CheckoutStarted, ProductViews, ProductViewsCounted};
use mercato_proto::subjects;
use mercato_runtime::outbox::envelope;

mercato_runtime::backend_tests! {
    setup: Analytics::on,
    cases: [a_shopper_counts_once_per_step, one_day_reads_the_days_counts],
}

fn at(mut e: mercato_proto::events::EventEnvelope, when: &str) -> mercato_proto::events::EventEnvelope {
    e.occurred_at_ms = ms(when);
    e
}

fn views(minute: &str, visitors: &[&str]) -> mercato_proto::events::EventEnvelope {
    let counted = ProductViewsCounted {
        minute_start_ms: ms(minute),
        products: vec![ProductViews {
            product_id: "pA".into(),
            views: 3,
        }],
        visitor_keys: visitors.iter().map(|v| (*v).to_owned()).collect(),
    };
    envelope(STORE, subjects::gateway::PRODUCT_VIEWS_COUNTED, 1, &counted)
}

fn cart(id: &str, when: &str) -> mercato_proto::events::EventEnvelope {
    let started = CartStarted {
        cart_id: id.into(),
        customer_id: String::new(),
    };
    at(envelope(STORE, subjects::orders::CART_STARTED, 1, &started), when)
}

fn checkout(cart: &str, order: &str, when: &str) -> mercato_proto::events::EventEnvelope {
    let started = CheckoutStarted {
        cart_id: cart.into(),
        order_id: order.into(),
        customer_id: String::new(),
    };
    at(
        envelope(STORE, subjects::orders::CHECKOUT_STARTED, 1, &started),
        when,
    )
}

async fn a_shopper_counts_once_per_step(a: Analytics) {
    a.store_in("UTC").await;
    a.ingest(vec![
        views("2026-12-01T10:00:00Z", &["v1", "v2", "v3", "v4"]),
        views("2026-12-01T10:01:00Z", &["v1", "v2"]),
        views("2026-12-02T10:00:00Z", &["v1"]),
        cart("k1", "2026-12-01T10:02:00Z"),
        cart("k2", "2026-12-01T10:03:00Z"),
        checkout("k1", "o1", "2026-12-01T10:05:00Z"),
        // A second attempt of the same cart, the next day.
        checkout("k1", "o2", "2026-12-02T10:05:00Z"),
    ])
    .await;
    let h = History::placed(
        "o2",
        "c1",
        "",
        vec![line("A1", "pA", 1, 1000, 0, false)],
        None,
        "2026-12-02T10:05:00Z",
    )
    .confirm("2026-12-02T10:06:00Z");
    a.order(&h).await;
    let funnel = a
        .service
        .funnel(FunnelRequest {
            store_id: STORE.into(),
            range: Some(range("2026-12-01", "2026-12-02")),
            ..FunnelRequest::default()
        })
        .await
        .unwrap();
    let steps: Vec<(&str, i64, i64, i64)> = funnel
        .steps
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.count,
                s.rate_from_previous_bp,
                s.rate_from_start_bp,
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("product_views", 4, 10_000, 10_000),
            ("carts", 2, 5_000, 5_000),
            ("checkouts_started", 1, 5_000, 2_500),
            ("orders_confirmed", 1, 10_000, 2_500),
        ]
    );
    let f = a.figures("2026-12-01", "2026-12-02").await;
    assert_eq!((f.product_views, f.conversion_rate_bp), (9, 2_500));
}

async fn one_day_reads_the_days_counts(a: Analytics) {
    a.store_in("UTC").await;
    a.ingest(vec![
        views("2026-12-01T10:00:00Z", &["v1", "v2"]),
        views("2026-12-01T11:00:00Z", &["v2", "v3"]),
        cart("k1", "2026-12-01T10:02:00Z"),
        checkout("k1", "o1", "2026-12-01T10:05:00Z"),
        checkout("k1", "o1", "2026-12-01T10:06:00Z"),
    ])
    .await;
    let funnel = a
        .service
        .funnel(FunnelRequest {
            store_id: STORE.into(),
            range: Some(range("2026-12-01", "2026-12-01")),
            ..FunnelRequest::default()
        })
        .await
        .unwrap();
    let counts: Vec<i64> = funnel.steps.iter().map(|s| s.count).collect();
    assert_eq!(counts, [3, 1, 1, 0]);
    assert_eq!(a.figures("2026-12-01", "2026-12-01").await.product_views, 6);
}
