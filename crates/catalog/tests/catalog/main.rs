//! The catalog's integration tests, in one binary: storage conformance as one test per
//! database (`case::sqlite`, `case::postgres`; see `mercato_runtime::backend_tests!`), events
//! through the in-process bus (and NATS when configured), search and cache.

mod attributes;
mod cache;
mod consumers;
mod images;
mod imports;
mod imports_ranges;
mod imports_support;
mod listing;
mod products;
mod reindex;
mod search;
mod support;
mod synonyms;
