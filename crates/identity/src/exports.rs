//! The customers export (`export.customers`): every customer with their profile, default
//! addresses and order figures, as CSV or JSON lines, as of one moment (one statement, streamed
//! row by row on a blocking thread, so memory stays flat however many customers).

use crate::service::IdentityService;
use mercato_proto::jobs::{Job, StartExportRequest};
use mercato_runtime::auth::Role;
use mercato_runtime::config::FilesSettings;
use mercato_runtime::db::{DbError, FromValue, Param, RowAccess, Tx};
use mercato_runtime::error::ServiceError;
use mercato_runtime::export::csv::{Cell, CsvWriter};
use mercato_runtime::export::jsonl::JsonLinesWriter;
use mercato_runtime::export::{
    ExportSpec, Format, Progress, check_request, enqueue_export, io_error, retention, run_export,
};
use mercato_runtime::files::FileStore;
use mercato_runtime::jobs::{JobContext, JobError, JobHandler, JobOutput, Jobs, KindPolicy};
use mercato_runtime::time::to_rfc3339;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::BufWriter;
use std::sync::Arc;
use std::time::Duration;

const KIND: &str = "export.customers";
const POLICY: KindPolicy = mercato_runtime::export::policy(KIND);
const PROGRESS_EVERY: i64 = 2_000;

/// The address columns, for the default shipping (`s`) and billing (`b`) address.
const ADDRESS: [&str; 7] = [
    "name",
    "line1",
    "line2",
    "city",
    "region",
    "postal_code",
    "country",
];

const CUSTOMERS: &str = "SELECT u.id, u.email, u.first_name, u.last_name, u.phone, u.marketing_consent, \
     u.created_at, u.disabled_at, COALESCE(f.orders, 0), COALESCE(f.spent, 0), \
     s.name, s.line1, s.line2, s.city, s.region, s.postal_code, s.country, \
     b.name, b.line1, b.line2, b.city, b.region, b.postal_code, b.country \
     FROM users u LEFT JOIN (SELECT customer_id, COUNT(*) AS orders, \
        CAST(SUM(total_minor - refunded_minor) AS BIGINT) AS spent \
        FROM customer_orders WHERE store_id = $1 GROUP BY customer_id) f ON f.customer_id = u.id \
     LEFT JOIN customer_addresses s ON s.id = u.default_shipping_address_id \
     LEFT JOIN customer_addresses b ON b.id = u.default_billing_address_id \
     WHERE u.store_id = $1 AND u.role = $2 ORDER BY u.created_at, u.id";
const COUNT: &str = "SELECT COUNT(*) FROM users WHERE store_id = $1 AND role = $2";

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Input {
    format: Format,
}

/// A customer as exported.
#[derive(Serialize)]
struct Customer {
    id: String,
    email: String,
    first_name: String,
    last_name: String,
    phone: String,
    marketing_consent: bool,
    created_at: String,
    disabled: bool,
    order_count: i64,
    total_spent_minor: i64,
    shipping_address: Option<[String; 7]>,
    billing_address: Option<[String; 7]>,
}

fn col<T: FromValue>(row: &dyn RowAccess, i: usize) -> Result<T, DbError> {
    T::from_value(row.column(i)?)
}

fn address(row: &dyn RowAccess, first: usize) -> Result<Option<[String; 7]>, DbError> {
    let fields: Vec<Option<String>> = (first..first + 7)
        .map(|i| col(row, i))
        .collect::<Result<_, _>>()?;
    if fields[1].is_none() {
        return Ok(None);
    }
    Ok(Some(std::array::from_fn(|i| {
        fields[i].clone().unwrap_or_default()
    })))
}

fn customer(row: &dyn RowAccess) -> Result<Customer, DbError> {
    Ok(Customer {
        id: col(row, 0)?,
        email: col(row, 1)?,
        first_name: col(row, 2)?,
        last_name: col(row, 3)?,
        phone: col::<Option<String>>(row, 4)?.unwrap_or_default(),
        marketing_consent: col::<i64>(row, 5)? != 0,
        created_at: to_rfc3339(col(row, 6)?),
        disabled: col::<Option<i64>>(row, 7)?.is_some(),
        order_count: col(row, 8)?,
        total_spent_minor: col(row, 9)?,
        shipping_address: address(row, 10)?,
        billing_address: address(row, 17)?,
    })
}

fn header() -> Vec<String> {
    let mut h: Vec<String> = [
        "customer_id",
        "email",
        "first_name",
        "last_name",
        "phone",
        "marketing_consent",
        "created_at",
        "disabled",
        "order_count",
        "total_spent_minor",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for prefix in ["shipping", "billing"] {
        h.extend(ADDRESS.iter().map(|f| format!("{prefix}_{f}")));
    }
    h
}

impl IdentityService {
    /// Identity's job handlers (`app/services.rs` registers them on its runner).
    pub fn job_handlers(
        self: &Arc<Self>,
        files: &FileStore,
        settings: &FilesSettings,
    ) -> Vec<Arc<dyn JobHandler>> {
        let handler = Arc::new(CustomersExport {
            jobs: self.jobs.clone(),
            files: files.clone(),
            retention: settings.export_retention,
        });
        retention::spawn_sweeps(Arc::downgrade(&handler), self.jobs.db().clone(), files.clone());
        vec![handler]
    }

    pub(crate) async fn start_export(&self, req: StartExportRequest) -> Result<Job, ServiceError> {
        let checked = check_request(&req, "customers", false, |_| {})?;
        let input = serde_json::json!(Input {
            format: checked.format
        });
        enqueue_export(&self.jobs, &req, KIND, POLICY.max_attempts, input).await
    }
}

struct CustomersExport {
    jobs: Jobs,
    files: FileStore,
    retention: Duration,
}

#[async_trait::async_trait]
impl JobHandler for CustomersExport {
    fn policy(&self) -> KindPolicy {
        POLICY
    }

    async fn run(&self, job: &JobContext) -> Result<JobOutput, JobError> {
        let input: Input = serde_json::from_value(job.input.clone())
            .map_err(|e| JobError::Permanent(format!("not a customers export: {e}")))?;
        let store = job.store_id.clone();
        let db = self.jobs.db().clone();
        let (total,): (i64,) = db.query_one(COUNT, &[&store, &Role::Customer.as_str()]).await?;
        let spec = ExportSpec {
            dataset: "customers",
            format: input.format,
            retention: self.retention,
            total,
        };
        let format = input.format;
        run_export(job, &self.files, spec, move |out, progress| {
            let runtime = tokio::runtime::Handle::current();
            runtime.block_on(db.read("export_customers", move |tx| {
                write(tx, &store, format, out, progress)
            }))
        })
        .await
    }
}

type Out = BufWriter<File>;

/// The file being written, in its format.
enum Sink {
    Csv(CsvWriter<Out>),
    Jsonl(JsonLinesWriter<Out>),
}

impl Sink {
    fn new(format: Format, out: Out) -> std::io::Result<Sink> {
        Ok(match format {
            Format::Csv => {
                let header = header();
                let header: Vec<&str> = header.iter().map(String::as_str).collect();
                Sink::Csv(CsvWriter::new(out, &header)?)
            }
            Format::Jsonl => Sink::Jsonl(JsonLinesWriter::new(out)),
        })
    }

    fn write(&mut self, c: &Customer) -> std::io::Result<()> {
        match self {
            Sink::Jsonl(lines) => lines.line(c),
            Sink::Csv(csv) => {
                let empty: [String; 7] = Default::default();
                let (ship, bill) = (
                    c.shipping_address.as_ref().unwrap_or(&empty),
                    c.billing_address.as_ref().unwrap_or(&empty),
                );
                let mut row = vec![
                    Cell::Text(&c.id),
                    Cell::Text(&c.email),
                    Cell::Text(&c.first_name),
                    Cell::Text(&c.last_name),
                    Cell::Text(&c.phone),
                    Cell::Text(if c.marketing_consent { "true" } else { "false" }),
                    Cell::Text(&c.created_at),
                    Cell::Text(if c.disabled { "true" } else { "false" }),
                    Cell::Int(c.order_count),
                    Cell::Int(c.total_spent_minor),
                ];
                row.extend(ship.iter().chain(bill.iter()).map(|f| Cell::Text(f)));
                csv.row(&row)
            }
        }
    }

    fn finish(self) -> std::io::Result<Out> {
        match self {
            Sink::Csv(csv) => csv.finish(),
            Sink::Jsonl(lines) => lines.finish(),
        }
    }
}

/// Streams the store's customers into `out`; the writer back and how many.
fn write(
    tx: &mut Tx<'_>,
    store: &str,
    format: Format,
    out: Out,
    progress: Progress,
) -> Result<(Out, i64), JobError> {
    let mut sink = Sink::new(format, out).map_err(io_error)?;
    let mut failure = None;
    let mut written = 0i64;
    let role = Role::Customer.as_str();
    let params: [&dyn Param; 2] = [&store, &role];
    tx.each_row(CUSTOMERS, &params, &mut |row| {
        let result = sink.write(&customer(row)?).map_err(io_error).and_then(|()| {
            written += 1;
            match written % PROGRESS_EVERY {
                0 => progress.advance(PROGRESS_EVERY),
                _ => Ok(()),
            }
        });
        match result {
            Ok(()) => Ok(true),
            Err(e) => {
                failure = Some(e);
                Ok(false)
            }
        }
    })?;
    match failure {
        Some(e) => Err(e),
        None => Ok((sink.finish().map_err(io_error)?, written)),
    }
}
