//! The inventory's integration tests, in one binary: every case is one test per database
//! (`case::sqlite`, `case::postgres`; see `mercato_runtime::backend_tests!`).

mod concurrency;
mod expiry;
mod imports;
mod reservations;
mod stock;
mod support;
