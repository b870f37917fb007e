//! The analytics benchmarks (issue 14): `analytics-ingest` (events/s into analytics embedded,
//! through the in-process bus), `analytics-reads` (each read's p50/p99 with a million orders in
//! one store, seeded the same way) and `analytics-freshness` (confirmation → figure, through the
//! REST API of a running platform). The events they feed are built in [`events`].

mod embedded;
pub mod events;
mod freshness;
mod ingest;
mod reads;

pub use freshness::{FreshnessArgs, freshness};
pub use ingest::{IngestArgs, ingest};
pub use reads::{ReadsArgs, reads};
