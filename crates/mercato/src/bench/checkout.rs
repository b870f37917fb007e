//! The checkout benchmark: closed-loop shoppers, each filling a fresh cart, tokenizing a card
//! and checking out with its payment method, as a storefront does; a distinct valid card per
//! checkout (fraud screening would rightly block one card used thousands of times a minute).
//! The latency measured is the checkout's; the database figures per journey include the
//! tokenization's two inserts (the provider's token and the payment method).

use super::LoadArgs;
use super::dbstats::{self, DbCounters};
use super::load::{client, fail_on_errors, percentile};
use super::scenarios;
use mercato_payments::provider::test::approving_card as card;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// One shopper journey: cart, line, payment method, checkout. Returns the checkout's latency
/// and status.
pub(super) async fn journey(
    http: &reqwest::Client,
    url: &str,
    store: &str,
    sku: &str,
    n: usize,
) -> anyhow::Result<(u64, u16)> {
    let cart: Value = http
        .post(format!("{url}/v1/stores/{store}/carts"))
        .send()
        .await?
        .json()
        .await?;
    let (id, token) = (
        cart["id"].as_str().unwrap_or_default(),
        cart["cart_token"].as_str().unwrap_or_default(),
    );
    http.post(format!("{url}/v1/stores/{store}/carts/{id}/items"))
        .header("x-cart-token", token)
        .json(&json!({"sku": sku, "quantity": 1}))
        .send()
        .await?
        .error_for_status()?;
    let method: Value = http
        .post(format!("{url}/v1/stores/{store}/payment-methods"))
        .json(&json!({"card_number": card(n as u64)}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let method = method["id"].as_str().unwrap_or_default();
    let sent = Instant::now();
    let response = http
        .post(format!("{url}/v1/stores/{store}/checkout"))
        .header("x-cart-token", token)
        .header("idempotency-key", format!("bench-{n}"))
        .json(&super::checkout_body(id, method))
        .send()
        .await?;
    let status = response.status().as_u16();
    response.bytes().await?;
    Ok((sent.elapsed().as_micros() as u64, status))
}

/// Measures checkouts per second and their latency at the configured concurrency, each
/// journey buying one of `skus` products at random.
pub async fn checkout(args: &LoadArgs, metrics_urls: &[String], skus: u32) -> anyhow::Result<()> {
    let http = client();
    let url = args.urls[0].clone();
    let (store, token) = scenarios::fresh_store(&http, &url).await?;
    let skus = Arc::new(stocked_products(&http, &url, &store, &token, skus.max(1)).await?);
    await_first_checkout(&http, &url, &store, &skus).await?;
    let metrics_urls: Vec<String> = if metrics_urls.is_empty() {
        args.urls.iter().map(|u| format!("{u}/metrics")).collect()
    } else {
        metrics_urls.to_vec()
    };
    let before = DbCounters::scrape(&http, &metrics_urls).await;
    let started = Instant::now();
    let results = run_journeys(args, &http, &store, skus).await?;
    let seconds = started.elapsed().as_secs_f64();
    let after = DbCounters::scrape(&http, &metrics_urls).await;
    let db_per_journey = after.per(&before, results.len() as f64);
    report(args, &results, seconds, &db_per_journey)
}

/// Orders learns SKUs from catalog events; waits until a cart accepts the last one.
async fn await_first_checkout(
    http: &reqwest::Client,
    url: &str,
    store: &str,
    skus: &[String],
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match journey(http, url, store, &skus[skus.len() - 1], usize::MAX / 2).await {
            Ok((_, 201)) => return Ok(()),
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            other => anyhow::bail!("the store never accepted a checkout: {other:?}"),
        }
    }
}

/// Runs journeys from `args.concurrency` workers for `args.duration`; returns each journey's
/// latency in microseconds and status (0 when it failed before an answer).
async fn run_journeys(
    args: &LoadArgs,
    http: &reqwest::Client,
    store: &str,
    skus: Arc<Vec<String>>,
) -> anyhow::Result<Vec<(u64, u16)>> {
    let next = Arc::new(AtomicUsize::new(0));
    let stop = Instant::now() + args.duration;
    let mut workers = Vec::new();
    for w in 0..args.concurrency {
        let (http, next, store, skus) = (http.clone(), next.clone(), store.to_owned(), skus.clone());
        let url = args.urls[w % args.urls.len()].clone();
        workers.push(tokio::spawn(async move {
            let mut out = Vec::new();
            while Instant::now() < stop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let sku = &skus[rand::random::<usize>() % skus.len()];
                out.push(journey(&http, &url, &store, sku, n).await.unwrap_or((0, 0)));
            }
            out
        }));
    }
    let mut results = Vec::new();
    for w in workers {
        results.extend(w.await?);
    }
    Ok(results)
}

/// Prints the rate, latencies and database work of confirmed checkouts; fails when too many
/// journeys were not confirmed.
fn report(
    args: &LoadArgs,
    results: &[(u64, u16)],
    seconds: f64,
    db_per_journey: &BTreeMap<String, BTreeMap<String, dbstats::Counts>>,
) -> anyhow::Result<()> {
    let mut latencies: Vec<u64> = results
        .iter()
        .filter(|(_, s)| *s == 201)
        .map(|(l, _)| *l)
        .collect();
    latencies.sort_unstable();
    let confirmed = latencies.len();
    let (p50, p99) = (percentile(&latencies, 50.0), percentile(&latencies, 99.0));
    let report = json!({
        "phase": "checkout", "concurrency": args.concurrency, "seconds": seconds,
        "journeys": results.len(), "confirmed": confirmed, "other": results.len() - confirmed,
        "checkouts_per_second": confirmed as f64 / seconds,
        "p50_ms": p50, "p99_ms": p99,
        "db_per_journey": db_per_journey,
    });
    println!(
        "checkout   c={:<3} {:>9.1} checkouts/s  p50 {:>7.2} ms  p99 {:>7.2} ms  not confirmed {}",
        args.concurrency,
        confirmed as f64 / seconds,
        p50,
        p99,
        results.len() - confirmed
    );
    println!("database work per journey (statements/transactions per use case):");
    dbstats::print_per("journey", db_per_journey);
    println!("{report}");
    fail_on_errors("checkout", results.len(), results.len() - confirmed)
}

/// Creates `count` products with stock enough for any run; returns their SKUs.
pub(super) async fn stocked_products(
    http: &reqwest::Client,
    url: &str,
    store: &str,
    token: &str,
    count: u32,
) -> anyhow::Result<Vec<String>> {
    let mut skus = Vec::with_capacity(count as usize);
    for i in 0..count {
        let sku = format!("BENCH-{i}");
        scenarios::stocked_product(http, url, (store, token), i, &sku, 1_000_000).await?;
        skus.push(sku);
    }
    Ok(skus)
}
