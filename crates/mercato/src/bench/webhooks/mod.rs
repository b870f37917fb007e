//! `mercato bench webhooks`: webhook deliveries per second end to end — an `order.confirmed`
//! event applied by the notifications service (its consumer's `apply`: inbox, fan-out, one
//! transaction per batch) until a local receiver got the delivery — and their latency; with
//! `--hang-store`, the other stores' latency while one store's receiver hangs; with
//! `--down-secs`, a receiver down and back, every event arriving once per id afterwards.
//!
//! The service runs embedded on a fresh SQLite file (or a fresh PostgreSQL database with
//! `--postgres-url`), its webhook dispatcher and the real outbound client included; the
//! receiver is bare hyper on 127.0.0.1 (allowed by `allowed_ranges`, over `http`).

mod receiver;
mod report;
mod service;

use mercato_proto::events::OrderChanged;
use mercato_proto::orders::Order;
use mercato_proto::subjects;
use mercato_runtime::shutdown::Shutdown;
use receiver::Receiver;
use report::Applied;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug, Clone)]
pub struct WebhooksArgs {
    /// Events applied in all (one delivery each: every store has one endpoint).
    #[arg(long, default_value_t = 20_000)]
    pub events: usize,
    /// Stores the events are spread over (round robin), one endpoint each.
    #[arg(long, default_value_t = 20)]
    pub stores: usize,
    /// Events per `apply` call (the consumer takes up to 256 at once).
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Events applied per second; 0 applies as fast as the service takes them (throughput;
    /// the latency then includes the backlog).
    #[arg(long, default_value_t = 0)]
    pub rate: u32,
    /// Deliveries in flight in the process (`webhooks.concurrency`).
    #[arg(long, default_value_t = 512)]
    pub concurrency: usize,
    /// Deliveries of one store in flight (`webhooks.per_store_concurrency`).
    #[arg(long, default_value_t = 32)]
    pub per_store: usize,
    /// Scenario: store 0's receiver hangs for `--hang-secs` from the start; the other stores'
    /// latency is reported apart.
    #[arg(long)]
    pub hang_store: bool,
    #[arg(long, default_value_t = 30)]
    pub hang_secs: u64,
    /// Scenario: the receiver is down for this many seconds from the start, then back.
    #[arg(long, default_value_t = 0)]
    pub down_secs: u64,
    /// The first retry's delay (`webhooks.retry_base`).
    #[arg(long, default_value = "5s", value_parser = super::humantime_duration)]
    pub retry_base: Duration,
    /// The longest retry delay (`webhooks.retry_max`; 12 h in production, shorter here so a
    /// down scenario ends soon after the receiver is back).
    #[arg(long, default_value = "60s", value_parser = super::humantime_duration)]
    pub retry_max: Duration,
    /// One attempt's limit (`webhooks.timeout`).
    #[arg(long, default_value = "10s", value_parser = super::humantime_duration)]
    pub timeout: Duration,
    /// A PostgreSQL server URL; a fresh database `mercato_bench_webhooks_<n>` is made there.
    /// Without it, a temporary SQLite file.
    #[arg(long)]
    pub postgres_url: Option<String>,
}

/// The store events and endpoints of index `n` belong to.
fn store(n: usize) -> String {
    format!("bench-store-{n}")
}

pub async fn webhooks(args: &WebhooksArgs) -> anyhow::Result<()> {
    let receiver = Receiver::start().await?;
    let (service, engine) = service::start(args).await?;
    let stop = Shutdown::new();
    service.webhooks.start(stop.clone());
    for n in 0..args.stores.max(1) {
        service::register(&service, &store(n), &receiver.url(&store(n))).await?;
    }
    if args.hang_store {
        receiver.hang(&store(0), Duration::from_secs(args.hang_secs));
    }
    let down = Duration::from_secs(args.down_secs);
    if args.down_secs > 0 {
        receiver.go_down();
        let back = receiver.clone();
        tokio::spawn(async move {
            tokio::time::sleep(down).await;
            if let Err(e) = back.come_up().await {
                eprintln!("the receiver could not come back: {e}");
            }
        });
    }
    let started = Instant::now();
    let applied = produce(&service, args).await?;
    let applied_in = started.elapsed();
    let expected: Vec<String> = applied.iter().map(|a| a.id.clone()).collect();
    wait_for_all(&receiver, &expected, started, args).await?;
    let all_in = started.elapsed();
    stop.cancel();
    report::print(args, engine, &applied, &receiver, applied_in, all_in, down);
    Ok(())
}

/// Applies the events in batches at the configured rate; returns each event's id, store and
/// when its batch was handed to `apply`.
async fn produce(
    service: &mercato_notifications::NotificationsService,
    args: &WebhooksArgs,
) -> anyhow::Result<Vec<Applied>> {
    let batch = args.batch.max(1);
    let mut pace = (args.rate > 0).then(|| {
        let every = Duration::from_secs_f64(batch as f64 / f64::from(args.rate));
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval
    });
    let mut applied = Vec::with_capacity(args.events);
    let stores = args.stores.max(1);
    let mut n = 0;
    while n < args.events {
        if let Some(interval) = pace.as_mut() {
            interval.tick().await;
        }
        let events: Vec<_> = (n..(n + batch).min(args.events))
            .map(|i| order_event(&store(i % stores), i))
            .collect();
        let at = Instant::now();
        applied.extend(events.iter().map(|e| Applied {
            id: e.id.clone(),
            store: e.store_id.clone(),
            at,
        }));
        n += events.len();
        service.apply(events).await?;
    }
    Ok(applied)
}

fn order_event(store: &str, n: usize) -> mercato_proto::events::EventEnvelope {
    let order = Order {
        id: format!("order-{n}"),
        store_id: store.to_owned(),
        currency: "EUR".to_owned(),
        total_minor: 4200,
        ..Default::default()
    };
    let changed = OrderChanged { order: Some(order) };
    mercato_runtime::outbox::envelope(store, subjects::orders::ORDER_CONFIRMED, 1, &changed)
}

/// Waits until every expected id arrived (at most the scenario's length plus ten minutes).
async fn wait_for_all(
    receiver: &Arc<Receiver>,
    expected: &[String],
    started: Instant,
    args: &WebhooksArgs,
) -> anyhow::Result<()> {
    let limit = Duration::from_secs(600 + args.down_secs + args.hang_secs);
    loop {
        let missing = receiver.read(|a| expected.iter().filter(|id| !a.by_id.contains_key(*id)).count());
        if missing == 0 {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < limit,
            "{missing} of {} deliveries did not arrive within {limit:?}",
            expected.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
