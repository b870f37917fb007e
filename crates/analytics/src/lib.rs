//! The analytics service (issue 14; ADR 0013): a store's figures in hourly and daily buckets of
//! its time zone, learnt from events only (never from another service's database, never on a
//! request's path), exact and live.
//!
//! # Layout
//!
//! - [`domain`]: the pure rules. `zone` (bucket keys: the UTC start of the local hour, the
//!   local date), `counts` (a bucket's additive figures and the derived ones), `range` (the
//!   API's ranges resolved in the store's zone), `fold` (order snapshots folded by version
//!   into deltas, applied to a `ledger::Ledger`), `history` (an order's history replayed as
//!   the snapshots its events carried), `memory` (the in-memory ledger `verify` uses) and
//!   `sketch` (HyperLogLog of a day's visitor keys, merged over ranges).
//! - [`store`]: the schema (`migrations`), the SQL ledger the fold writes through inside one
//!   transaction per batch of events (`ledger`), each event's effect behind the inbox
//!   (`ingest`), the reads, every one an index range over buckets (`reads`), products per
//!   week beside per day for top products (`weeks`), and a store's rebuild after its time
//!   zone changed (`rebuild`: requests, deferred live snapshots).
//! - [`service`]: [`AnalyticsService`], its start-up, readiness and metrics; `consumers`
//!   (the inbox-deduplicated group consumers, batching events into one write), `queries`
//!   (summary, timeseries, top products, funnel, low stock), `backfill` (the rebuild from the
//!   orders history in the background), `verify` (the recomputation and its differences),
//!   `live` (`FiguresChanged`, at most about once a second per store), `rebuild` (a store's
//!   figures folded again after its time zone changed) and `grpc` (the contract, each method a
//!   call into the above).
//!
//! # Invariants
//!
//! - Exactly-once effect: each event's id is recorded in `processed_events` in the
//!   transaction that applies it; a redelivery changes nothing.
//! - An order snapshot not newer (`version`) than the one held changes nothing, so the backfill
//!   and live events overlapping, or events arriving out of order, count an order once.
//! - Several replicas may fold snapshots of one order at once (PostgreSQL): the order's row is
//!   locked while folded, and the loser of a race to fold it first retries its batch.
//! - Every table and every query is scoped by the store id.

pub mod domain;
pub mod store;

mod backfill;
mod consumers;
mod grpc;
mod live;
mod metrics;
mod queries;
mod rebuild;
pub mod service;
mod verify;

pub use service::{AnalyticsDeps, AnalyticsService, Histories};

/// Describes the service's metrics; the binary calls this once the recorder is installed.
pub fn describe_metrics() {
    metrics::describe();
}
