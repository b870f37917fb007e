//! Exports of a store's data as files (issue 15): the formats ([`csv`], [`jsonl`]), checking and
//! enqueueing a `StartExport` request ([`request`]), running an export job into a file in the
//! [`crate::files::FileStore`] ([`run_export`]) and deleting files after their retention
//! ([`retention`]). Orders, catalog and identity each export their own dataset with these.

pub mod csv;
pub mod jsonl;
pub mod range;
mod request;
pub mod retention;
mod run;

pub use request::{ExportRequest, check_request, enqueue_export};
pub use run::{ExportSpec, Progress, io_error, run_export};

use serde::{Deserialize, Serialize};

/// A file's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "csv" => Some(Format::Csv),
            "jsonl" => Some(Format::Jsonl),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Jsonl => "application/x-ndjson",
        }
    }
}

/// How every export kind runs: three attempts, two at once per process and one per store across
/// replicas (so another store's export starts at once), retried after 5 s doubling to 5 min, with
/// a one-minute lease renewed while it streams.
pub const fn policy(kind: &'static str) -> crate::jobs::KindPolicy {
    crate::jobs::KindPolicy {
        kind,
        max_attempts: 3,
        concurrency: 2,
        per_store: 1,
        backoff_base: std::time::Duration::from_secs(5),
        backoff_max: std::time::Duration::from_secs(300),
        lease: std::time::Duration::from_secs(60),
    }
}

/// The key of a job's export file: derived from the job id, so a retried attempt rewrites the
/// same object instead of leaving another.
pub fn export_key(store_id: &str, job_id: &str, format: Format) -> String {
    format!("exports/{store_id}/{job_id}.{}", format.extension())
}

/// Money in minor units as a decimal string with `exponent` digits after the point
/// (`-1250, 2` → `-12.50`): a number an export writes as a number.
pub fn decimal(minor: i64, exponent: u32) -> String {
    if exponent == 0 {
        return minor.to_string();
    }
    let scale = 10i64.pow(exponent);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let scale = scale.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        abs / scale,
        abs % scale,
        width = exponent as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_keep_their_sign_and_digits() {
        assert_eq!(decimal(-1250, 2), "-12.50");
        assert_eq!(decimal(5, 2), "0.05");
        assert_eq!(decimal(-5, 2), "-0.05");
        assert_eq!(decimal(1000, 0), "1000");
        assert_eq!(decimal(1234, 3), "1.234");
    }

    #[test]
    fn formats_and_keys() {
        assert_eq!(Format::parse("csv"), Some(Format::Csv));
        assert_eq!(Format::parse("xlsx"), None);
        assert_eq!(export_key("s1", "j1", Format::Jsonl), "exports/s1/j1.jsonl");
    }
}
