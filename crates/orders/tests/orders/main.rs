//! The orders service's integration tests, in one binary to cut link time.
//!
//! Every case is one test per database (`case::sqlite`, `case::postgres`; see
//! `mercato_runtime::backend_tests!`), against the real inventory and payments services reached
//! through their local clients. The cases that call inventory and payments (checkout, the saga,
//! cancel and refund, concurrency) also run as `case::sqlite_grpc`, where those calls cross a
//! real gRPC channel (`support::Topology::Grpc`), so the remote path is tested without any
//! server configured.

mod after_sale;
mod carts;
mod checkout;
mod concurrency;
mod fulfilment;
mod funnel;
mod histories;
mod history;
mod imports;
mod imports_support;
mod listing;
mod pricing;
mod saga;
mod support;
