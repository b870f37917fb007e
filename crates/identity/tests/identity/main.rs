//! The identity service's integration tests, in one binary to cut link time.
//!
//! Every case is one test per database (`case::sqlite`, `case::postgres`; see
//! `mercato_runtime::backend_tests!`).

mod account_events;
mod api_clients;
mod at_rest;
mod claims;
mod customers;
mod disabling;
mod imports;
mod keys;
mod provisioning;
mod signin;
mod store;
mod support;
mod time_zones;
mod tokens;
mod users;
