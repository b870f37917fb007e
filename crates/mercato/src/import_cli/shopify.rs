//! `mercato import shopify-csv <FILE>` and `mercato import verify shopify-csv <FILE>`: a
//! Shopify product export moved onto a store, and reconciled, as a WooCommerce shop is — with
//! no `--follow` (a CSV has no modification times: a later export is taken in by running the
//! import again, which leaves what did not change `unchanged`).

use super::{RunFlags, StoreAccess, import, target_for, verify};
use clap::Args;
use mercato_migrate::shopify::ShopifyCsv;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Which export, and in which currency its prices are.
#[derive(Args, Debug, Clone)]
pub struct ShopifyExport {
    /// The product CSV Shopify exported (Products → Export), or one made from its template.
    pub file: PathBuf,
    /// The currency of the export's prices (ISO 4217); the store's when not given. A CSV does
    /// not say, and a store in another currency is refused.
    #[arg(long)]
    pub currency: Option<String>,
}

#[derive(Args, Debug)]
pub struct ShopifyImport {
    #[command(flatten)]
    pub export: ShopifyExport,
    #[command(flatten)]
    pub store: StoreAccess,
    /// Records per batch (at most 1,000; each batch is one transaction in the platform).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub batch: u16,
}

#[derive(Args, Debug)]
pub struct ShopifyVerify {
    #[command(flatten)]
    pub export: ShopifyExport,
    #[command(flatten)]
    pub store: StoreAccess,
}

pub(super) async fn import_shopify(args: ShopifyImport) -> anyhow::Result<i32> {
    let source = read(&args.export, &args.store).await?;
    let flags = RunFlags {
        follow: false,
        interval: Duration::ZERO,
        batch: args.batch,
        // An export is a snapshot with no modification times: every record is sent again
        // (those that did not change come back unchanged and write nothing), or an edit to a
        // product whose handle sorts before the last one imported would never be read.
        from_start: true,
    };
    import(Arc::new(source), &args.store, &flags).await
}

pub(super) async fn verify_shopify(args: ShopifyVerify) -> anyhow::Result<i32> {
    let source = read(&args.export, &args.store).await?;
    verify(Arc::new(source), &args.store).await
}

/// The export, its prices read in `--currency` or else the store's.
async fn read(export: &ShopifyExport, store: &StoreAccess) -> anyhow::Result<ShopifyCsv> {
    let currency = match &export.currency {
        Some(code) => code.to_ascii_uppercase(),
        None => target_for(store, "shopify")?.store_currency().await?,
    };
    let path = export.file.clone();
    tokio::task::spawn_blocking(move || ShopifyCsv::open(&path, &currency)).await?
}
