//! End-to-end scenarios, run against the embedded topology always and against the distributed
//! one (identity, catalog, inventory, payments and two gateways as separate servers talking gRPC
//! over PostgreSQL, NATS JetStream and Redis) when the `MERCATO_TEST_*` URLs are set.

mod accounts;
mod analytics;
mod analytics_backfill;
mod analytics_cli;
mod card_storage;
mod catalog_basics;
mod checkout;
mod conflicts;
mod customers;
mod edge;
mod exports;
mod fulfilment;
mod hardening;
mod harness;
mod images;
mod imports;
mod imports_api;
mod imports_shopify;
mod isolation;
mod jobs;
mod jobs_cli;
mod jobs_crash;
mod journeys;
mod keys_cli;
mod kill9;
mod notifications;
mod notifications_access;
mod notifications_crash;
mod operator;
mod overload;
mod pricing;
mod process;
mod product_views;
mod realtime;
mod realtime_replicas;
mod signin;
mod stock;
mod store_settings;
mod strangler;
mod ws;
