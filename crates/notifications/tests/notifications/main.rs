//! The notifications service's tests: each case against SQLite and, when configured, PostgreSQL.

mod email;
mod email_support;
mod support;
mod webhooks;
mod webhooks_endpoints;
mod webhooks_receiver;
mod webhooks_throughput;
