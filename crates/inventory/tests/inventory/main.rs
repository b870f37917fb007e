//! The inventory's integration tests, in one binary: every test runs on each configured database
//! (SQLite always, PostgreSQL when `MERCATO_TEST_POSTGRES_URL` is set).

mod concurrency;
mod expiry;
mod reservations;
mod stock;
mod support;
