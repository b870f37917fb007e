//! `bench realtime latency`: P conversation pairs (see `pairs`) measured at rising fixed total
//! rates (open loop) until delivery falls behind, then as fast as acknowledgements allow
//! (closed loop). Publisher and subscriber live in this process, so the send instant in each
//! message body and the receive instant come from the same clock.

use super::client::Target;
use super::pairs::{Clock, Pace, Pair, Seen, Slot, send_for};
use super::setup::{self, Customer, Store};
use crate::bench::load::{client as http_client, percentile};
use futures::StreamExt;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How long, after the last send, answers and deliveries may take to catch up; what is still
/// missing then counts as unanswered or lost.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);
/// A step delivering less than this share of its offered rate has fallen behind; higher rates
/// would only queue more, so they are skipped.
const KEPT_UP: f64 = 0.95;

#[derive(clap::Args, Debug, Clone)]
pub struct LatencyArgs {
    /// Gateway base URLs: the first for setting up, connections spread over all.
    #[arg(long = "url", default_value = "http://127.0.0.1:8080")]
    pub urls: Vec<String>,
    /// Conversation pairs (publisher and subscriber connections each).
    #[arg(long, default_value_t = 50)]
    pub pairs: usize,
    /// Total messages per second across the publishers, one measured step per rate, rising.
    #[arg(long = "rate", value_delimiter = ',', default_values_t = [250, 500, 1000, 2000])]
    pub rates: Vec<u32>,
    /// After the fixed rates, a step where each publisher keeps `window` messages unacknowledged.
    #[arg(long)]
    pub closed_loop: bool,
    #[arg(long, default_value_t = 1)]
    pub window: usize,
    /// How long each step sends.
    #[arg(long, short = 'd', default_value = "10s", value_parser = crate::bench::humantime_duration)]
    pub duration: Duration,
    /// An unmeasured step at the first rate, before the others.
    #[arg(long, default_value = "2s", value_parser = crate::bench::humantime_duration)]
    pub warmup: Duration,
    /// Names the topology in the report.
    #[arg(long, default_value = "embedded")]
    pub label: String,
}

/// One step's outcome.
#[derive(Default)]
struct StepReport {
    pace: Option<Pace>,
    seconds: f64,
    sent: u64,
    stored: u64,
    errors: u64,
    /// Sent but neither stored nor refused by the end of the drain.
    unanswered: u64,
    delivered: u64,
    /// Stored but not delivered by the end of the drain.
    lost: u64,
    duplicates: u64,
    out_of_order: u64,
    delivered_per_second: f64,
    latencies_us: Vec<u64>,
    first_error: Option<String>,
}

impl StepReport {
    fn kept_up(&self) -> bool {
        match self.pace {
            Some(Pace::Rate(rate)) => self.delivered_per_second >= KEPT_UP * f64::from(rate),
            _ => true,
        }
    }

    fn clean(&self) -> bool {
        self.lost == 0 && self.unanswered == 0 && self.duplicates == 0 && self.out_of_order == 0
    }
}

/// Sets the pairs up, runs the warm-up and every step, and prints their reports.
pub async fn latency(args: &LatencyArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.pairs > 0 && !args.rates.is_empty(), "need pairs and rates");
    let clock = Clock(Instant::now());
    let mut pairs = open_pairs(args, clock).await?;
    run_step(&mut pairs, clock, Pace::Rate(args.rates[0]), args.warmup).await;
    let mut reports: Vec<StepReport> = Vec::new();
    for rate in &args.rates {
        if let Some(behind) = reports.last().filter(|r| !r.kept_up()) {
            let offered = behind.pace.map(pace_value).unwrap_or_default();
            println!(
                "latency      {}: fell behind at {offered}/s; {rate}/s skipped",
                args.label
            );
            continue;
        }
        let report = run_step(&mut pairs, clock, Pace::Rate(*rate), args.duration).await;
        print_step(&args.label, args.pairs, &report);
        reports.push(report);
    }
    if args.closed_loop {
        let pace = Pace::ClosedLoop(args.window.max(1));
        let report = run_step(&mut pairs, clock, pace, args.duration).await;
        print_step(&args.label, args.pairs, &report);
        reports.push(report);
    }
    print_summary(&args.label, &reports);
    Ok(())
}

/// A store, its customers with a conversation each, and a pair of connections per conversation.
async fn open_pairs(args: &LatencyArgs, clock: Clock) -> anyhow::Result<Vec<Pair>> {
    let http = http_client();
    let store = setup::store(&http, &args.urls[0]).await?;
    let customers = customers(&http, &args.urls[0], &store, args.pairs).await?;
    let targets = Target::all(&args.urls, None);
    let mut pairs = Vec::with_capacity(args.pairs);
    for (i, customer) in customers.iter().enumerate() {
        pairs.push(Pair::open(&targets, i, customer, &store.owner_token, clock).await?);
    }
    println!(
        "latency      {}: {} pairs open ({} connections) in store {}",
        args.label,
        pairs.len(),
        pairs.len() * 2,
        store.slug
    );
    Ok(pairs)
}

/// Registers the customers and their conversations, a few at a time (each is two password
/// hashes on the server).
async fn customers(
    http: &reqwest::Client,
    url: &str,
    store: &Store,
    n: usize,
) -> anyhow::Result<Vec<Customer>> {
    futures::stream::iter(0..n)
        .map(|i| setup::customer(http, url, store, i))
        .buffered(4)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// Sends at `pace` for `length`, waits for answers and deliveries to catch up, and gathers
/// the outcome.
async fn run_step(pairs: &mut [Pair], clock: Clock, pace: Pace, length: Duration) -> StepReport {
    let before: Vec<(u64, u64, u64)> = pairs.iter().map(step_start).collect();
    if let Pace::ClosedLoop(window) = pace {
        for pair in pairs.iter() {
            pair.window.forget_permits(pair.window.available_permits());
            pair.window.add_permits(window);
        }
    }
    let start_us = clock.now_us();
    let deadline = tokio::time::Instant::now() + length;
    let count = pairs.len();
    let senders: Vec<_> = pairs
        .iter_mut()
        .enumerate()
        .map(|(index, pair)| {
            let state = (pair.channel.clone(), pair.window.clone(), pair.sent);
            let slot = Slot { index, count };
            tokio::spawn(send_for(pair.sink.take(), state, pace, slot, deadline, clock))
        })
        .collect();
    for (pair, sender) in pairs.iter_mut().zip(senders) {
        if let Ok((sink, sent)) = sender.await {
            pair.sink = sink;
            pair.sent = sent;
        }
    }
    drain(pairs).await;
    gather(pairs, &before, pace, start_us, length.as_secs_f64())
}

/// A pair's counters as the step starts (sent, stored, errors); its subscriber's step
/// counters are reset.
fn step_start(pair: &Pair) -> (u64, u64, u64) {
    let mut seen = pair.seen();
    let last_seq = seen.last_seq;
    *seen = Seen {
        last_seq,
        ..Seen::default()
    };
    (
        pair.sent,
        pair.acks.stored.load(Ordering::Relaxed),
        pair.acks.errors.load(Ordering::Relaxed),
    )
}

/// Waits until every pair has settled, or `DRAIN_TIMEOUT`.
async fn drain(pairs: &[Pair]) {
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    while Instant::now() < deadline && !pairs.iter().all(Pair::settled) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Adds up the step's counters and latencies over the pairs.
fn gather(pairs: &[Pair], before: &[(u64, u64, u64)], pace: Pace, start_us: u64, seconds: f64) -> StepReport {
    let mut report = StepReport {
        pace: Some(pace),
        seconds,
        ..StepReport::default()
    };
    let mut last_delivery_us = start_us;
    for (pair, (sent, stored, errors)) in pairs.iter().zip(before) {
        let (answered, _) = pair.progress();
        let stored_now = pair.acks.stored.load(Ordering::Relaxed);
        report.sent += pair.sent - sent;
        report.stored += stored_now - stored;
        report.errors += pair.acks.errors.load(Ordering::Relaxed) - errors;
        report.unanswered += pair.sent.saturating_sub(answered);
        let seen = pair.seen();
        report.delivered += seen.delivered;
        report.lost += stored_now.saturating_sub(seen.last_seq as u64);
        report.duplicates += seen.duplicates;
        report.out_of_order += seen.out_of_order;
        report.latencies_us.extend_from_slice(&seen.latencies_us);
        last_delivery_us = last_delivery_us.max(seen.last_delivery_us);
        if report.first_error.is_none() {
            let first = pair.acks.first_error.lock().unwrap_or_else(|p| p.into_inner());
            report.first_error.clone_from(&first);
        }
    }
    report.latencies_us.sort_unstable();
    let span = (last_delivery_us - start_us) as f64 / 1e6;
    report.delivered_per_second = report.delivered as f64 / span.max(seconds);
    report
}

fn pace_value(pace: Pace) -> usize {
    match pace {
        Pace::Rate(r) => r as usize,
        Pace::ClosedLoop(w) => w,
    }
}

fn print_step(label: &str, pairs: usize, r: &StepReport) {
    let p = |q| percentile(&r.latencies_us, q);
    let (mode, pace) = match r.pace {
        Some(Pace::Rate(rate)) => ("open", format!("{rate:>5}/s offered")),
        Some(Pace::ClosedLoop(w)) => ("closed", format!("closed loop, window {w}")),
        None => ("none", String::new()),
    };
    println!(
        "latency      {label} {pace}: {:>7.0} delivered/s  p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms  sent {} stored {} errors {} unanswered {} lost {} dup {} out-of-order {}{}",
        r.delivered_per_second,
        p(50.0),
        p(90.0),
        p(99.0),
        p(100.0),
        r.sent,
        r.stored,
        r.errors,
        r.unanswered,
        r.lost,
        r.duplicates,
        r.out_of_order,
        r.first_error
            .as_ref()
            .map(|e| format!("; first error: {e}"))
            .unwrap_or_default(),
    );
    let report = json!({
        "phase": "realtime-latency", "topology": label, "pairs": pairs, "mode": mode,
        "offered_per_second_or_window": r.pace.map(pace_value), "seconds": r.seconds,
        "sent": r.sent, "stored": r.stored, "errors": r.errors, "unanswered": r.unanswered,
        "delivered": r.delivered, "lost": r.lost, "duplicates": r.duplicates,
        "out_of_order": r.out_of_order, "delivered_per_second": r.delivered_per_second,
        "p50_ms": p(50.0), "p90_ms": p(90.0), "p99_ms": p(99.0), "max_ms": p(100.0),
    });
    println!("{report}");
}

/// The highest fixed rate delivered in full with p99 under 50 ms, and the closed-loop rate.
fn print_summary(label: &str, reports: &[StepReport]) {
    let open = reports.iter().filter(|r| matches!(r.pace, Some(Pace::Rate(_))));
    let best_open = open
        .filter(|r| r.kept_up() && r.clean() && r.errors == 0)
        .filter(|r| percentile(&r.latencies_us, 99.0) < 50.0)
        .map(|r| r.delivered_per_second)
        .fold(0.0, f64::max);
    let max_delivered = reports.iter().map(|r| r.delivered_per_second).fold(0.0, f64::max);
    let clean = reports.iter().all(StepReport::clean);
    println!(
        "latency      {label}: highest fixed rate kept up with p99 < 50 ms: {best_open:.0} msg/s; most delivered in any step: {max_delivered:.0} msg/s; exactly once and in order: {clean}"
    );
    let summary: Value = json!({"phase": "realtime-latency-summary", "topology": label,
        "max_open_loop_per_second_p99_under_50ms": best_open,
        "max_delivered_per_second": max_delivered, "exactly_once_in_order": clean});
    println!("{summary}");
}
