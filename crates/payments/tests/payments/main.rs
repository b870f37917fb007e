//! The payments service's integration tests, in one binary to cut link time.
//!
//! Every case is one test per database (`case::sqlite`, `case::postgres`; see
//! `mercato_runtime::backend_tests!`).

mod audit;
mod authorize;
mod bench;
mod fraud;
mod payment_methods;
mod provider;
mod settle;
mod support;
mod velocity;
