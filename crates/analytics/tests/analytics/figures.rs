//! A scripted day of orders, refunds and declines against hand-computed figures; time-zone
//! edges; duplicate and out-of-order deliveries; new and returning customers.

use crate::support::*;
use mercato_proto::analytics::*;
use mercato_proto::orders::{Charges, FailureCode};

mercato_runtime::backend_tests! {
    setup: Analytics::on,
    cases: [
        a_scripted_day_equals_the_hand_computed_figures,
        an_order_at_23_30_on_a_dst_change_day_lands_in_that_day_and_hour,
        a_duplicate_delivery_or_an_older_version_changes_nothing,
        low_stock_lists_skus_at_or_below_their_threshold_now,
        top_products_over_weeks_and_their_end_days_add_up,
        a_second_order_the_same_day_makes_a_customer_returning_too,
    ],
}

/// The day (UTC store), 2026-12-01:
/// - A: customer c1, 2 × A1 at 1000 with 200 off, shipping 500, tax 360; confirmed 10:01.
/// - B: guest Bob@X.com, 1 × B1 at 3000 (no pricing); confirmed 11:00, refunded 15:00.
/// - D: declined at 13:00; E: out of stock at 13:30 (not a decline).
/// - C (2026-12-02): c1 again, 1 × A1 at 1000 confirmed 09:00: returning.
pub fn scripted_day() -> Vec<History> {
    let charges = Charges {
        subtotal_minor: 2000,
        discount_minor: 200,
        shipping_minor: 500,
        tax_minor: 360,
        total_minor: 2660,
        ..Charges::default()
    };
    vec![
        History::placed(
            "A",
            "c1",
            "",
            vec![line("A1", "pA", 2, 1000, 200, true)],
            Some(charges),
            "2026-12-01T10:00:00Z",
        )
        .confirm("2026-12-01T10:01:00Z"),
        History::placed(
            "B",
            "",
            "Bob@X.com",
            vec![line("B1", "pB", 1, 3000, 0, false)],
            None,
            "2026-12-01T10:30:00Z",
        )
        .confirm("2026-12-01T11:00:00Z")
        .refund(3000, "B1", 1, "2026-12-01T15:00:00Z"),
        History::placed(
            "D",
            "c2",
            "",
            vec![line("A1", "pA", 1, 1000, 0, false)],
            None,
            "2026-12-01T13:00:00Z",
        )
        .fail(FailureCode::PaymentDeclined, "2026-12-01T13:00:05Z"),
        History::placed(
            "E",
            "c3",
            "",
            vec![line("A1", "pA", 1, 1000, 0, false)],
            None,
            "2026-12-01T13:30:00Z",
        )
        .fail(FailureCode::OutOfStock, "2026-12-01T13:30:05Z"),
        History::placed(
            "C",
            "c1",
            "",
            vec![line("A1", "pA", 1, 1000, 0, false)],
            None,
            "2026-12-02T08:59:00Z",
        )
        .confirm("2026-12-02T09:00:00Z"),
    ]
}

async fn a_scripted_day_equals_the_hand_computed_figures(a: Analytics) {
    a.store_in("UTC").await;
    for h in scripted_day() {
        a.order(&h).await;
    }
    let f = a.figures("2026-12-01", "2026-12-01").await;
    assert_eq!(
        (
            f.gross_sales_minor,
            f.discounts_minor,
            f.refunds_minor,
            f.net_sales_minor
        ),
        (5000, 200, 3000, 1800)
    );
    assert_eq!(
        (f.shipping_minor, f.taxes_minor, f.total_sales_minor),
        (500, 360, 2660)
    );
    assert_eq!((f.orders, f.units, f.average_order_value_minor), (2, 3, 2400));
    assert_eq!(
        (f.new_customers, f.returning_customers, f.payment_declines),
        (2, 0, 1)
    );
    let statuses: std::collections::BTreeMap<&str, i64> =
        f.orders_by_status.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let statuses: Vec<_> = statuses.into_iter().collect();
    assert_eq!(statuses, [("confirmed", 1), ("failed", 2), ("refunded", 1)]);
    // The second day: c1's second order makes them returning.
    let next = a.summary("2026-12-02", "2026-12-02").await;
    let (f2, before) = (next.figures.unwrap(), next.previous.unwrap());
    assert_eq!(
        (
            f2.orders,
            f2.new_customers,
            f2.returning_customers,
            f2.returning_customer_rate_bp
        ),
        (1, 0, 1, 10_000)
    );
    assert_eq!(before.gross_sales_minor, 5000);
    // Hours are half-open instants: the refund hour only.
    let refund_hour = a.figures("2026-12-01T15:00:00Z", "2026-12-01T16:00:00Z").await;
    assert_eq!((refund_hour.refunds_minor, refund_hour.orders), (3000, 0));
    let series = a
        .service
        .timeseries(TimeseriesRequest {
            store_id: STORE.into(),
            range: Some(range("2026-11-30", "2026-12-02")),
            metric: Metric::NetSales as i32,
            interval: Interval::Day as i32,
            ..TimeseriesRequest::default()
        })
        .await
        .unwrap();
    let values: Vec<(String, i64)> = series.points.into_iter().map(|p| (p.label, p.value)).collect();
    assert_eq!(
        values,
        [
            ("2026-11-30".into(), 0),
            ("2026-12-01".into(), 1800),
            ("2026-12-02".into(), 1000)
        ]
    );
    let top = a
        .service
        .top_products(TopProductsRequest {
            store_id: STORE.into(),
            range: Some(range("2026-12-01", "2026-12-02")),
            by: Ranking::NetSales as i32,
            ..TopProductsRequest::default()
        })
        .await
        .unwrap();
    let ranked: Vec<(&str, i64, i64)> = top
        .products
        .iter()
        .map(|p| (p.product_id.as_str(), p.units, p.net_sales_minor))
        .collect();
    assert_eq!(ranked, [("pA", 3, 2800), ("pB", 1, 0)]);
    assert_eq!(top.variants[0].sku, "A1");
}

async fn an_order_at_23_30_on_a_dst_change_day_lands_in_that_day_and_hour(a: Analytics) {
    a.store_in("Europe/Berlin").await;
    // 2026-10-25 23:30 CET is 22:30 UTC (the clocks went back that night).
    let h = History::placed(
        "late",
        "c9",
        "",
        vec![line("A1", "pA", 1, 1000, 0, false)],
        None,
        "2026-10-25T22:29:00Z",
    )
    .confirm("2026-10-25T22:30:00Z");
    a.order(&h).await;
    assert_eq!(a.figures("2026-10-25", "2026-10-25").await.orders, 1);
    assert_eq!(a.figures("2026-10-26", "2026-10-26").await.orders, 0);
    let series = a
        .service
        .timeseries(TimeseriesRequest {
            store_id: STORE.into(),
            range: Some(range("2026-10-25", "2026-10-25")),
            metric: Metric::Orders as i32,
            interval: Interval::Hour as i32,
            ..TimeseriesRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(series.points.len(), 25, "the day the clocks go back has 25 hours");
    let hit: Vec<&Point> = series.points.iter().filter(|p| p.value > 0).collect();
    assert_eq!(hit.len(), 1);
    assert_eq!(
        (hit[0].label.as_str(), hit[0].start_ms),
        ("2026-10-25T23:00", ms("2026-10-25T22:00:00Z"))
    );
}

async fn a_duplicate_delivery_or_an_older_version_changes_nothing(a: Analytics) {
    a.store_in("UTC").await;
    let h = History::placed(
        "B",
        "",
        "b@x.com",
        vec![line("B1", "pB", 2, 1500, 0, false)],
        None,
        "2026-12-01T10:00:00Z",
    )
    .confirm("2026-12-01T10:01:00Z")
    .refund(1500, "B1", 1, "2026-12-01T12:00:00Z");
    let events = h.live_events();
    a.ingest(events.clone()).await;
    let once = a.figures("2026-12-01", "2026-12-01").await;
    // The same events again (redelivery), and the older snapshots under new ids (replay).
    a.ingest(events.clone()).await;
    let mut replayed = events.clone();
    for e in &mut replayed {
        e.id = format!("{}-again", e.id);
    }
    a.ingest(replayed).await;
    let after = a.figures("2026-12-01", "2026-12-01").await;
    assert_eq!(after, once);
    assert_eq!(
        (once.orders, once.gross_sales_minor, once.refunds_minor),
        (1, 3000, 1500)
    );
    assert_eq!(once.orders_by_status.get("partially_refunded"), Some(&1));
}

async fn low_stock_lists_skus_at_or_below_their_threshold_now(a: Analytics) {
    use mercato_proto::events::{LowStock as LowStockEvent, StockChanged};
    use mercato_proto::inventory::StockLevel;
    let level = |sku: &str, available: i64, version: i64| StockLevel {
        sku: sku.into(),
        location: "main".into(),
        available,
        low_stock_threshold: 3,
        version,
        ..StockLevel::default()
    };
    let low = |l| {
        mercato_runtime::outbox::envelope(
            STORE,
            mercato_proto::subjects::inventory::LOW_STOCK,
            1,
            &LowStockEvent { level: Some(l) },
        )
    };
    let changed = |l| {
        mercato_runtime::outbox::envelope(
            STORE,
            mercato_proto::subjects::inventory::STOCK_CHANGED,
            1,
            &StockChanged { level: Some(l) },
        )
    };
    a.ingest(vec![
        low(level("A1", 2, 5)),
        low(level("B1", 1, 5)),
        changed(level("B1", 9, 6)),
        changed(level("A1", 8, 4)),
    ])
    .await;
    let items = a
        .service
        .list_low_stock(LowStockRequest {
            store_id: STORE.into(),
            ..LowStockRequest::default()
        })
        .await
        .unwrap()
        .items;
    let skus: Vec<(&str, i64)> = items.iter().map(|i| (i.sku.as_str(), i.available)).collect();
    assert_eq!(skus, [("A1", 2)], "B1 was restocked; A1's older level is ignored");
}

async fn top_products_over_weeks_and_their_end_days_add_up(a: Analytics) {
    a.store_in("UTC").await;
    // 2026-11-07 is a Saturday; 2026-12-06 a Sunday.
    for (i, (day, units)) in [
        ("2026-11-07", 2),
        ("2026-11-10", 1),
        ("2026-12-05", 3),
        ("2026-12-06", 1),
    ]
    .into_iter()
    .enumerate()
    {
        let at = format!("{day}T12:00:00Z");
        let h = History::placed(
            &format!("w{i}"),
            "c1",
            "",
            vec![line("A1", "pA", units, 1000, 0, false)],
            None,
            &at,
        )
        .confirm(&at);
        a.order(&h).await;
    }
    for (from, to, units) in [
        ("2026-11-07", "2026-12-06", 7),
        ("2026-11-08", "2026-12-05", 4),
        ("2026-11-09", "2026-11-15", 1),
        ("2026-12-05", "2026-12-05", 3),
    ] {
        let top = a
            .service
            .top_products(TopProductsRequest {
                store_id: STORE.into(),
                range: Some(range(from, to)),
                ..TopProductsRequest::default()
            })
            .await
            .unwrap();
        let p = &top.products[0];
        assert_eq!((p.units, p.net_sales_minor), (units, units * 1000), "{from}–{to}");
        assert_eq!(
            (top.variants[0].sku.as_str(), top.variants[0].title.as_str()),
            ("A1", "pA title")
        );
    }
}

async fn a_second_order_the_same_day_makes_a_customer_returning_too(a: Analytics) {
    a.store_in("UTC").await;
    for (id, at) in [
        ("s1", "2026-12-01T09:00:00Z"),
        ("s2", "2026-12-01T17:00:00Z"),
        ("s3", "2026-12-01T18:00:00Z"),
    ] {
        let h = History::placed(
            id,
            "",
            "Ann@Example.com",
            vec![line("A1", "pA", 1, 1000, 0, false)],
            None,
            at,
        )
        .confirm(at);
        a.order(&h).await;
    }
    // New (her first order is in the day) and returning (later orders had an earlier one), once
    // each however many orders.
    let f = a.figures("2026-12-01", "2026-12-01").await;
    assert_eq!(
        (
            f.orders,
            f.new_customers,
            f.returning_customers,
            f.returning_customer_rate_bp
        ),
        (3, 1, 1, 5_000)
    );
}
