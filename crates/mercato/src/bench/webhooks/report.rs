//! The bench's figures: deliveries per second, latency from apply to arrival (all stores, and
//! apart for a hanging store), and for a receiver that was down, duplicates and ids per order.

use super::receiver::Receiver;
use super::{WebhooksArgs, store};
use std::time::{Duration, Instant};

/// One applied event: its id (the `webhook-id`), store, and when its batch went to `apply`.
pub struct Applied {
    pub id: String,
    pub store: String,
    pub at: Instant,
}

/// Latencies in milliseconds, sorted.
struct Latencies(Vec<f64>);

impl Latencies {
    fn summary(&self) -> String {
        if self.0.is_empty() {
            return "none".to_owned();
        }
        format!(
            "p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} deliveries)",
            self.at(0.5),
            self.at(0.9),
            self.at(0.99),
            self.at(1.0),
            self.0.len()
        )
    }

    fn at(&self, q: f64) -> f64 {
        let v = &self.0;
        v[((v.len() as f64 * q) as usize).min(v.len() - 1)]
    }
}

fn latencies<'a>(applied: impl Iterator<Item = &'a Applied>, receiver: &Receiver) -> Latencies {
    let mut ms: Vec<f64> = receiver.read(|a| {
        applied
            .filter_map(|e| a.by_id.get(&e.id).map(|(at, _)| at.duration_since(e.at)))
            .map(|d| d.as_secs_f64() * 1000.0)
            .collect()
    });
    ms.sort_by(f64::total_cmp);
    Latencies(ms)
}

pub fn print(
    args: &WebhooksArgs,
    engine: &str,
    applied: &[Applied],
    receiver: &Receiver,
    applied_in: Duration,
    all_in: Duration,
    down: Duration,
) {
    let n = applied.len() as f64;
    let rate = match args.rate {
        0 => "full speed".to_owned(),
        r => format!("{r}/s"),
    };
    println!(
        "webhooks ({engine}): {} events over {} stores, batches of {}, at {rate}; concurrency {}, per store {}",
        applied.len(),
        args.stores,
        args.batch,
        args.concurrency,
        args.per_store
    );
    println!(
        "webhooks ({engine}): applied {:.0}/s; delivered {:.0}/s (all {} arrived {:.2} s after the first apply)",
        n / applied_in.as_secs_f64(),
        n / all_in.as_secs_f64(),
        applied.len(),
        all_in.as_secs_f64()
    );
    let all = latencies(applied.iter(), receiver);
    println!("webhooks ({engine}): apply → arrival {}", all.summary());
    if args.hang_store {
        print_hang(args, engine, applied, receiver);
    }
    let (requests, distinct, split) = receiver.read(|a| {
        let split = a.ids_by_order.values().filter(|ids| ids.len() > 1).count();
        (a.requests, a.by_id.len(), split)
    });
    println!(
        "webhooks ({engine}): {requests} requests, {distinct} distinct webhook-ids, {} repeated deliveries, {split} orders under more than one id",
        requests.saturating_sub(distinct as u64)
    );
    if !down.is_zero() {
        println!(
            "webhooks ({engine}): receiver down {:.0} s; every event arrived {:.1} s after it came back",
            down.as_secs_f64(),
            all_in.saturating_sub(down).as_secs_f64()
        );
    }
    let json = serde_json::json!({
        "bench": "webhooks", "engine": engine, "events": applied.len(), "stores": args.stores,
        "rate": args.rate, "delivered_per_s": n / all_in.as_secs_f64(),
        "p50_ms": all.at(0.5), "p99_ms": all.at(0.99), "requests": requests,
        "distinct_ids": distinct, "orders_under_several_ids": split,
        "hang_store": args.hang_store, "down_secs": args.down_secs,
    });
    println!("{json}");
}

/// The hanging store's latency, and the others' — all of them, and those applied while it hung.
fn print_hang(args: &WebhooksArgs, engine: &str, applied: &[Applied], receiver: &Receiver) {
    let hung = store(0);
    let first = applied.first().map(|a| a.at).unwrap_or_else(Instant::now);
    let hang_end = first + Duration::from_secs(args.hang_secs);
    let others = latencies(applied.iter().filter(|a| a.store != hung), receiver);
    let during = latencies(
        applied.iter().filter(|a| a.store != hung && a.at < hang_end),
        receiver,
    );
    let hanging = latencies(applied.iter().filter(|a| a.store == hung), receiver);
    println!("webhooks ({engine}): other stores {}", others.summary());
    println!(
        "webhooks ({engine}): other stores while {hung} hung ({} s) {}",
        args.hang_secs,
        during.summary()
    );
    println!("webhooks ({engine}): the hanging store {}", hanging.summary());
}
