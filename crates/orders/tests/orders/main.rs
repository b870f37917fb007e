//! The orders service's integration tests, in one binary to cut link time.
//!
//! Every test runs once per database from `mercato_runtime::testing::databases()` (SQLite
//! always, PostgreSQL when `MERCATO_TEST_POSTGRES_URL` is set), against the real inventory and
//! payments services reached through their local clients.

mod after_sale;
mod carts;
mod checkout;
mod concurrency;
mod history;
mod saga;
mod support;
