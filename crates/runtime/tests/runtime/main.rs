//! Conformance suites of the runtime: every bus, cache and database backend passes the same
//! checks. In-process and SQLite always run; NATS, Redis and PostgreSQL run when their
//! `MERCATO_TEST_*_URL` is set.

mod bus;
mod cache;
mod db;
mod outbox;
mod ratelimit;
