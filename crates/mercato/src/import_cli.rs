//! `mercato import`: a legacy shop moved onto a store through a running platform's REST API,
//! and reconciled (the work is `mercato_migrate`'s; this is the command line).
//!
//! - `mercato import woocommerce --mysql-url … --store <slug>`: imports (resuming where the
//!   platform's import stands), with `--follow` keeps importing what changes until SIGINT or
//!   SIGTERM, then reconciles.
//! - `mercato import verify woocommerce --mysql-url … --store <slug>`: the reconciliation alone.
//! - `mercato import shopify-csv products.csv --store <slug> [--currency EUR]` and
//!   `mercato import verify shopify-csv products.csv --store <slug>`: the same for Shopify's
//!   product CSV export (`shopify`; no `--follow`).
//!
//! Every run ends with the report: JSON in `--report-dir` (`report-<time>.json`) and a summary
//! on stdout. Exit codes: 0 clean, 2 differences, 3 clean but source rows were skipped or
//! records refused, 1 when the import or the check could not run. The API is reached as
//! `mercato jobs` does (`--api`, `--token` or the owner's `--email`/`--password`); the imports
//! are owner only.

mod shopify;

pub use shopify::{ShopifyExport, ShopifyImport, ShopifyVerify};

use crate::analytics_cli::ApiAccess;
use clap::{Args, Subcommand};
use mercato_migrate::reconcile::reconcile;
use mercato_migrate::report::{Report, render};
use mercato_migrate::runner::{RunOptions, Runner, for_stderr};
use mercato_migrate::source::Source;
use mercato_migrate::target::{ApiTarget, Credentials};
use mercato_migrate::woocommerce::WooCommerce;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// `mercato import …`.
#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Import a WooCommerce shop (categories, products, stock, customers, orders) from its
    /// MariaDB/MySQL database, then reconcile; resumes where the platform's import stands.
    Woocommerce(WooCommerceImport),
    /// Import Shopify's product CSV export (categories, products with their variants and image
    /// URLs, stock), then reconcile; run it again to take in a later export.
    ShopifyCsv(ShopifyImport),
    /// Reconcile a source with the store without importing (exit 0 clean, 2 differences,
    /// 3 clean with skipped rows, 1 could not check).
    #[command(subcommand)]
    Verify(VerifyCommand),
}

/// `mercato import verify …`.
#[derive(Subcommand, Debug)]
pub enum VerifyCommand {
    /// A WooCommerce database against the store.
    Woocommerce(WooCommerceVerify),
    /// A Shopify product CSV export against the store.
    ShopifyCsv(ShopifyVerify),
}

/// Where a WooCommerce shop's tables are.
#[derive(Args, Debug, Clone)]
pub struct WooCommerceDatabase {
    /// `mysql://user:password@host:3306/database` (MariaDB or MySQL).
    #[arg(long, env = "MERCATO_IMPORT_MYSQL_URL", hide_env_values = true)]
    pub mysql_url: String,
    /// WordPress's table prefix.
    #[arg(long, default_value = "wp_")]
    pub table_prefix: String,
}

/// The store and how to reach its API.
#[derive(Args, Debug, Clone)]
pub struct StoreAccess {
    /// The store's slug.
    #[arg(long)]
    pub store: String,
    /// Where the JSON report goes (`report-<time>.json`).
    #[arg(long, default_value = ".")]
    pub report_dir: PathBuf,
    #[command(flatten)]
    pub api: ApiAccess,
}

#[derive(Args, Debug)]
pub struct WooCommerceImport {
    #[command(flatten)]
    pub database: WooCommerceDatabase,
    #[command(flatten)]
    pub store: StoreAccess,
    #[command(flatten)]
    pub run: RunFlags,
}

#[derive(Args, Debug)]
pub struct WooCommerceVerify {
    #[command(flatten)]
    pub database: WooCommerceDatabase,
    #[command(flatten)]
    pub store: StoreAccess,
}

/// How the import runs.
#[derive(Args, Debug, Clone)]
pub struct RunFlags {
    /// After the full pass, keep importing what the source changes (by modification time)
    /// until SIGINT or SIGTERM; then reconcile.
    #[arg(long)]
    pub follow: bool,
    /// Pause between `--follow` rounds (`500ms`, `5s`, `1m`).
    #[arg(long, default_value = "5s", value_parser = duration, requires = "follow")]
    pub interval: Duration,
    /// Records per batch (at most 1,000; each batch is one transaction in the platform).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub batch: u16,
    /// Send every record again from the first (each comes back unchanged when it is) instead
    /// of resuming after what the platform holds.
    #[arg(long)]
    pub from_start: bool,
}

fn duration(s: &str) -> Result<Duration, String> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n.parse().map_err(|_| format!("bad duration {s:?}"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" | "" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("bad duration unit in {s:?}; use ms, s or m")),
    }
}

/// Runs an import command; returns the process's exit code.
pub async fn run(command: ImportCommand) -> i32 {
    let outcome = match command {
        ImportCommand::Woocommerce(args) => import_woocommerce(args).await,
        ImportCommand::Verify(VerifyCommand::Woocommerce(args)) => verify_woocommerce(args).await,
        ImportCommand::ShopifyCsv(args) => shopify::import_shopify(args).await,
        ImportCommand::Verify(VerifyCommand::ShopifyCsv(args)) => shopify::verify_shopify(args).await,
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mercato import: {e:#}");
            1
        }
    }
}

async fn import_woocommerce(args: WooCommerceImport) -> anyhow::Result<i32> {
    let source = WooCommerce::connect(&args.database.mysql_url, &args.database.table_prefix).await?;
    import(Arc::new(source), &args.store, &args.run).await
}

async fn verify_woocommerce(args: WooCommerceVerify) -> anyhow::Result<i32> {
    let source = WooCommerce::connect(&args.database.mysql_url, &args.database.table_prefix).await?;
    verify(Arc::new(source), &args.store).await
}

/// The platform's import API for `store`, signed in as `access` says.
pub fn target_for(store: &StoreAccess, source: &str) -> anyhow::Result<ApiTarget> {
    ApiTarget::new(&store.api.api, &store.store, source, credentials(&store.api)?)
}

fn credentials(access: &ApiAccess) -> anyhow::Result<Credentials> {
    Ok(match access {
        ApiAccess {
            token: Some(token), ..
        } => Credentials::Token(token.clone()),
        ApiAccess {
            email: Some(email),
            password: Some(password),
            ..
        } => Credentials::Password {
            email: email.clone(),
            password: password.clone(),
        },
        ApiAccess {
            client_id: Some(id),
            client_secret: Some(secret),
            ..
        } => Credentials::Client {
            id: id.clone(),
            secret: secret.clone(),
        },
        _ => anyhow::bail!(
            "no credentials: give the store owner's --email and --password (or --token); imports are owner only"
        ),
    })
}

/// Imports `source` into the store (then follows it if asked), reconciles and reports.
pub async fn import(source: Arc<dyn Source>, store: &StoreAccess, flags: &RunFlags) -> anyhow::Result<i32> {
    let target = Arc::new(target_for(store, source.name())?);
    same_currency(source.as_ref(), &target, &store.store).await?;
    let options = RunOptions {
        batch: usize::from(flags.batch),
        from_start: flags.from_start,
        ..RunOptions::default()
    };
    let runner = Runner::new(source.clone(), target.clone(), Arc::from(for_stderr()), options);
    let stop = if flags.follow { Some(stop_signal()?) } else { None };
    let mut summary = runner.run().await?;
    if let Some(stop) = stop {
        eprintln!(
            "following the source every {:?}; SIGINT or SIGTERM stops it",
            flags.interval
        );
        summary.absorb(runner.follow(flags.interval, stop).await?);
    }
    let mut report = reconcile(source.as_ref(), target.as_ref(), &store.store).await?;
    report.import = Some(summary);
    finish(&report, store)
}

/// Reconciles `source` with the store and reports.
pub async fn verify(source: Arc<dyn Source>, store: &StoreAccess) -> anyhow::Result<i32> {
    let target = target_for(store, source.name())?;
    same_currency(source.as_ref(), &target, &store.store).await?;
    let report = reconcile(source.as_ref(), &target, &store.store).await?;
    finish(&report, store)
}

/// Refuses a source whose currency is not the store's: its prices would be relabelled (and a
/// reconciliation of the same numbers would call that clean).
async fn same_currency(source: &dyn Source, target: &ApiTarget, store: &str) -> anyhow::Result<()> {
    let (theirs, ours) = (source.currency().await?, target.store_currency().await?);
    anyhow::ensure!(
        theirs.eq_ignore_ascii_case(&ours),
        "the shop sells in {theirs} and store {store} in {ours}: provision a store in {theirs} to import it"
    );
    Ok(())
}

fn finish(report: &Report, store: &StoreAccess) -> anyhow::Result<i32> {
    let path = report.write_json(&store.report_dir)?;
    print!("{}", render(report));
    println!("report: {}", path.display());
    Ok(report.exit_code())
}

/// Resolves at SIGINT or SIGTERM; listening from the call on (a signal during the full pass
/// ends the following, not the process).
fn stop_signal() -> anyhow::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: ImportCommand,
    }

    #[test]
    fn the_command_line_reads_as_documented() {
        let cli = Cli::try_parse_from([
            "import",
            "woocommerce",
            "--mysql-url",
            "mysql://root@127.0.0.1/shop",
            "--store",
            "tea",
            "--follow",
            "--interval",
            "500ms",
            "--batch",
            "200",
            "--token",
            "t",
        ])
        .unwrap();
        let ImportCommand::Woocommerce(args) = cli.command else {
            panic!("woocommerce")
        };
        assert_eq!(args.database.table_prefix, "wp_");
        assert_eq!(
            (args.run.interval, args.run.batch),
            (Duration::from_millis(500), 200)
        );
        assert!(matches!(credentials(&args.store.api), Ok(Credentials::Token(t)) if t == "t"));
        assert!(
            Cli::try_parse_from([
                "import",
                "woocommerce",
                "--mysql-url",
                "x",
                "--store",
                "s",
                "--batch",
                "5000"
            ])
            .is_err()
        );
        let verify = Cli::try_parse_from([
            "import",
            "verify",
            "woocommerce",
            "--mysql-url",
            "x",
            "--store",
            "s",
        ]);
        assert!(matches!(verify.unwrap().command, ImportCommand::Verify(_)));
    }

    #[test]
    fn the_shopify_command_line_reads_as_documented() {
        let cli = Cli::try_parse_from([
            "import",
            "shopify-csv",
            "products.csv",
            "--store",
            "tea",
            "--currency",
            "eur",
            "--token",
            "t",
        ])
        .unwrap();
        let ImportCommand::ShopifyCsv(args) = cli.command else {
            panic!("shopify-csv")
        };
        assert_eq!(args.export.file, PathBuf::from("products.csv"));
        assert_eq!(args.export.currency.as_deref(), Some("eur"));
        assert_eq!(args.batch, 1000);
        let follow = Cli::try_parse_from([
            "import",
            "shopify-csv",
            "products.csv",
            "--store",
            "s",
            "--follow",
        ]);
        assert!(follow.is_err(), "a CSV cannot be followed");
        let verify =
            Cli::try_parse_from(["import", "verify", "shopify-csv", "products.csv", "--store", "s"]).unwrap();
        assert!(matches!(
            verify.command,
            ImportCommand::Verify(VerifyCommand::ShopifyCsv(ShopifyVerify {
                export: ShopifyExport { currency: None, .. },
                ..
            }))
        ));
    }
}
