//! Full-text search over this replica's tantivy index.
//!
//! The index lives in RAM, one per process, rebuilt from the database at start-up and kept
//! current by catalog events. That costs a full read of the products table per replica start and
//! memory proportional to the catalog; it suits catalogs of up to some hundred thousand
//! products per replica. Beyond that the index would move to disk (tantivy's `mmap`) or to a
//! dedicated search service.

mod facets;
mod index;
mod query;
mod rebuild;
mod schema;
mod stem;
mod typos;

pub use facets::{Facets, PRICE_BUCKETS};
pub use index::{Change, IndexedProduct, SearchIndex};
pub use query::{Hit, SearchParams, SearchResults};
