//! The catalog's domain: validated value types and inputs, product and category records, and the
//! pure rules (patching, category trees) that need no IO. It knows no wire format: requests are
//! checked in `crate::requests`, records become messages in `crate::wire`.

pub mod image;
pub mod inputs;
pub mod options;
pub mod product;
pub mod synonyms;
pub mod tree;
pub mod values;

pub use image::{ImageId, ImageRecord, ImageStatus, Rendition};
pub use inputs::CategoryLookup;
pub use options::OptionType;
pub use product::{CategoryRecord, ProductRecord, VariantRecord};
pub use synonyms::Synonyms;
pub use values::{CategoryId, ProductId, ProductStatus, Sku, Slug, Sort, TaxCategory, VariantId};
