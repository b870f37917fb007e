//! Freshness: from an order's confirmation to the analytics figure that includes it, measured
//! through the REST API of a running platform (either topology), typically while
//! `mercato bench checkout` loads it (benchmarks/run.sh's checkout phase).
//!
//! The prober works in a store of its own, so only its own orders move that store's figures:
//! each probe checks out one cart (the 201 answer means the order is confirmed), then polls
//! `GET …/analytics/summary` every `poll` until `figures.orders` reaches the probes confirmed so
//! far. The figure is the time from the 201 to the first summary that counts the order, so it
//! includes up to one poll interval and one summary request of measurement error.

use super::super::checkout::{journey, stocked_products};
use super::super::load::{client, percentile};
use super::super::scenarios;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug, Clone)]
pub struct FreshnessArgs {
    /// Gateway base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Orders to follow, one after another (at most).
    #[arg(long, default_value_t = 100)]
    pub probes: usize,
    /// Stop starting probes after this long (beside a load of this duration).
    #[arg(long, value_parser = super::super::humantime_duration)]
    pub duration: Option<Duration>,
    /// How often the summary is asked while waiting.
    #[arg(long, default_value = "10ms", value_parser = super::super::humantime_duration)]
    pub poll: Duration,
    /// Pause between probes.
    #[arg(long, default_value = "100ms", value_parser = super::super::humantime_duration)]
    pub pause: Duration,
    /// Give up on a probe after this long (counted as a failure).
    #[arg(long, default_value = "30s", value_parser = super::super::humantime_duration)]
    pub timeout: Duration,
}

/// Runs the probes and prints p50/p99/max freshness; fails when a probe timed out.
pub async fn freshness(args: &FreshnessArgs) -> anyhow::Result<()> {
    let http = client();
    let url = args.url.trim_end_matches('/');
    let (store, token) = scenarios::fresh_store(&http, url).await?;
    let skus = stocked_products(&http, url, &store, &token, 1).await?;
    let mut latencies_us = Vec::with_capacity(args.probes);
    let mut confirmed = loop {
        if let Some(n) = orders_counted(&http, url, &store, &token).await? {
            break n;
        }
        tokio::time::sleep(args.poll).await;
    };
    let mut timed_out = 0usize;
    let started = Instant::now();
    for n in 0..args.probes {
        if args.duration.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        let (_, status) = checkout_until_accepted(&http, url, &store, &skus[0], n).await?;
        let at = Instant::now();
        anyhow::ensure!(status == 201, "probe {n}: checkout answered {status}");
        confirmed += 1;
        match await_count(&http, url, (&store, &token), confirmed, args).await? {
            true => latencies_us.push(at.elapsed().as_micros() as u64),
            false => timed_out += 1,
        }
        tokio::time::sleep(args.pause).await;
    }
    report(args, &mut latencies_us, timed_out)
}

/// Orders learn a new SKU from catalog events: the first checkouts may be refused briefly.
async fn checkout_until_accepted(
    http: &reqwest::Client,
    url: &str,
    store: &str,
    sku: &str,
    n: usize,
) -> anyhow::Result<(u64, u16)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = journey(http, url, store, sku, 900_000_000 + n).await;
        match answer {
            Ok((_, 201)) => return answer,
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            other => return other,
        }
    }
}

/// Polls the summary until it counts `want` orders; `false` after the timeout.
async fn await_count(
    http: &reqwest::Client,
    url: &str,
    (store, token): (&str, &str),
    want: i64,
    args: &FreshnessArgs,
) -> anyhow::Result<bool> {
    let deadline = Instant::now() + args.timeout;
    while Instant::now() < deadline {
        if orders_counted(http, url, store, token)
            .await?
            .is_some_and(|n| n >= want)
        {
            return Ok(true);
        }
        tokio::time::sleep(args.poll).await;
    }
    Ok(false)
}

/// `figures.orders` of the default range (the last 30 local days, today included); `None` when
/// the platform sheds the request (429, 503: asked again at the next poll, as a client would).
async fn orders_counted(
    http: &reqwest::Client,
    url: &str,
    store: &str,
    token: &str,
) -> anyhow::Result<Option<i64>> {
    let response = http
        .get(format!("{url}/v1/stores/{store}/analytics/summary"))
        .bearer_auth(token)
        .send()
        .await?;
    let status = response.status();
    if matches!(status.as_u16(), 429 | 503) {
        return Ok(None);
    }
    let body: Value = response.json().await.unwrap_or_default();
    anyhow::ensure!(status.is_success(), "summary answered {status}: {body}");
    Ok(Some(body["figures"]["orders"].as_i64().unwrap_or(0)))
}

fn report(args: &FreshnessArgs, latencies_us: &mut [u64], timed_out: usize) -> anyhow::Result<()> {
    latencies_us.sort_unstable();
    let (p50, p99) = (percentile(latencies_us, 50.0), percentile(latencies_us, 99.0));
    let max = latencies_us.last().copied().unwrap_or(0) as f64 / 1000.0;
    println!(
        "analytics freshness  {} probes  p50 {p50:>7.1} ms  p99 {p99:>7.1} ms  max {max:>7.1} ms  timed out {timed_out}",
        latencies_us.len()
    );
    println!(
        "{}",
        json!({"phase": "analytics-freshness", "probes": args.probes, "poll_ms": args.poll.as_millis() as u64,
               "p50_ms": p50, "p99_ms": p99, "max_ms": max, "timed_out": timed_out})
    );
    anyhow::ensure!(
        timed_out == 0,
        "{timed_out} probes were not counted within {:?}",
        args.timeout
    );
    Ok(())
}
