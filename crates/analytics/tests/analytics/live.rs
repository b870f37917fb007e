//! Through the bus: the consumers apply what is published, the inbox skips a redelivery, and
//! today's figures go out as `FiguresChanged`; a store that changes its zone buckets later
//! orders in the new one.

use crate::support::*;
use mercato_proto::events::{EventEnvelope, FiguresChanged, StoreChanged};
use mercato_proto::subjects;
use mercato_runtime::bus::{Delivery, MemoryBus, SharedBus};
use mercato_runtime::shutdown::Shutdown;
use prost::Message;
use std::sync::Arc;
use std::time::Duration;

mercato_runtime::backend_tests! {
    setup: Analytics::on,
    cases: [
        published_orders_reach_today_and_figures_changed_goes_out,
        a_new_time_zone_buckets_later_orders_in_it,
        a_new_time_zone_rebuilds_what_was_counted_in_the_old_one,
    ],
}

async fn publish(bus: &SharedBus, e: &EventEnvelope) {
    bus.publish(&e.subject, &e.id, e.encode_to_vec().into())
        .await
        .unwrap();
}

async fn published_orders_reach_today_and_figures_changed_goes_out(a: Analytics) {
    a.store_in("UTC").await;
    let bus: SharedBus = Arc::new(MemoryBus::new());
    let mut figures = bus
        .subscribe(subjects::analytics::FIGURES_CHANGED, Delivery::Fanout)
        .await
        .unwrap();
    let stop = Shutdown::new();
    a.service.start(bus.clone(), stop.clone()).await.unwrap();
    let now = jiff::Timestamp::now().to_string();
    let h = History::placed(
        "today",
        "c1",
        "",
        vec![line("A1", "pA", 3, 700, 0, false)],
        None,
        &now,
    )
    .confirm(&now);
    for e in h.live_events() {
        publish(&bus, &e).await;
        publish(&bus, &e).await;
    }
    // The placement may go out first (orders by status changed): wait for the confirmation.
    let confirmed = async {
        loop {
            let message = figures.next().await.unwrap();
            let envelope = EventEnvelope::decode(message.payload).unwrap();
            assert_eq!(envelope.store_id, STORE);
            let changed = FiguresChanged::decode(envelope.payload.as_slice()).unwrap();
            if changed.figures.as_ref().unwrap().orders > 0 {
                return changed;
            }
        }
    };
    let changed = tokio::time::timeout(Duration::from_secs(5), confirmed)
        .await
        .expect("FiguresChanged within 5 s");
    let f = changed.figures.unwrap();
    assert_eq!(
        (f.orders, f.units, f.gross_sales_minor),
        (1, 3, 2100),
        "counted once"
    );
    assert_eq!(changed.currency, "EUR");
    stop.cancel();
}

/// The store moves to New York at `at` (its `store_changed` event).
async fn move_to_new_york(a: &Analytics, at: &str) {
    let moved = StoreChanged {
        store_id: STORE.into(),
        slug: "s".into(),
        name: "S".into(),
        currency: "EUR".into(),
        time_zone: "America/New_York".into(),
    };
    let mut e = mercato_runtime::outbox::envelope(STORE, subjects::identity::STORE_CHANGED, 1, &moved);
    e.occurred_at_ms = ms(at);
    a.ingest(vec![e]).await;
}

/// One unit confirmed at 03:00 UTC on 2026-12-02: the 2nd in UTC, still the 1st in New York.
fn ny_order() -> History {
    History::placed(
        "ny",
        "c1",
        "",
        vec![line("A1", "pA", 1, 1000, 0, false)],
        None,
        "2026-12-02T02:59:00Z",
    )
    .confirm("2026-12-02T03:00:00Z")
}

async fn a_new_time_zone_buckets_later_orders_in_it(a: Analytics) {
    a.store_in("UTC").await;
    move_to_new_york(&a, "2026-12-01T00:00:00Z").await;
    let h = ny_order();
    a.order(&h).await;
    let summary = a.summary("2026-12-01", "2026-12-01").await;
    assert_eq!(summary.range.unwrap().time_zone, "America/New_York");
    assert_eq!(summary.figures.unwrap().orders, 1);
    assert_eq!(a.figures("2026-12-02", "2026-12-02").await.orders, 0);
}

async fn a_new_time_zone_rebuilds_what_was_counted_in_the_old_one(a: Analytics) {
    use mercato_proto::analytics::{Range, VerifyRequest};
    a.store_in("UTC").await;
    let h = ny_order();
    a.order(&h).await;
    assert_eq!(a.figures("2026-12-02", "2026-12-02").await.orders, 1);
    move_to_new_york(&a, "2026-12-03T00:00:00Z").await;
    // Until the rebuild is done, the store's live order snapshots wait, then count after it.
    let later = History::placed(
        "later",
        "c2",
        "",
        vec![line("A1", "pA", 2, 1000, 0, false)],
        None,
        "2026-12-03T15:00:00Z",
    )
    .confirm("2026-12-03T15:01:00Z");
    a.order(&later).await;
    assert_eq!(a.figures("2026-12-03", "2026-12-03").await.units, 0, "deferred");
    assert_eq!(a.service.rebuild_pending().await.unwrap(), 1);
    assert_eq!(a.figures("2026-12-01", "2026-12-01").await.orders, 1);
    assert_eq!(a.figures("2026-12-02", "2026-12-02").await.orders, 0);
    assert_eq!(a.figures("2026-12-03", "2026-12-03").await.units, 2);
    let report = a
        .service
        .verify(VerifyRequest {
            store_id: STORE.into(),
            range: Some(Range {
                from: "2026-11-30".into(),
                to: "2026-12-03".into(),
            }),
            ..VerifyRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(report.differences, []);
}
