//! How fast events are applied embedded (SQLite), in batches as the consumers take them. Run
//! by hand (`--ignored --nocapture`); the benchmark proper is `mercato bench analytics`.

use crate::support::*;
use mercato_runtime::testing::Backend;
use std::time::Instant;

#[tokio::test]
#[ignore = "a measurement, run by hand"]
async fn ingest_rate_embedded() {
    let a = Analytics::on(Backend::Sqlite).await;
    a.store_in("UTC").await;
    let orders = 10_000;
    let mut events = Vec::with_capacity(orders * 2);
    for i in 0..orders {
        let at = format!("2026-12-01T{:02}:{:02}:00Z", (i / 60) % 24, i % 60);
        let customer = format!("c{}", i % 3000);
        let h = History::placed(
            &format!("o{i}"),
            &customer,
            "",
            vec![line("A1", "pA", 2, 1000, 0, false)],
            None,
            &at,
        )
        .confirm(&at);
        events.extend(h.live_events());
    }
    let started = Instant::now();
    let n = events.len();
    for chunk in events.chunks(512) {
        a.ingest(chunk.to_vec()).await;
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "ingested {n} events in {secs:.2} s: {:.0} events/s",
        n as f64 / secs
    );
    assert_eq!(a.figures("2026-12-01", "2026-12-01").await.orders, orders as i64);
}
