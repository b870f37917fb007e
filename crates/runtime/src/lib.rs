//! What every Mercato service shares, so that a service crate holds only its own domain.
//!
//! # Layout
//!
//! - [`config`] and [`env`]: typed, layered settings (defaults → file → `MERCATO__…` environment).
//! - [`telemetry`]: JSON or human-readable logs and OpenTelemetry traces; [`trace_context`]: W3C
//!   trace context across HTTP, gRPC and events; [`http`]: the HTTP server, probes, metrics.
//! - [`prometheus`]: the metrics recorder (every name `mercato_…`), build info, and the
//!   `process_*` family ([`process_metrics`], read from `/proc` at each scrape);
//!   [`metric_family`]: each metric's name and help text, declared once as a constant.
//! - [`error`]: the closed set of error codes and their mapping to HTTP and gRPC.
//! - [`ids`], [`money`], [`sku`], [`time`]: small value types shared by every contract;
//!   [`text`]: the control characters free text may not hold; [`address`]: postal addresses,
//!   country codes and phone numbers, validated per country.
//! - [`db`]: one SQL pool per service, SQLite (embedded) or PostgreSQL (distributed), and migrations.
//! - [`bus`]: publish/subscribe, in process (embedded) or NATS JetStream (distributed).
//! - [`outbox`] and [`inbox`]: events written in the same transaction as the change, relayed at
//!   least once, and consumed with an exactly-once effect.
//! - [`cache`]: in-process L1, Redis L2 when distributed; [`ratelimit`]: per-client limits, the
//!   same split.
//! - [`auth`]: access-token claims, roles and the verifier the edge uses; [`jwks`]: that verifier
//!   kept in step with identity's signing keys.
//! - [`clients`]: one client per service contract, local (a direct call) or remote (gRPC), with
//!   the same timeout and metrics either way; [`resilience`]: the circuit breaker, concurrency
//!   limit, retry budget and deadline every client call goes through.
//! - [`shutdown`]: the signal every long-running task watches; [`store_error`]: the one error
//!   type of every service's storage; [`testing`]: test databases.
//! - [`jobs`]: durable background jobs (leases, limits per kind and store, retries, progress);
//!   [`files`]: the object store exports and images are kept in, and signed download links.
//! - [`export`]: CSV and JSON-lines writers, and running a dataset's export job into a file.
//! - [`failpoint`]: `MERCATO_FAILPOINT` aborts the process at a named point; crash tests only.

pub mod address;
pub mod auth;
pub mod bus;
pub mod cache;
pub mod clients;
pub mod config;
pub mod db;
pub mod digest;
pub mod env;
pub mod error;
pub mod export;
pub mod failpoint;
pub mod files;
pub mod http;
pub mod http_edge;
pub mod idempotency;
pub mod ids;
pub mod imports;
pub mod inbox;
pub mod jobs;
pub mod jwks;
pub mod kek;
pub mod lanes;
pub mod legacy_passwords;
pub mod legacy_slugs;
pub mod metric_family;
pub mod metric_handles;
pub mod money;
pub mod outbox;
pub mod payment_details;
pub mod pressure;
pub mod process_metrics;
pub mod prometheus;
pub mod ratelimit;
pub mod resilience;
pub mod shutdown;
pub mod sku;
pub mod store_error;
pub mod telemetry;
pub mod testing;
pub mod text;
pub mod time;
pub mod tls;
pub mod trace_context;
