//! The catalog's integration tests, in one binary: storage conformance on every configured
//! database, events through the in-process bus (and NATS when configured), search and cache.

mod cache;
mod consumers;
mod listing;
mod products;
mod search;
mod support;
