//! The Mercato process: which services run here (roles), how they reach each other, and the
//! HTTP/gRPC listener they share.
//!
//! # Layout
//!
//! - [`cli`]: the command line (`serve`, `migrate`) mapped onto [`mercato_runtime::config::Settings`].
//! - [`roles`]: the set of services a process runs.
//! - [`infra`]: the databases, bus and cache chosen by configuration (embedded or distributed).
//! - [`app`]: builds the services of this process, wires clients (local or remote), starts the
//!   event consumers and outbox relays, and serves until shutdown.
//! - [`seed`]: the demo store created on first start: catalog, shipping, tax, a code, customers
//!   and their orders.
//! - [`keys`]: `mercato keys rotate|list`, the signing keys on identity's database.
//! - [`certs`]: `mercato certs init`, development certificates for mutual TLS between services.
//! - [`bench`]: `mercato bench`, the load generators behind `benchmarks/`.
//! - [`analytics_cli`]: `mercato analytics verify`, a store's figures checked against the
//!   orders history through the REST API.
//! - [`jobs_cli`]: `mercato jobs list|show|retry|cancel`, a store's background jobs through the
//!   REST API.
//! - [`import_cli`]: `mercato import woocommerce|verify`, a legacy shop moved in
//!   through the REST API and reconciled (the work is `mercato_migrate`'s).

pub mod analytics_cli;
pub mod app;
pub mod bench;
pub mod certs;
pub mod cli;
pub mod import_cli;
pub mod infra;
pub mod jobs_cli;
pub mod keys;
pub mod roles;
pub mod seed;
