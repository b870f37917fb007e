//! Conformance suites of the runtime: every bus, cache and database backend passes the same
//! checks. In-process and SQLite always run; NATS, Redis and PostgreSQL run when their
//! `MERCATO_TEST_*_URL` is set. The database suites (`db`, `outbox`, `jobs`) are one test per database
//! (`case::sqlite`, `case::postgres`; see `mercato_runtime::backend_tests!`).
//! `resilience` runs the client breaker, retries, limit and deadline against a gRPC upstream;
//! `mtls` the services' mutual TLS and call graph, `mtls_renewal` certificates renewed under
//! live clients.

mod bus;
mod cache;
mod db;
mod jobs;
mod mtls;
mod mtls_renewal;
mod outbox;
mod ratelimit;
mod resilience;
