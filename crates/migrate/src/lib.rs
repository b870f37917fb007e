//! Moving a shop off a legacy platform onto Mercato (ADR 0016): `mercato import`.
//!
//! - `source`: what a legacy source gives the importer — each entity's records in legacy-key
//!   order, already in the contract's canonical shape, and the rows it had to skip with the
//!   reason. `woocommerce` reads WordPress's and WooCommerce's tables from MariaDB/MySQL
//!   (`--table-prefix`; orders from the HPOS tables, or from `shop_order` posts where the shop
//!   never moved to HPOS); `shopify` reads Shopify's product CSV
//!   export (categories, products with their variants and image URLs, stock).
//! - `target`: the platform's import API (`/v1/stores/{store}/imports/…`) over HTTP.
//! - `runner`: the import — entity by entity, in batches, resumed from what the platform says it
//!   holds (so a killed import re-run finishes with nothing doubled), and `--follow`, which keeps
//!   importing what changed in the source since.
//! - `reconcile`: source against platform — counts, checksums of canonical forms and totals,
//!   differences located to the record by bisecting checksums over key ranges; `report` writes
//!   it as JSON and for people.
//! - `fixture`: a generated WooCommerce database (tests and `benchmarks/`), and `standin`, a
//!   stand-in for the legacy shop's web server reading the same database (strangler-fig tests).
//!
//! The `mercato import` commands themselves are `mercato::import_cli`, beside the binary's other
//! API clients.

pub mod fixture;
pub mod reconcile;
pub mod report;
pub mod runner;
pub mod shopify;
pub mod source;
pub mod standin;
pub mod target;
pub mod woocommerce;
