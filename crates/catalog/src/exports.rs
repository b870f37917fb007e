//! The products export (`export.products`): every product with its variants and their stock,
//! as CSV (one row per variant, the product's columns repeated) or JSON lines (one product with
//! its variants per line).
//!
//! The catalog is read in one statement (one snapshot); stock lives in inventory, so it is asked
//! for afterwards, a batch of SKUs at a time, and is as of a moment later. A store's variants are
//! held in memory while their stock is fetched: a catalog is thousands of rows, not millions.

use crate::service::CatalogService;
use futures::{StreamExt, TryStreamExt};
use mercato_proto::inventory::{GetStockRequest, StockLevels};
use mercato_proto::jobs::{Job, StartExportRequest};
use mercato_runtime::clients::inventory::InventoryClient;
use mercato_runtime::config::FilesSettings;
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::export::csv::{Cell, CsvWriter};
use mercato_runtime::export::jsonl::JsonLinesWriter;
use mercato_runtime::export::{
    ExportSpec, Format, check_request, decimal, enqueue_export, io_error, retention, run_export,
};
use mercato_runtime::files::FileStore;
use mercato_runtime::jobs::{JobContext, JobError, JobHandler, JobOutput, KindPolicy};
use mercato_runtime::money::Currency;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

const KIND: &str = "export.products";
const POLICY: KindPolicy = mercato_runtime::export::policy(KIND);
/// Stock requests in flight at once.
const STOCK_CONCURRENCY: usize = 16;

const HEADER: [&str; 11] = [
    "product_id",
    "product_slug",
    "product_title",
    "variant_sku",
    "variant_title",
    "price",
    "currency",
    "on_hand",
    "reserved",
    "available",
    "stock_by_location",
];

const VARIANTS: &str = "SELECT p.id, p.slug, p.title, v.sku, v.title, v.price_minor, v.currency
    FROM products p JOIN variants v ON v.store_id = p.store_id AND v.product_id = p.id
    WHERE p.store_id = $1 ORDER BY p.created_at, p.id, v.position";

type VariantRow = (String, String, String, String, String, i64, String);

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Input {
    format: Format,
}

/// The `export.products` job's handler.
pub(crate) fn handlers(
    service: &Arc<CatalogService>,
    files: &FileStore,
    settings: &FilesSettings,
    inventory: Option<&InventoryClient>,
) -> Vec<Arc<dyn JobHandler>> {
    let handler = Arc::new(ProductsExport {
        service: service.clone(),
        files: files.clone(),
        retention: settings.export_retention,
        inventory: inventory.cloned(),
    });
    retention::spawn_sweeps(Arc::downgrade(&handler), service.db.clone(), files.clone());
    vec![handler]
}

impl CatalogService {
    pub(crate) async fn start_export(&self, req: StartExportRequest) -> Result<Job, ServiceError> {
        let checked = check_request(&req, "products", false, |_| {})?;
        let input = serde_json::json!(Input {
            format: checked.format
        });
        enqueue_export(&self.jobs, &req, KIND, POLICY.max_attempts, input).await
    }
}

struct ProductsExport {
    service: Arc<CatalogService>,
    files: FileStore,
    retention: Duration,
    /// `None` in a catalog process given no inventory endpoint: its products exports fail,
    /// saying which setting is missing.
    inventory: Option<InventoryClient>,
}

#[async_trait::async_trait]
impl JobHandler for ProductsExport {
    fn policy(&self) -> KindPolicy {
        POLICY
    }

    async fn run(&self, job: &JobContext) -> Result<JobOutput, JobError> {
        let input: Input = serde_json::from_value(job.input.clone())
            .map_err(|e| JobError::Permanent(format!("not a products export: {e}")))?;
        let store = job.store_id.clone();
        let rows: Vec<VariantRow> = self.service.db.query_all(VARIANTS, &[&store]).await?;
        job.progress(0, rows.len() as i64).await?;
        let skus: Vec<String> = rows.iter().map(|r| r.3.clone()).collect();
        let Some(inventory) = self.inventory.clone() else {
            return Err(JobError::Permanent(
                "this catalog process has no inventory endpoint (services.inventory, --inventory-url), so stock cannot be exported".to_owned(),
            ));
        };
        let stock: Vec<StockLevels> = futures::stream::iter(skus)
            .map(|sku| stock_of(inventory.clone(), store.clone(), sku))
            .buffered(STOCK_CONCURRENCY)
            .try_collect()
            .await?;
        let spec = ExportSpec {
            dataset: "products",
            format: input.format,
            retention: self.retention,
            total: rows.len() as i64,
        };
        let format = input.format;
        run_export(job, &self.files, spec, move |out, progress| {
            let written = rows.len() as i64;
            let out = match format {
                Format::Csv => write_csv(out, &rows, &stock)?,
                Format::Jsonl => write_jsonl(out, &rows, &stock)?,
            };
            progress.advance(written)?;
            Ok((out, written))
        })
        .await
    }
}

/// A SKU's stock; none when inventory never heard of it.
async fn stock_of(inventory: InventoryClient, store: String, sku: String) -> Result<StockLevels, JobError> {
    let request = GetStockRequest {
        store_id: store,
        sku: sku.clone(),
    };
    match inventory.get_stock(request).await {
        Ok(levels) => Ok(levels),
        Err(e) if e.code == ErrorCode::NotFound => Ok(StockLevels::default()),
        Err(e) => Err(JobError::Retryable(format!("stock of {sku}: {e}"))),
    }
}

fn price(minor: i64, currency: &str) -> String {
    decimal(
        minor,
        Currency::parse(currency).map_or(2, |c| u32::from(c.minor_digits())),
    )
}

fn totals(s: &StockLevels) -> (i64, i64, i64) {
    s.locations.iter().fold((0, 0, 0), |(h, r, a), l| {
        (h + l.on_hand, r + l.reserved, a + l.available)
    })
}

type Out = std::io::BufWriter<std::fs::File>;

fn write_csv(out: Out, rows: &[VariantRow], stock: &[StockLevels]) -> Result<Out, JobError> {
    let mut csv = CsvWriter::new(out, &HEADER).map_err(io_error)?;
    for ((id, slug, title, sku, variant, price_minor, currency), s) in rows.iter().zip(stock) {
        let (on_hand, reserved, available) = totals(s);
        let by_location: Vec<String> = s
            .locations
            .iter()
            .map(|l| format!("{}:{}", l.location, l.on_hand))
            .collect();
        let (price, by_location) = (price(*price_minor, currency), by_location.join(";"));
        csv.row(&[
            Cell::Text(id),
            Cell::Text(slug),
            Cell::Text(title),
            Cell::Text(sku),
            Cell::Text(variant),
            Cell::Number(&price),
            Cell::Text(currency),
            Cell::Int(on_hand),
            Cell::Int(reserved),
            Cell::Int(available),
            Cell::Text(&by_location),
        ])
        .map_err(io_error)?;
    }
    csv.finish().map_err(io_error)
}

/// One product per line, its variants (with stock per location) in order.
fn write_jsonl(out: Out, rows: &[VariantRow], stock: &[StockLevels]) -> Result<Out, JobError> {
    let mut lines = JsonLinesWriter::new(out);
    let mut i = 0;
    while i < rows.len() {
        let (id, slug, title, ..) = &rows[i];
        let mut variants = Vec::new();
        while i < rows.len() && &rows[i].0 == id {
            let (.., sku, variant, price_minor, currency) = &rows[i];
            let locations: Vec<_> = stock[i]
                .locations
                .iter()
                .map(|l| serde_json::json!({"location": l.location, "on_hand": l.on_hand, "reserved": l.reserved, "available": l.available}))
                .collect();
            variants.push(
                serde_json::json!({"sku": sku, "title": variant, "price": price(*price_minor, currency),
                "currency": currency, "stock": locations}),
            );
            i += 1;
        }
        let product = serde_json::json!({"id": id, "slug": slug, "title": title, "variants": variants});
        lines.line(&product).map_err(io_error)?;
    }
    lines.finish().map_err(io_error)
}
