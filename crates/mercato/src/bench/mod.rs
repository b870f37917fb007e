//! `mercato bench`: load generators for the figures in `benchmarks/`, and the bare hyper server
//! they are compared against in the same run.
//!
//! - `baseline`: a bare hyper server answering fixed JSON; the ceiling for this machine.
//! - `http`: closed-loop load on fixed paths (e.g. against the baseline).
//! - `catalog`: creates a store with products, then measures product reads, listings and
//!   searches at a given concurrency against one or more gateways.
//! - `checkout`: checkouts per second and their latency (cart, line, checkout per shopper), and
//!   the database statements and transactions each checkout cost.
//! - `shop`: the shopper mix (product, cart, search, listing, checkout) with a JSON + HTML report.
//! - `provision`: store provisioning latency, after preloading a number of stores.
//! - `realtime`: WebSocket connections and memory, broadcast fan-out, and conversation latency.
//! - `overload`: capacity, then open-loop load beyond it, then the recovery, in one run.
//! - `analytics-ingest`, `analytics-reads`: analytics embedded, fed through the in-process bus.
//! - `analytics-freshness`: from an order's confirmation to the analytics figure counting it.
//! - `images`: product images derived per second (the `images.derive` job's work).
//! - `jobs`: jobs started per second and the wait from enqueue to start (the runner's cost).
//! - `webhooks`: webhook deliveries per second from event to receiver, a hanging receiver, a
//!   receiver down and back.
//! - `import`: a generated WooCommerce shop imported into the embedded platform, rows/s.

mod analytics;
mod baseline;
mod checkout;
mod dbstats;
mod export;
mod images;
mod import;
mod jobs;
mod load;
mod overload;
mod realtime;
mod scenarios;
mod shop;
mod webhooks;

pub use baseline::serve_baseline;
pub use load::{LoadReport, run_load};
pub use scenarios::{catalog, provision};

use clap::Subcommand;
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Serve fixed JSON with bare hyper (the baseline) until interrupted.
    Baseline {
        #[arg(long, default_value = "127.0.0.1:9990")]
        listen: SocketAddr,
    },
    /// Closed-loop GET load on fixed paths.
    Http {
        #[command(flatten)]
        load: LoadArgs,
        /// Paths to request, picked at random.
        #[arg(long = "path", default_value = "/")]
        paths: Vec<String>,
    },
    /// Product, listing and search load against a freshly created store.
    Catalog {
        #[command(flatten)]
        load: LoadArgs,
        /// Products to create before measuring.
        #[arg(long, default_value_t = 500)]
        products: u32,
    },
    /// Checkouts per second and their latency: shoppers fill a cart and check out, in a loop.
    Checkout {
        #[command(flatten)]
        load: LoadArgs,
        /// `/metrics` URLs to count database statements on (default: each gateway's).
        #[arg(long = "metrics-url")]
        metrics_urls: Vec<String>,
        /// Products (one SKU each) the shoppers pick from at random; 1 is a flash sale, where
        /// every checkout waits for the one stock row.
        #[arg(long, default_value_t = 100)]
        skus: u32,
    },
    /// The shopper mix (product 10 : view cart 3 : add to cart 2 : search 2 : listing 1 :
    /// checkout 1) against a store it prepares; writes a JSON and an HTML report.
    Shop(shop::ShopArgs),
    /// Store provisioning latency over `count` stores, after preloading `preload` stores.
    Provision {
        /// Gateway base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long, default_value_t = 1000)]
        count: usize,
        #[arg(long, default_value_t = 0)]
        preload: usize,
        /// Concurrent provisioning requests while preloading.
        #[arg(long, default_value_t = 4)]
        preload_concurrency: usize,
    },
    /// Real-time (WebSocket) figures: connections, broadcast, latency.
    #[command(subcommand)]
    Realtime(realtime::RealtimeMode),
    /// Capacity, then an open-loop arrival rate beyond it, then the recovery: goodput,
    /// rejections (429/503 with Retry-After) and their latency, other 5xx.
    Overload(overload::OverloadArgs),
    /// From an order's confirmation to the analytics summary counting it (p50/p99), in a store
    /// of the prober's own; run it beside `checkout` for the figure under load.
    AnalyticsFreshness(analytics::FreshnessArgs),
    /// Events per second into analytics embedded, published on the in-process bus.
    AnalyticsIngest(analytics::IngestArgs),
    /// p50/p99 of every analytics read with (by default) 1,000,000 orders in one store, seeded
    /// through the event path.
    AnalyticsReads(analytics::ReadsArgs),
    /// Product images derived per second (decode, orient, three sizes in WebP and JPEG) from
    /// generated photos, on one thread and on several.
    Images(images::ImagesArgs),
    /// Jobs started per second and the latency from enqueue to start while producers keep
    /// enqueueing, on SQLite or PostgreSQL.
    Jobs(jobs::JobsArgs),
    /// Orders exported per second and the process's peak memory during an export of (by
    /// default) 1,000,000 orders seeded in one embedded store.
    Export(export::ExportArgs),
    /// Webhook deliveries per second from an applied event to a local receiver, and their
    /// latency; a receiver that hangs (`--hang-store`) or is down for a while (`--down-secs`).
    Webhooks(webhooks::WebhooksArgs),
    /// A generated WooCommerce shop (MariaDB) imported into the embedded platform through the
    /// REST API: source rows per second per entity, then the reconciliation.
    Import(import::ImportArgs),
}

#[derive(clap::Args, Debug, Clone)]
pub struct LoadArgs {
    /// Gateway base URLs; requests are spread over them.
    #[arg(long = "url", default_value = "http://127.0.0.1:8080")]
    pub urls: Vec<String>,
    /// Requests in flight at once.
    #[arg(long, short = 'c', default_value_t = 64)]
    pub concurrency: usize,
    /// How long each phase runs.
    #[arg(long, short = 'd', default_value = "10s", value_parser = humantime_duration)]
    pub duration: Duration,
    /// Warm-up before each phase, not measured.
    #[arg(long, default_value = "2s", value_parser = humantime_duration)]
    pub warmup: Duration,
}

fn humantime_duration(s: &str) -> Result<Duration, String> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n.parse().map_err(|_| format!("bad duration {s:?}"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" | "" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("bad duration unit in {s:?}; use ms, s or m")),
    }
}

/// Runs one bench command, printing a human summary and one JSON line per phase.
pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Baseline { listen } => serve_baseline(listen).await,
        BenchCommand::Http { load, paths } => run_load("http", &load, paths).await?.print(),
        BenchCommand::Catalog { load, products } => catalog(&load, products).await,
        BenchCommand::Checkout {
            load,
            metrics_urls,
            skus,
        } => checkout::checkout(&load, &metrics_urls, skus).await,
        BenchCommand::Shop(args) => shop::shop(&args).await,
        BenchCommand::Provision {
            url,
            count,
            preload,
            preload_concurrency,
        } => provision(&url, count, preload, preload_concurrency).await,
        BenchCommand::Realtime(mode) => realtime::run(mode).await,
        BenchCommand::Overload(args) => overload::overload(&args).await,
        BenchCommand::AnalyticsFreshness(args) => analytics::freshness(&args).await,
        BenchCommand::AnalyticsIngest(args) => analytics::ingest(&args).await,
        BenchCommand::AnalyticsReads(args) => analytics::reads(&args).await,
        BenchCommand::Images(args) => images::images(&args).await,
        BenchCommand::Jobs(args) => jobs::jobs(&args).await,
        BenchCommand::Export(args) => export::export(&args).await,
        BenchCommand::Webhooks(args) => webhooks::webhooks(&args).await,
        BenchCommand::Import(args) => import::import(&args).await,
    }
}

/// A checkout body for cart `id` paid with payment method `method`, shipped to a German
/// address: goods that ship need one (the bench stores have no shipping zones, so shipping is
/// free and no method is picked).
pub(crate) fn checkout_body(id: &str, method: &str) -> serde_json::Value {
    serde_json::json!({"cart_id": id, "payment": {"payment_method": method},
        "shipping_address": {"name": "Bench Shopper", "line1": "Heidestraße 17", "city": "Köln",
            "postal_code": "51147", "country": "DE"}})
}
