//! The catalog service: products, variants (SKUs), categories and prices, full-text search with
//! facets, and a read cache invalidated by events.
//!
//! # Layout
//!
//! - [`service`]: [`CatalogService`], its construction (migrations, index rebuild) and readiness;
//!   `grpc` implements the `Catalog` contract on it by calling the use cases in `products`,
//!   `categories` and `searching`.
//! - [`domain`]: validated value types and inputs (slugs, SKUs, tax categories, statuses,
//!   weights), records and pure rules (variant options, synonyms, category trees); no IO, no
//!   wire format.
//! - `requests`: the contract's requests checked into the domain's inputs (every bad field at
//!   once); `wire`: the domain's records as the contract's messages.
//! - [`store`]: the [`store::CatalogStore`] trait and its SQL implementation (SQLite and
//!   PostgreSQL), which appends each write's event to the outbox in the same transaction.
//! - [`search`]: this replica's tantivy index (only active products), its query builder (an
//!   exact pass, then a typo pass: `search::query`), the light English stemmer both index and
//!   queries use (`search::stem`), typo candidates from the index's dictionary
//!   (`search::typos`) and the facet collector. `searching`: the search use case;
//!   `synonyms`: the store's synonym groups (set by staff, cached 10 s per replica).
//! - `cache`: products in the tiered cache, keyed by id and by slug; `listing_cache`: listing
//!   pages per replica, invalidated by a per-store generation.
//! - `consumers`: the fanout subscription that feeds the index and evicts the L1 cache, and the
//!   group subscription that records provisioned stores.
//! - `events`: subjects and envelopes of the events the catalog publishes.
//! - [`images`]: product images — the upload's checks, the `images.derive` job (sizes in WebP
//!   and JPEG), alt text, order and deletion; `store::images` keeps them and reads them with
//!   their products (one query per page).
//!
//! # Invariants
//!
//! - Every store method and query is scoped by the store (tenant) id; the index filters every
//!   search on it too.
//! - A write commits its event in the same transaction, then wakes the outbox relay and drops
//!   the cache keys it touched, so the writer reads its own write.
//! - The search index is eventually consistent: it learns about changes only from events.
//! - Shoppers see active products only (reads, listings, search); the store's staff ask with
//!   `include_hidden` to see drafts and archived ones. The listing cache keys on it, the product
//!   cache holds every status and the read checks it.
//! - A variant's price is in the store's currency once the catalog knows it (from
//!   `store_provisioned`); another currency is refused.

mod cache;
mod categories;
mod consumers;
pub mod domain;
pub mod events;
mod exports;
mod grpc;
pub mod images;
mod imports;
mod listing_cache;
mod products;
mod reindex;
mod requests;
pub mod search;
mod searching;
pub mod service;
pub mod store;
mod synonyms;
mod wire;

pub use service::CatalogService;
