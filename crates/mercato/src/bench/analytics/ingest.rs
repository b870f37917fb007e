//! `mercato bench analytics-ingest`: events per second into analytics embedded, fed through the
//! in-process bus (see [`super::embedded`]); then the summary must count every order.

use super::embedded::Embedded;
use super::events::Plan;
use serde_json::json;
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct IngestArgs {
    /// Orders to feed; each is four events (cart and checkout started, placed, confirmed), and
    /// every tenth brings a minute of product views.
    #[arg(long, default_value_t = 100_000)]
    pub orders: u64,
    /// Publishers in flight at once (the consumers batch what is ready, up to 512 per
    /// transaction).
    #[arg(long, default_value_t = 512)]
    pub concurrency: usize,
    /// Where the SQLite file goes (default: the system temp directory); removed afterwards.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// The generated orders fall in this many days before now, inside the default 30-day range.
pub(super) const DAYS: i64 = 28;

/// Feeds the orders, prints events/s, and checks the summary counts them all.
pub async fn ingest(args: &IngestArgs) -> anyhow::Result<()> {
    let embedded = Embedded::start(args.dir.clone()).await?;
    let plan = plan(args.orders);
    let (events, took) = embedded.feed(&plan, args.concurrency).await?;
    let counted = embedded.orders_counted(&plan.store_id, "", "").await?;
    embedded.finish();
    let rate = events as f64 / took.as_secs_f64();
    println!(
        "analytics ingest  {events} events ({} orders) in {:.1} s: {rate:.0} events/s  (c={})",
        args.orders,
        took.as_secs_f64(),
        args.concurrency
    );
    println!(
        "{}",
        json!({"phase": "analytics-ingest", "orders": args.orders, "events": events,
               "seconds": took.as_secs_f64(), "events_per_second": rate,
               "concurrency": args.concurrency, "orders_counted": counted})
    );
    anyhow::ensure!(
        counted == i64::try_from(args.orders)?,
        "the summary counts {counted} orders, {} were confirmed",
        args.orders
    );
    Ok(())
}

/// A plan of `orders` orders in a fresh store.
pub(super) fn plan(orders: u64) -> Plan {
    Plan {
        store_id: uuid::Uuid::now_v7().to_string(),
        orders,
        days: DAYS,
        now_ms: mercato_runtime::time::now_ms(),
        seed: 14,
    }
}
