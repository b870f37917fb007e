//! The orders export (`export.orders`): orders created in a range with their lines, refunds and
//! status, as CSV or JSON lines, as of one moment.
//!
//! The range comes as the REST API takes it (`runtime::export::range`): the gateway resolves
//! local dates in the store's time zone and sends instants; dates reaching this service directly
//! are read in UTC. An empty `to` means up to the moment the export runs.

mod format;

use crate::service::OrdersService;
use crate::store::export::{WalkError, count, each_order};
use crate::wire;
use mercato_proto::jobs::{Job, StartExportRequest};
use mercato_runtime::config::FilesSettings;
use mercato_runtime::error::ServiceError;
use mercato_runtime::export::csv::CsvWriter;
use mercato_runtime::export::jsonl::JsonLinesWriter;
use mercato_runtime::export::range::{Span, resolve};
use mercato_runtime::export::{
    ExportSpec, Format, Progress, check_request, enqueue_export, io_error, retention, run_export,
};
use mercato_runtime::files::FileStore;
use mercato_runtime::jobs::{JobContext, JobError, JobHandler, JobOutput, Jobs, KindPolicy};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::BufWriter;
use std::sync::Arc;
use std::time::Duration;

const KIND: &str = "export.orders";
const POLICY: KindPolicy = mercato_runtime::export::policy(KIND);
/// Progress is counted every this many orders.
const PROGRESS_EVERY: i64 = 2_000;

/// What the job was asked for (its `input_json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Input {
    format: Format,
    from: String,
    to: String,
    span: Span,
}

impl OrdersService {
    /// The orders service's job handlers (`app/services.rs` registers them on its runner).
    pub fn job_handlers(
        self: &Arc<Self>,
        files: &FileStore,
        settings: &FilesSettings,
    ) -> Vec<Arc<dyn JobHandler>> {
        let handler = Arc::new(OrdersExport {
            jobs: self.jobs.clone(),
            files: files.clone(),
            retention: settings.export_retention,
        });
        retention::spawn_sweeps(Arc::downgrade(&handler), self.jobs.db().clone(), files.clone());
        vec![handler]
    }

    pub(crate) async fn start_export(&self, req: StartExportRequest) -> Result<Job, ServiceError> {
        let mut span = Span::default();
        let checked = check_request(&req, "orders", true, |v| {
            span = v.check(resolve(&req.from, &req.to, "UTC")).unwrap_or_default();
        })?;
        let input = Input {
            format: checked.format,
            from: req.from.clone(),
            to: req.to.clone(),
            span,
        };
        let input = serde_json::to_value(input).map_err(|e| ServiceError::internal(e.to_string()))?;
        enqueue_export(&self.jobs, &req, KIND, POLICY.max_attempts, input).await
    }
}

/// Runs `export.orders` jobs.
struct OrdersExport {
    jobs: Jobs,
    files: FileStore,
    retention: Duration,
}

#[async_trait::async_trait]
impl JobHandler for OrdersExport {
    fn policy(&self) -> KindPolicy {
        POLICY
    }

    async fn run(&self, job: &JobContext) -> Result<JobOutput, JobError> {
        let input: Input = serde_json::from_value(job.input.clone())
            .map_err(|e| JobError::Permanent(format!("not an orders export: {e}")))?;
        let store = job.store_id.clone();
        let from_ms = input.span.from_ms.unwrap_or(i64::MIN);
        // Up to the moment it runs: later orders are for the next export.
        let to_ms = input
            .span
            .to_ms
            .unwrap_or_else(|| mercato_runtime::time::now_ms() + 1);
        let db = self.jobs.db().clone();
        let total = {
            let store = store.clone();
            db.read("export_orders_count", move |tx| count(tx, &store, from_ms, to_ms))
                .await?
        };
        let spec = ExportSpec {
            dataset: "orders",
            format: input.format,
            retention: self.retention,
            total,
        };
        let format = input.format;
        run_export(job, &self.files, spec, move |out, progress| {
            let runtime = tokio::runtime::Handle::current();
            runtime.block_on(db.read("export_orders", move |tx| {
                write_orders(tx, &store, from_ms, to_ms, format, out, progress)
            }))
        })
        .await
    }
}

/// Writes the range's orders in `format`; the writer back and the orders written.
fn write_orders(
    tx: &mut mercato_runtime::db::Tx<'_>,
    store: &str,
    from_ms: i64,
    to_ms: i64,
    format: Format,
    out: BufWriter<File>,
    progress: Progress,
) -> Result<(BufWriter<File>, i64), JobError> {
    let mut written = 0i64;
    let tick = |written: &mut i64| {
        *written += 1;
        if *written % PROGRESS_EVERY == 0 {
            progress.advance(PROGRESS_EVERY)
        } else {
            Ok(())
        }
    };
    let walked = match format {
        Format::Csv => {
            let mut csv = CsvWriter::new(out, &format::HEADER).map_err(io_error)?;
            let walk = each_order(tx, store, from_ms, to_ms, &mut |order, _| {
                format::write_csv(&mut csv, &wire::order(order)).map_err(io_error)?;
                tick(&mut written)
            });
            walk.map(|()| csv.finish())
        }
        Format::Jsonl => {
            let mut lines = JsonLinesWriter::new(out);
            let walk = each_order(tx, store, from_ms, to_ms, &mut |order, history| {
                let message = wire::order(order);
                lines.line(&format::json(&message, history)).map_err(io_error)?;
                tick(&mut written)
            });
            walk.map(|()| lines.finish())
        }
    };
    match walked {
        Ok(out) => Ok((out.map_err(io_error)?, written)),
        Err(WalkError::Stopped(e)) => Err(e),
        Err(WalkError::Store(e)) => Err(JobError::Retryable(e.to_string())),
    }
}

/// For `mercato bench export`: the `export.orders` handler over `jobs`' database and the input of
/// a whole-history export in `format`.
pub fn bench_export(
    jobs: Jobs,
    files: FileStore,
    format: Format,
) -> (Arc<dyn JobHandler>, serde_json::Value) {
    let handler = Arc::new(OrdersExport {
        jobs,
        files,
        retention: Duration::from_secs(3600),
    });
    let input = Input {
        format,
        from: String::new(),
        to: String::new(),
        span: Span::default(),
    };
    (handler, serde_json::to_value(input).unwrap_or_default())
}
