//! A throughput smoke check (ignored by default; `mercato bench webhooks` is the measurement):
//! events applied in consumer-sized batches to 20 stores, each with an endpoint on a local
//! receiver, until every delivery arrived.
//!
//! `cargo test --release -p mercato-notifications --test notifications webhooks_throughput -- --ignored --nocapture`

use crate::support::Builder;
use crate::webhooks::{endpoint, order_event};
use crate::webhooks_receiver::Receiver;
use mercato_proto::subjects;
use mercato_runtime::testing::Backend;
use std::time::Instant;

const EVENTS: usize = 4000;
const STORES: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run with --ignored --nocapture, preferably --release"]
async fn deliveries_per_second_on_sqlite() {
    // Generous timeouts: a slow debug build must not time out (and so resend) a delivery.
    let h = Builder::new(Backend::Sqlite)
        .local_receivers()
        .webhooks(|w| {
            w.timeout = std::time::Duration::from_secs(20);
            w.connect_timeout = std::time::Duration::from_secs(10);
        })
        .build()
        .await;
    let receiver = Receiver::start().await;
    let stores: Vec<String> = (0..STORES).map(|i| format!("store-{i}")).collect();
    for store in &stores {
        endpoint(&h, store, &receiver.url(), &["order.confirmed"]).await;
    }
    let started = Instant::now();
    for chunk in (0..EVENTS).collect::<Vec<_>>().chunks(256) {
        let events = chunk
            .iter()
            .map(|i| {
                order_event(
                    &stores[i % STORES],
                    subjects::orders::ORDER_CONFIRMED,
                    &format!("o{i}"),
                )
            })
            .collect();
        h.service.apply(events).await.unwrap();
    }
    let applied = started.elapsed();
    let got = receiver.wait_for(EVENTS, 120).await;
    let took = started.elapsed();
    println!(
        "{} deliveries in {:.2?} ({:.0}/s); events applied in {:.2?}",
        got.len(),
        took,
        got.len() as f64 / took.as_secs_f64(),
        applied
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let got = receiver.requests();
    let mut ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id").unwrap()).collect();
    ids.sort_unstable();
    let twice: Vec<&&str> = ids.windows(2).filter(|w| w[0] == w[1]).map(|w| &w[0]).collect();
    let (attempts,): (i64,) = h
        .service
        .db()
        .query_one("SELECT COALESCE(SUM(attempts), 0) FROM webhook_deliveries", &[])
        .await
        .unwrap();
    let errors: Vec<(String, i64)> = h
        .service
        .db()
        .query_all(
            "SELECT error, COUNT(*) FROM webhook_attempts WHERE error <> '' GROUP BY error",
            &[],
        )
        .await
        .unwrap();
    assert!(
        twice.is_empty(),
        "sent twice: {}; attempts recorded {attempts}; errors {errors:?}",
        twice.len()
    );
    assert_eq!(got.len(), EVENTS);
}
