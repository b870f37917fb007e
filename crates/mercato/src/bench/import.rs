//! `mercato bench import`: a generated WooCommerce shop (`mercato_migrate::fixture`, in a
//! MariaDB/MySQL database) imported into the embedded platform through its REST API, as
//! `mercato import woocommerce` does — records per second per entity and overall, the source
//! rows read per second (the rows the database server sent the importer, from its own
//! `Rows_sent` counter: an order is a row of `wc_orders` and the rows of its addresses, items
//! and item meta), then the reconciliation's time and verdict. The target: ≥ 20,000
//! source rows/s for 100,000 products, 50,000 customers and 1,000,000 orders.

use crate::app::App;
use crate::roles::Roles;
use mercato_migrate::fixture::{self, CURRENCY, Spec, TestDatabase};
use mercato_migrate::reconcile::reconcile;
use mercato_migrate::runner::{RunOptions, Runner, for_stderr};
use mercato_migrate::target::{ApiTarget, Credentials};
use mercato_migrate::woocommerce::WooCommerce;
use mercato_runtime::config::Settings;
use mercato_runtime::shutdown::Shutdown;
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Args, Debug, Clone)]
pub struct ImportArgs {
    /// The MariaDB/MySQL server (no database); the shop goes into a database of its own,
    /// dropped at the end.
    #[arg(
        long,
        env = "MERCATO_TEST_MYSQL_URL",
        default_value = "mysql://root@127.0.0.1:3306"
    )]
    pub mysql_url: String,
    #[arg(long, default_value_t = 100_000)]
    pub products: u64,
    #[arg(long, default_value_t = 50_000)]
    pub customers: u64,
    #[arg(long, default_value_t = 1_000_000)]
    pub orders: u64,
    /// Records per batch.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
}

const OWNER_PASSWORD: &str = "bench import owner";

pub async fn import(args: &ImportArgs) -> anyhow::Result<()> {
    let db = TestDatabase::create_on(&args.mysql_url).await?;
    generate(args, &db).await?;
    let dir = std::env::temp_dir().join(format!("mercato-bench-import-{}", uuid::Uuid::now_v7()));
    let (base, shutdown) = embedded(&dir).await?;
    let store = provision(&base).await?;
    let source: Arc<WooCommerce> = Arc::new(WooCommerce::new(db.pool().clone(), "wp_")?);
    let credentials = Credentials::Password {
        email: "owner@example.com".into(),
        password: OWNER_PASSWORD.into(),
    };
    let target = Arc::new(ApiTarget::new(&base, &store, "woocommerce", credentials)?);
    let options = RunOptions {
        batch: args.batch,
        ..RunOptions::default()
    };
    let runner = Runner::new(source.clone(), target.clone(), Arc::from(for_stderr()), options);
    let sent_before = db.rows_sent().await?;
    let summary = runner.run().await?;
    let source_rows = db.rows_sent().await?.saturating_sub(sent_before);
    for e in &summary.entities {
        println!("{:<10} {}", e.entity, e.line());
        println!(
            "{}",
            json!({"phase": "import", "entity": e.entity, "rows": e.rows, "seconds": e.seconds,
                   "rows_per_s": e.rows_per_second()})
        );
    }
    let seconds = summary.seconds.max(0.001);
    let (records_per_s, source_rows_per_s) = (summary.rows() as f64 / seconds, source_rows as f64 / seconds);
    println!(
        "imported {} records in {:.1} s: {records_per_s:.0} records/s; {source_rows} source rows read: \
         {source_rows_per_s:.0} source rows/s",
        summary.rows(),
        summary.seconds
    );
    println!(
        "{}",
        json!({"phase": "import", "records": summary.rows(), "seconds": summary.seconds,
               "records_per_s": records_per_s, "source_rows": source_rows,
               "source_rows_per_s": source_rows_per_s})
    );
    let checking = Instant::now();
    let report = reconcile(source.as_ref(), target.as_ref(), &store).await?;
    let took = checking.elapsed().as_secs_f64();
    println!(
        "reconciled in {took:.1} s: {} difference(s), {} skipped row(s) (exit code {})",
        report.differences(),
        report.skipped.len(),
        report.exit_code()
    );
    println!(
        "{}",
        json!({"phase": "reconcile", "seconds": took, "differences": report.differences()})
    );
    shutdown.cancel();
    let _ = std::fs::remove_dir_all(&dir);
    drop(db);
    Ok(())
}

/// Generates the shop into `db`.
async fn generate(args: &ImportArgs, db: &TestDatabase) -> anyhow::Result<()> {
    let spec = Spec {
        products: args.products,
        customers: args.customers,
        orders: args.orders,
        ..Spec::default()
    };
    let generated = fixture::generate(db.pool(), &spec).await?;
    println!(
        "generated {} rows ({} products, {} customers, {} orders) in {:.1} s",
        generated.rows,
        args.products,
        args.customers,
        args.orders,
        generated.elapsed.as_secs_f64()
    );
    Ok(())
}

/// The embedded platform (SQLite in `dir`), rate limits and shedding off; its base URL.
async fn embedded(dir: &std::path::Path) -> anyhow::Result<(String, Shutdown)> {
    let mut settings = Settings::default();
    settings.demo.seed = false;
    settings.data_dir = dir.to_owned();
    settings.http.rate_limit_per_second = 0;
    settings.http.max_scheduling_delay = std::time::Duration::ZERO;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = App::build(&settings, Roles::parse("all").map_err(anyhow::Error::msg)?).await?;
    let shutdown = Shutdown::new();
    let stop = shutdown.clone();
    tokio::spawn(async move { app.serve(listener, stop).await });
    Ok((base, shutdown))
}

/// A store in the fixture's currency; its slug.
async fn provision(base: &str) -> anyhow::Result<String> {
    let slug = format!("import-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    let body = json!({"slug": slug, "name": "Imported Shop", "currency": CURRENCY,
        "owner": {"email": "owner@example.com", "password": OWNER_PASSWORD}});
    let response = reqwest::Client::new()
        .post(format!("{base}/v1/stores"))
        .json(&body)
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "provisioning the store: {}",
        response.text().await?
    );
    Ok(slug)
}
