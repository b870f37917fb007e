//! `mercato bench export`: seeds one store's orders straight into an embedded (SQLite) orders
//! database, then runs the `export.orders` job's handler once over all of them and reports rows
//! per second, the time and the process's peak resident memory during the export (the peak is
//! reset just before it, so seeding does not count). Run it at 100,000 and at 1,000,000 orders:
//! a flat peak says the export streams.

use mercato_orders::store::{MIGRATIONS, seed_orders};
use mercato_runtime::db::Db;
use mercato_runtime::export::Format;
use mercato_runtime::files::FileStore;
use mercato_runtime::jobs::{JobContext, JobError, Jobs, ProgressSink};
use mercato_runtime::shutdown::Shutdown;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Args, Debug, Clone)]
pub struct ExportArgs {
    /// Orders to seed in the one store (two lines each).
    #[arg(long, default_value_t = 1_000_000)]
    pub orders: u64,
    /// `csv` or `jsonl`.
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// Where the database and the file store go (default: the system temp directory); removed
    /// afterwards.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Progress goes nowhere: the bench measures the export, not the jobs table.
struct Discard;

#[async_trait::async_trait]
impl ProgressSink for Discard {
    async fn report(&self, _: &str, _: i64, _: i64) -> Result<(), JobError> {
        Ok(())
    }
}

pub async fn export(args: &ExportArgs) -> anyhow::Result<()> {
    let format = Format::parse(&args.format).ok_or_else(|| anyhow::anyhow!("--format is csv or jsonl"))?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("mercato-bench-export-{}", uuid::Uuid::now_v7()));
    let db = Db::sqlite(&dir.join("orders.db")).await?;
    db.migrate("orders", MIGRATIONS).await?;
    let store = uuid::Uuid::now_v7().to_string();
    let seeding = Instant::now();
    seed_orders(&db, &store, args.orders, 1_700_000_000_000).await?;
    println!(
        "seeded {} orders in {:.1} s",
        args.orders,
        seeding.elapsed().as_secs_f64()
    );

    let jobs = Jobs::new("orders", db.clone(), Arc::default());
    let files = FileStore::in_directory(&dir.join("files"))?;
    let (handler, input) = mercato_orders::bench_export(jobs, files, format);
    let job = JobContext::new(
        uuid::Uuid::now_v7().to_string(),
        store,
        "export.orders",
        input,
        1,
        Shutdown::new(),
        Arc::new(Discard),
    );
    let rss_before = reset_peak_rss();
    let started = Instant::now();
    let output = handler
        .run(&job)
        .await
        .map_err(|e| anyhow::anyhow!("the export failed: {e}"))?;
    let took = started.elapsed().as_secs_f64();
    let peak = peak_rss_kib();
    let file = output.file.unwrap_or_default();
    let rate = output.items as f64 / took;
    println!(
        "exported {} orders ({} MB of {}) in {took:.1} s: {rate:.0} orders/s, peak RSS {} MiB (was {} MiB before)",
        output.items,
        file.bytes / 1_000_000,
        args.format,
        peak / 1024,
        rss_before / 1024
    );
    println!(
        "{}",
        json!({"phase": "export", "orders": output.items, "format": args.format, "seconds": took,
               "orders_per_s": rate, "bytes": file.bytes, "peak_rss_kib": peak, "rss_before_kib": rss_before})
    );
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Resets the kernel's peak-RSS mark of this process (`/proc/self/clear_refs`, 5); the RSS now.
fn reset_peak_rss() -> u64 {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    status_kib("VmRSS:")
}

/// The peak resident set since the last reset (`VmHWM`).
fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}
