//! The analytics service's integration tests, in one binary: every case is one test per
//! database (`case::sqlite`, `case::postgres`; see `mercato_runtime::backend_tests!`).

mod concurrency;
mod figures;
mod funnel;
mod ingest_rate;
mod live;
mod ranges;
mod support;
mod verify;
