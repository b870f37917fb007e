//! Verify recomputes from the orders history and reports no difference after a scenario, and
//! one when an aggregate row is tampered with; the backfill rebuilds the same figures.

use crate::figures::scripted_day;
use crate::support::*;
use mercato_analytics::{AnalyticsDeps, AnalyticsService};
use mercato_proto::analytics::*;

mercato_runtime::backend_tests! {
    setup: Analytics::on,
    cases: [
        verify_reports_nothing_after_the_scenario_and_a_tampered_row,
        the_backfill_rebuilds_the_same_figures_and_live_events_do_not_count_twice,
    ],
}

async fn verify(a: &Analytics) -> VerifyReport {
    a.service
        .verify(VerifyRequest {
            store_id: STORE.into(),
            range: Some(range("2026-12-01", "2026-12-02")),
            ..VerifyRequest::default()
        })
        .await
        .expect("verify")
}

async fn verify_reports_nothing_after_the_scenario_and_a_tampered_row(a: Analytics) {
    a.store_in("UTC").await;
    for h in scripted_day() {
        a.order(&h).await;
    }
    let report = verify(&a).await;
    assert_eq!(report.differences, [], "no difference after the scenario");
    assert_eq!(report.orders_checked, 5);
    assert!(report.figures_checked > 48 * 10);
    a.db.execute(
        "tamper",
        "UPDATE daily SET gross_minor = gross_minor + 1 WHERE store_id = $1 AND bucket = '2026-12-01'",
        &[&STORE],
    )
    .await
    .unwrap();
    let report = verify(&a).await;
    let found: Vec<(&str, &str, i64, i64)> = report
        .differences
        .iter()
        .map(|d| (d.scope.as_str(), d.figure.as_str(), d.held, d.recomputed))
        .collect();
    assert_eq!(
        found,
        [
            ("summary", "gross_sales_minor", 6001, 6000),
            ("day 2026-12-01", "gross_sales_minor", 5001, 5000)
        ]
    );
}

async fn the_backfill_rebuilds_the_same_figures_and_live_events_do_not_count_twice(a: Analytics) {
    a.store_in("UTC").await;
    let days = scripted_day();
    for h in &days {
        a.orders.histories.lock().unwrap().push(h.history());
    }
    // One order's live events arrive before the backfill, all of them again after it.
    a.ingest(days[1].live_events()).await;
    a.service.backfill_run().await.expect("backfill");
    for h in &days {
        a.ingest(h.live_events()).await;
    }
    let status = a.service.backfill_status().await.unwrap();
    assert_eq!(
        (status.state.as_str(), status.orders_done, status.orders_total),
        ("done", 5, 5)
    );
    let f = a.figures("2026-12-01", "2026-12-01").await;
    assert_eq!(
        (f.gross_sales_minor, f.refunds_minor, f.orders, f.payment_declines),
        (5000, 3000, 2, 1)
    );
    assert_eq!(verify(&a).await.differences, []);
    // A second start finds the backfill done.
    let again = AnalyticsService::new(a.db.clone(), AnalyticsDeps::default())
        .await
        .unwrap();
    assert_eq!(again.backfill_status().await.unwrap().state, "done");
}
