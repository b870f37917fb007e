//! The catalog's domain: validated value types, product and category records, and the pure rules
//! (patching, category trees) that need no IO.

pub mod product;
pub mod tree;
pub mod validate;
pub mod values;

pub use product::{CategoryRecord, ProductRecord, VariantRecord};
pub use values::{CategoryId, ProductId, Sku, Slug, Sort, VariantId};
