//! `mercato bench overload`: drives gateways beyond their capacity and reports what overload
//! costs. On a store it prepares it measures, in one run: capacity (closed loop, `-c` shoppers
//! acting back to back), a light-load baseline (open loop at a tenth of capacity), overload
//! (open loop at `--factor` × capacity: each action is sent at its scheduled instant whether
//! or not earlier ones were answered, and timed from that instant, so queueing is not hidden by
//! a late sender), and the recovery (the light load again, in half-second windows from the
//! moment the overload stops, while its last requests are still draining).

mod actions;
mod report;

use super::LoadArgs;
use super::load::client;
use actions::{Mix, Outcome, Shoppers};
use report::{Phase, Verdict};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

#[derive(clap::Args, Debug, Clone)]
pub struct OverloadArgs {
    /// `-c` is the capacity phase's shoppers; `-d` the length of the capacity and overload
    /// phases each.
    #[command(flatten)]
    pub load: LoadArgs,
    /// The overload's arrival rate as a multiple of the measured capacity.
    #[arg(long, default_value_t = 3.0)]
    pub factor: f64,
    /// The request mix.
    #[arg(long, value_enum, default_value_t = Mix::Shop)]
    pub mix: Mix,
    /// Products (one SKU each, stock enough not to run out) in the prepared store.
    #[arg(long, default_value_t = 200)]
    pub products: u32,
    /// How long the light load runs after the overload, to see it recover.
    #[arg(long, default_value = "10s", value_parser = super::humantime_duration)]
    pub recovery: Duration,
    /// Requests the open-loop phases keep in flight at most, over as many keep-alive
    /// connections, as a load balancer or a browser pool does; an arrival finding them all busy
    /// waits for one, and the wait counts in its latency. 0: unbounded, a new connection
    /// whenever none is idle (every shopper their own, which measures the client's backlog
    /// more than the server once the machine is shared).
    #[arg(long, default_value_t = 512)]
    pub connections: usize,
    /// Exit with an error when a goal is missed (goodput ≥ 90 % of capacity, rejections p99
    /// < 50 ms with `Retry-After`, no other 5xx, recovered within 5 s).
    #[arg(long)]
    pub check: bool,
}

/// Length of the light-load baseline before the overload.
const BASELINE: Duration = Duration::from_secs(3);
/// The pause after the capacity phase, before the baseline.
const SETTLE: Duration = Duration::from_secs(1);
/// Length of a recovery window.
const WINDOW: Duration = Duration::from_millis(500);
/// How long an answer may take before the client gives up (longer than the gateway's default
/// request timeout, so that its 504 shows rather than a client timeout).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(20);

/// Prepares a store, runs the phases and prints one human line and one JSON line each.
pub async fn overload(args: &OverloadArgs) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(100_000)
        .tcp_nodelay(true)
        .timeout(CLIENT_TIMEOUT)
        .build()?;
    let shop = super::shop::prepare(&client(), &args.load.urls[0], args.products).await?;
    let connections = (args.connections > 0).then(|| Arc::new(Semaphore::new(args.connections)));
    let shoppers = Arc::new(Shoppers::new(
        http,
        shop,
        args.load.urls.clone(),
        args.mix,
        connections,
    ));
    let length = args.load.duration;

    closed_loop(&shoppers, args.load.concurrency, args.load.warmup).await;
    let (from, capacity) = timed(&shoppers, closed_loop(&shoppers, args.load.concurrency, length)).await;
    let capacity = Phase::of("capacity", &capacity, from, None);
    capacity.print()?;

    // The server lets go of shedding gently after a saturating phase (`runtime::pressure`).
    tokio::time::sleep(SETTLE).await;
    let light = (capacity.goodput_rps / 10.0).max(20.0);
    let (from, baseline) = timed(&shoppers, open_loop(&shoppers, light, BASELINE)).await;
    let baseline = Phase::of("baseline", &baseline, from, Some(light));
    baseline.print()?;

    let heavy = capacity.goodput_rps * args.factor;
    let (overload, recovery, (from, stopped_us)) =
        overload_then_recovery(&shoppers, heavy, light, args).await;
    let overload = Phase::of("overload", &overload, (from, stopped_us), Some(heavy));
    overload.print()?;

    let window_us = WINDOW.as_micros() as u64;
    let end_us = stopped_us + args.recovery.as_micros() as u64;
    let windows = report::windows(&recovery, stopped_us, end_us, window_us);
    println!("{}", serde_json::json!({"phase": "recovery", "windows": windows}));
    let recovered = report::recovered_after(&baseline, &windows, WINDOW.as_secs_f64());
    let verdict = Verdict::of(&capacity, &overload, recovered);
    verdict.print()?;
    anyhow::ensure!(!args.check || verdict.met, "the overload goals were not met");
    Ok(())
}

/// Runs the overload; the moment its last action is sent, starts the light load for the
/// recovery watch. Returns both phases' outcomes and the overload's window (µs since the epoch).
async fn overload_then_recovery(
    shoppers: &Arc<Shoppers>,
    heavy: f64,
    light: f64,
    args: &OverloadArgs,
) -> (Vec<Outcome>, Vec<Outcome>, (u64, u64)) {
    let from = since_epoch(shoppers);
    let pending = send_on_schedule(shoppers, heavy, args.load.duration).await;
    let stopped = since_epoch(shoppers);
    let recovery = open_loop(shoppers, light, args.recovery);
    let (overload, recovery) = tokio::join!(gather(pending), recovery);
    (overload, recovery, (from, stopped))
}

/// The outcomes of `phase` and the window it ran in, in µs since the epoch.
async fn timed(shoppers: &Shoppers, phase: impl Future<Output = Vec<Outcome>>) -> ((u64, u64), Vec<Outcome>) {
    let from = since_epoch(shoppers);
    let outcomes = phase.await;
    ((from, since_epoch(shoppers)), outcomes)
}

fn since_epoch(shoppers: &Shoppers) -> u64 {
    shoppers.epoch.elapsed().as_micros() as u64
}

/// `concurrency` shoppers each acting as soon as its previous action was answered.
async fn closed_loop(shoppers: &Arc<Shoppers>, concurrency: usize, length: Duration) -> Vec<Outcome> {
    let deadline = Instant::now() + length;
    let workers: Vec<_> = (0..concurrency)
        .map(|n| {
            let shoppers = shoppers.clone();
            tokio::spawn(async move {
                let mut out = Vec::with_capacity(4096);
                while Instant::now() < deadline {
                    out.extend(shoppers.act(n, Instant::now()).await);
                }
                out
            })
        })
        .collect();
    gather(workers).await
}

/// Actions arriving at `rate` per second for `length`, each on its own task, then every answer.
async fn open_loop(shoppers: &Arc<Shoppers>, rate: f64, length: Duration) -> Vec<Outcome> {
    let pending = send_on_schedule(shoppers, rate, length).await;
    gather(pending).await
}

/// Starts action `i` at `start + i / rate` for `length`, whether or not earlier ones were
/// answered; returns the tasks, which are still running.
async fn send_on_schedule(
    shoppers: &Arc<Shoppers>,
    rate: f64,
    length: Duration,
) -> Vec<tokio::task::JoinHandle<Vec<Outcome>>> {
    let start = Instant::now();
    let total = (rate * length.as_secs_f64()) as u64;
    let mut tasks = Vec::with_capacity(total as usize);
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sent = 0u64;
    while sent < total {
        tick.tick().await;
        let due_now = ((start.elapsed().as_secs_f64() * rate) as u64).min(total);
        for i in sent..due_now {
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            let shoppers = shoppers.clone();
            tasks.push(tokio::spawn(async move {
                shoppers.act_when_connected(i as usize, due).await
            }));
        }
        sent = due_now;
    }
    tasks
}

async fn gather(tasks: Vec<tokio::task::JoinHandle<Vec<Outcome>>>) -> Vec<Outcome> {
    let mut all = Vec::new();
    for task in tasks {
        if let Ok(outcomes) = task.await {
            all.extend(outcomes);
        }
    }
    all
}
