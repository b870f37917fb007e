//! `mercato bench analytics-reads`: seeds one store with many orders through the event path
//! (as `analytics-ingest` does), then measures each read one request at a time: p50, p99 and
//! max of the summary (with the previous period), day and hour timeseries, top products and
//! the funnel over the default range (the last 30 days), answered by the service in process.

use super::super::load::percentile;
use super::embedded::Embedded;
use super::ingest::plan;
use mercato_proto::analytics::{
    FunnelRequest, Interval, Metric, Ranking, SummaryRequest, TimeseriesRequest, TopProductsRequest,
};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args, Debug, Clone)]
pub struct ReadsArgs {
    /// Orders to seed in the one store.
    #[arg(long, default_value_t = 1_000_000)]
    pub orders: u64,
    /// Requests measured per read, after 20 not measured.
    #[arg(long, default_value_t = 1_000)]
    pub requests: usize,
    /// Publishers in flight while seeding.
    #[arg(long, default_value_t = 512)]
    pub concurrency: usize,
    /// Where the SQLite file goes (default: the system temp directory); removed afterwards.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// The reads measured.
const READS: [&str; 6] = [
    "summary",
    "summary+previous",
    "timeseries day",
    "timeseries hour",
    "top-products",
    "funnel",
];

/// Seeds, then measures every read; fails when one's p99 is 20 ms or more.
pub async fn reads(args: &ReadsArgs) -> anyhow::Result<()> {
    let embedded = Embedded::start(args.dir.clone()).await?;
    let plan = plan(args.orders);
    let (events, took) = embedded.feed(&plan, args.concurrency).await?;
    println!(
        "seeded {} orders ({events} events) in {:.1} s ({:.0} events/s)",
        args.orders,
        took.as_secs_f64(),
        events as f64 / took.as_secs_f64()
    );
    let mut slow = Vec::new();
    for read in READS {
        let (p50, p99, max) = measure(&embedded, &plan.store_id, read, args.requests).await?;
        println!("{read:<18} p50 {p50:>7.2} ms  p99 {p99:>7.2} ms  max {max:>7.2} ms");
        println!(
            "{}",
            json!({"phase": "analytics-reads", "read": read, "orders": args.orders,
                   "requests": args.requests, "p50_ms": p50, "p99_ms": p99, "max_ms": max})
        );
        if p99 >= 20.0 {
            slow.push(read);
        }
    }
    embedded.finish();
    anyhow::ensure!(slow.is_empty(), "p99 at or above 20 ms: {slow:?}");
    Ok(())
}

/// p50, p99 and max (ms) of `requests` sequential calls of `read`.
async fn measure(
    embedded: &Embedded,
    store: &str,
    read: &str,
    requests: usize,
) -> anyhow::Result<(f64, f64, f64)> {
    let mut micros = Vec::with_capacity(requests);
    for i in 0..requests + 20 {
        let started = Instant::now();
        call(embedded, store, read).await?;
        if i >= 20 {
            micros.push(started.elapsed().as_micros() as u64);
        }
    }
    micros.sort_unstable();
    let max = micros.last().copied().unwrap_or(0) as f64 / 1000.0;
    Ok((percentile(&micros, 50.0), percentile(&micros, 99.0), max))
}

async fn call(embedded: &Embedded, store: &str, read: &str) -> anyhow::Result<()> {
    let service = &embedded.service;
    let store_id = store.to_owned();
    let answer = match read {
        "summary" | "summary+previous" => service
            .summary(SummaryRequest {
                store_id,
                compare_previous: read == "summary+previous",
                ..SummaryRequest::default()
            })
            .await
            .map(drop),
        "timeseries day" | "timeseries hour" => service
            .timeseries(TimeseriesRequest {
                store_id,
                metric: Metric::NetSales as i32,
                interval: if read == "timeseries day" {
                    Interval::Day
                } else {
                    Interval::Hour
                } as i32,
                ..TimeseriesRequest::default()
            })
            .await
            .map(drop),
        "top-products" => service
            .top_products(TopProductsRequest {
                store_id,
                by: Ranking::NetSales as i32,
                limit: 10,
                ..TopProductsRequest::default()
            })
            .await
            .map(drop),
        _ => service
            .funnel(FunnelRequest {
                store_id,
                ..FunnelRequest::default()
            })
            .await
            .map(drop),
    };
    answer.map_err(|e| anyhow::anyhow!("{read}: {e}"))
}
