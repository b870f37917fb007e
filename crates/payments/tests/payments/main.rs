//! The payments service's integration tests, in one binary to cut link time.
//!
//! Every test that touches storage runs once per database from
//! `mercato_runtime::testing::databases()`: SQLite always, PostgreSQL when
//! `MERCATO_TEST_POSTGRES_URL` is set.

mod audit;
mod authorize;
mod bench;
mod fraud;
mod provider;
mod settle;
mod support;
