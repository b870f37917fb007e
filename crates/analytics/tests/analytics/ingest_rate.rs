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

/// Top products over 28 days of 500 SKUs (14,000 product-day rows, written directly: a
/// measurement of the read alone).
#[tokio::test]
#[ignore = "a measurement, run by hand"]
async fn top_products_read_time() {
    use mercato_proto::analytics::{Range, TopProductsRequest};
    let a = Analytics::on(Backend::Sqlite).await;
    a.store_in("UTC").await;
    a.db.write("seed", |tx| {
        for day in 1..=28 {
            for p in 0..500 {
                tx.execute(
                    "INSERT INTO product_days (store_id, day, product_id, sku, title, units, net_minor) VALUES ($1, $2, $3, $4, 't', $5, $6)",
                    &[&STORE, &format!("2026-11-{day:02}"), &format!("p{p}"), &format!("s{p}"), &(p as i64), &(p as i64 * 100)],
                )?;
                let week = mercato_analytics::store::weeks::week_of(&format!("2026-11-{day:02}")).unwrap();
                tx.execute(
                    "INSERT INTO product_weeks (store_id, week, product_id, sku, units, net_minor) VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (store_id, week, product_id, sku) DO UPDATE SET units = product_weeks.units + excluded.units",
                    &[&STORE, &week, &format!("p{p}"), &format!("s{p}"), &(p as i64), &(p as i64 * 100)],
                )?;
            }
        }
        Ok::<_, mercato_runtime::db::DbError>(())
    })
    .await
    .unwrap();
    let request = || TopProductsRequest {
        store_id: STORE.into(),
        range: Some(Range {
            from: "2026-11-01".into(),
            to: "2026-11-28".into(),
        }),
        ..TopProductsRequest::default()
    };
    let plan: Vec<(i64, i64, i64, String)> = a
        .db
        .query_all(
            "EXPLAIN QUERY PLAN SELECT product_id, sku, CAST(SUM(units) AS BIGINT), CAST(SUM(net_minor) - SUM(refunds_minor) AS BIGINT)
             FROM product_days WHERE store_id = $1 AND day >= $2 AND day <= $3 GROUP BY product_id, sku",
            &[&STORE, &"2026-11-01", &"2026-11-28"],
        )
        .await
        .unwrap();
    eprintln!("plan: {:?}", plan.iter().map(|p| p.3.clone()).collect::<Vec<_>>());
    let mut times = Vec::new();
    for _ in 0..100 {
        let started = Instant::now();
        let top = a.service.top_products(request()).await.unwrap();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(top.products[0].product_id, "p499");
    }
    times.sort_by(f64::total_cmp);
    eprintln!(
        "top products, 14,000 rows: p50 {:.1} ms, p99 {:.1} ms",
        times[50], times[98]
    );
}
