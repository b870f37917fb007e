//! `mercato bench shop`: the shopper mix (`mix.rs`) as a closed loop against any gateway,
//! on a store it prepares, with a progress bar while it runs and a JSON + HTML report
//! (`report.rs`) afterwards.

pub(super) mod mix;
mod report;

use super::LoadArgs;
use super::dbstats::{self, DbCounters};
use super::load::{client, fail_on_errors};
use super::scenarios;
use indicatif::{ProgressBar, ProgressStyle};
use mix::{Sample, Shop, Shopper};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug, Clone)]
pub struct ShopArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Products (one SKU each, with stock enough not to run out) in the prepared store.
    #[arg(long, default_value_t = 200)]
    pub products: u32,
    /// Directory for `shop.json` and `shop.html`.
    #[arg(long, default_value = "benchmarks/out/shop")]
    pub out: PathBuf,
    /// `/metrics` URLs of the processes to count database statements on (default: each
    /// gateway URL's `/metrics`, which in the embedded topology covers every service).
    #[arg(long = "metrics-url")]
    pub metrics_urls: Vec<String>,
}

/// Prepares a store, runs the mix for the warm-up and then the measured duration, and writes
/// the report.
pub async fn shop(args: &ShopArgs) -> anyhow::Result<()> {
    let http = client();
    let shop = Arc::new(prepare(&http, &args.load.urls[0], args.products).await?);
    let metrics_urls = if args.metrics_urls.is_empty() {
        args.load.urls.iter().map(|u| format!("{u}/metrics")).collect()
    } else {
        args.metrics_urls.clone()
    };
    let checkouts = Arc::new(AtomicUsize::new(0));
    run_phase(&http, &shop, &args.load, args.load.warmup, &checkouts, "warm-up").await;
    let before = DbCounters::scrape(&http, &metrics_urls).await;
    let started = Instant::now();
    let samples = run_phase(
        &http,
        &shop,
        &args.load,
        args.load.duration,
        &checkouts,
        "measuring",
    )
    .await;
    let seconds = started.elapsed().as_secs_f64();
    let after = DbCounters::scrape(&http, &metrics_urls).await;

    let summary = report::Summary::of(&samples, seconds, args.load.concurrency);
    let confirmed = summary.ok_count(mix::Kind::Checkout) as f64;
    let db_per_checkout = after.per(&before, confirmed);
    summary.print();
    println!("database work during the mix, per confirmed checkout (statements/transactions):");
    dbstats::print_per("checkout", &db_per_checkout);
    let json = summary.to_json(json!({
        "store": shop.store, "products": args.products, "urls": args.load.urls,
        "db_per_checkout": db_per_checkout,
    }));
    std::fs::create_dir_all(&args.out)?;
    std::fs::write(args.out.join("shop.json"), serde_json::to_vec_pretty(&json)?)?;
    std::fs::write(args.out.join("shop.html"), report::html(&summary, &json))?;
    println!("{}", serde_json::to_string(&json["totals"])?);
    println!("report: {}", args.out.join("shop.html").display());
    fail_on_errors("shop", summary.total.requests, summary.total.errors)
}

/// Runs `concurrency` shoppers for `length`, with a progress bar; returns every request.
async fn run_phase(
    http: &reqwest::Client,
    shop: &Arc<Shop>,
    load: &LoadArgs,
    length: Duration,
    checkouts: &Arc<AtomicUsize>,
    label: &'static str,
) -> Vec<Sample> {
    let started = Instant::now();
    let deadline = started + length;
    let requests = Arc::new(AtomicU64::new(0));
    let (bar, ticker) = progress(label, length, started, requests.clone());
    let mut workers = Vec::with_capacity(load.concurrency);
    for w in 0..load.concurrency {
        let (http, shop, checkouts, requests) =
            (http.clone(), shop.clone(), checkouts.clone(), requests.clone());
        let url = load.urls[w % load.urls.len()].clone();
        workers.push(tokio::spawn(async move {
            let shop = Shop {
                url,
                store: shop.store.clone(),
                product_ids: shop.product_ids.clone(),
                skus: shop.skus.clone(),
                words: shop.words.clone(),
                pages: shop.pages,
            };
            let mut shopper = Shopper::new();
            let mut out = Vec::with_capacity(16_384);
            while Instant::now() < deadline {
                let before = out.len();
                let next = || checkouts.fetch_add(1, Ordering::Relaxed);
                shopper.act(&http, &shop, started, next, &mut out).await;
                requests.fetch_add((out.len() - before) as u64, Ordering::Relaxed);
            }
            out
        }));
    }
    let mut samples = Vec::new();
    for w in workers {
        if let Ok(s) = w.await {
            samples.extend(s);
        }
    }
    ticker.abort();
    bar.finish_and_clear();
    samples
}

/// A progress bar over the phase's seconds, showing the request rate once a second until the
/// returned ticker is aborted.
fn progress(
    label: &'static str,
    length: Duration,
    started: Instant,
    requests: Arc<AtomicU64>,
) -> (ProgressBar, tokio::task::JoinHandle<()>) {
    let bar = ProgressBar::new(length.as_secs().max(1));
    bar.set_style(
        ProgressStyle::with_template("{prefix:>10} [{bar:40}] {pos}/{len} s  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(label);
    let ticker = tokio::spawn({
        let bar = bar.clone();
        async move {
            let mut last = 0;
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let now = requests.load(Ordering::Relaxed);
                bar.set_position(started.elapsed().as_secs());
                bar.set_message(format!("{} req/s", now - last));
                last = now;
            }
        }
    });
    (bar, ticker)
}

/// A fresh store with `products` products (one SKU each, 10,000,000 units), indexed for search
/// and known to orders (a cart accepts the last SKU).
pub(super) async fn prepare(http: &reqwest::Client, url: &str, products: u32) -> anyhow::Result<Shop> {
    let (store, token) = scenarios::fresh_store(http, url).await?;
    let bar = ProgressBar::new(u64::from(products));
    bar.set_style(
        ProgressStyle::with_template("{prefix:>10} [{bar:40}] {pos}/{len} products")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix("preparing");
    let (mut product_ids, mut skus) = (Vec::new(), Vec::new());
    for i in 0..products {
        let sku = format!("SHOP-{i}");
        let id = scenarios::stocked_product(http, url, (&store, &token), i, &sku, 10_000_000).await?;
        product_ids.push(id);
        skus.push(sku);
        bar.inc(1);
    }
    bar.finish_and_clear();
    wait_until_ready(
        http,
        url,
        &store,
        products,
        skus.last().map(String::as_str).unwrap_or_default(),
    )
    .await?;
    println!("store {store}: {products} products created, indexed and stocked");
    Ok(Shop {
        url: url.to_owned(),
        store,
        product_ids,
        skus,
        words: scenarios::WORDS.to_vec(),
        pages: (products / 20).clamp(1, 10),
    })
}

/// Search and orders learn products from events; waits until both know every product.
async fn wait_until_ready(
    http: &reqwest::Client,
    url: &str,
    store: &str,
    products: u32,
    last_sku: &str,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let searched: Value = http
            .get(format!("{url}/v1/stores/{store}/search?limit=1"))
            .send()
            .await?
            .json()
            .await?;
        let cart: Value = http
            .post(format!("{url}/v1/stores/{store}/carts"))
            .send()
            .await?
            .json()
            .await?;
        let added = http
            .post(format!(
                "{url}/v1/stores/{store}/carts/{}/items",
                cart["id"].as_str().unwrap_or_default()
            ))
            .header("x-cart-token", cart["cart_token"].as_str().unwrap_or_default())
            .json(&json!({"sku": last_sku, "quantity": 1}))
            .send()
            .await?;
        if searched["total"].as_u64() == Some(u64::from(products)) && added.status().is_success() {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "the store was not ready within 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
