//! Two replicas folding snapshots of the same orders at once (PostgreSQL runs them
//! concurrently) count each order once: the order's row is locked while it is folded, and a
//! replica that loses the race to fold an order first retries its batch, as a consumer would.

use crate::support::*;
use mercato_analytics::{AnalyticsDeps, AnalyticsService};
use mercato_proto::events::EventEnvelope;
use std::sync::Arc;

mercato_runtime::backend_tests! {
    setup: Analytics::on,
    cases: [two_replicas_folding_the_same_orders_count_each_once],
}

async fn ingest_retrying(service: Arc<AnalyticsService>, events: Vec<EventEnvelope>) {
    for chunk in events.chunks(8) {
        let mut attempts = 0;
        while let Err(e) = service.ingest(chunk.to_vec()).await {
            attempts += 1;
            assert!(attempts < 50, "batch kept failing: {e}");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}

async fn two_replicas_folding_the_same_orders_count_each_once(a: Analytics) {
    a.store_in("UTC").await;
    let other = AnalyticsService::new(a.db.clone(), AnalyticsDeps::default())
        .await
        .unwrap();
    let (mut first, mut second) = (Vec::new(), Vec::new());
    for i in 0..40 {
        let h = History::placed(
            &format!("o{i}"),
            &format!("c{i}"),
            "",
            vec![line("A1", "pA", 2, 500, 0, false)],
            None,
            "2026-12-01T10:00:00Z",
        )
        .confirm("2026-12-01T10:01:00Z")
        .refund(500, "A1", 1, "2026-12-01T12:00:00Z");
        let events = h.live_events();
        // One replica gets the placement and confirmation, the other the refund.
        first.extend(events[..2].iter().cloned());
        second.push(events[2].clone());
    }
    let (x, y) = (
        tokio::spawn(ingest_retrying(a.service.clone(), first)),
        tokio::spawn(ingest_retrying(other, second)),
    );
    x.await.unwrap();
    y.await.unwrap();
    let f = a.figures("2026-12-01", "2026-12-01").await;
    assert_eq!(
        (f.orders, f.gross_sales_minor, f.refunds_minor, f.new_customers),
        (40, 40_000, 20_000, 40)
    );
    assert_eq!(f.orders_by_status.get("partially_refunded"), Some(&40));
    assert_eq!(f.orders_by_status.len(), 1, "{:?}", f.orders_by_status);
}
