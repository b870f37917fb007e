//! The in-RAM index of one replica: documents in, versions checked, batches committed.

use super::schema::{self, Fields};
use crate::domain::{CategoryRecord, ProductRecord};
use mercato_proto::events::ProductChanged;
use std::collections::HashMap;
use std::sync::Mutex;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

/// Indexing memory: tantivy's minimum for one thread; catalogs are small documents.
const WRITER_MEMORY: usize = 15_000_000;

/// What the index holds about one product.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexedProduct {
    pub store_id: String,
    pub product_id: String,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub skus: Vec<String>,
    pub category_slug: String,
    pub category_name: String,
    pub min_price: i64,
    pub currency: String,
    pub version: i64,
}

impl IndexedProduct {
    pub fn from_record(p: &ProductRecord, category: Option<&CategoryRecord>) -> Self {
        IndexedProduct {
            store_id: p.store_id.to_string(),
            product_id: p.id.to_string(),
            slug: p.slug.clone(),
            title: p.title.clone(),
            description: p.description.clone(),
            skus: p.variants.iter().map(|v| v.sku.clone()).collect(),
            category_slug: category.map(|c| c.slug.clone()).unwrap_or_default(),
            category_name: category.map(|c| c.name.clone()).unwrap_or_default(),
            min_price: p.min_price_minor(),
            currency: p.currency.clone(),
            version: p.version,
        }
    }

    /// `None` when the event carries no product (a malformed event).
    pub fn from_event(e: ProductChanged) -> Option<Self> {
        let p = e.product?;
        let min = p
            .variants
            .iter()
            .filter_map(|v| v.price.as_ref())
            .min_by_key(|m| m.amount_minor);
        Some(IndexedProduct {
            min_price: min.map_or(0, |m| m.amount_minor),
            currency: min.map(|m| m.currency.clone()).unwrap_or_default(),
            skus: p.variants.iter().map(|v| v.sku.clone()).collect(),
            store_id: p.store_id,
            product_id: p.id,
            slug: p.slug,
            title: p.title,
            description: p.description,
            category_slug: e.category_slug,
            category_name: e.category_name,
            version: p.version,
        })
    }
}

/// One change to apply to the index.
#[derive(Clone, Debug)]
pub enum Change {
    Upsert(IndexedProduct),
    Delete { product_id: String, version: i64 },
}

/// A replica's search index.
pub struct SearchIndex {
    pub(super) index: Index,
    pub(super) fields: Fields,
    pub(super) reader: IndexReader,
    pub(super) writer: Mutex<IndexWriter>,
    /// The newest version seen per product, deletions included, so that a late, older event
    /// never overwrites a newer one or resurrects a deleted product. Deleted products stay in
    /// this map (a few dozen bytes each) for the life of the process.
    pub(super) versions: Mutex<HashMap<String, i64>>,
}

impl SearchIndex {
    pub fn new() -> anyhow::Result<SearchIndex> {
        let (schema, fields) = schema::build();
        let index = Index::create_in_ram(schema);
        schema::register_analyzers(&index);
        let writer = index.writer_with_num_threads(1, WRITER_MEMORY)?;
        // Reloaded by hand after each commit, so a commit is searchable as soon as it returns.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            index,
            fields,
            reader,
            writer: Mutex::new(writer),
            versions: Mutex::new(HashMap::new()),
        })
    }

    /// The newest version the index has seen of a product.
    pub fn version_of(&self, product_id: &str) -> Option<i64> {
        self.versions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(product_id)
            .copied()
    }

    /// Applies a batch in one commit, skipping changes older than what is indexed; returns how
    /// many were applied. Blocking: call it from a thread that may block.
    pub fn apply(&self, changes: impl IntoIterator<Item = Change>) -> anyhow::Result<usize> {
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut versions = self.versions.lock().unwrap_or_else(|p| p.into_inner());
        let mut applied = 0;
        for change in changes {
            let (id, version) = match &change {
                Change::Upsert(p) => (p.product_id.clone(), p.version),
                Change::Delete { product_id, version } => (product_id.clone(), *version),
            };
            if versions.get(&id).is_some_and(|known| *known >= version) {
                continue;
            }
            versions.insert(id.clone(), version);
            writer.delete_term(Term::from_field_text(self.fields.product_id, &id));
            if let Change::Upsert(p) = change {
                writer.add_document(self.document(&p))?;
            }
            applied += 1;
        }
        if applied > 0 {
            writer.commit()?;
            self.reader.reload()?;
        }
        Ok(applied)
    }

    pub(super) fn document(&self, p: &IndexedProduct) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.store_id, &p.store_id);
        doc.add_text(f.product_id, &p.product_id);
        doc.add_text(f.slug, &p.slug);
        doc.add_text(f.title, &p.title);
        doc.add_text(f.description, &p.description);
        for sku in &p.skus {
            doc.add_text(f.skus, sku);
        }
        // Uncategorised products get no value, so they count in no category facet.
        if !p.category_slug.is_empty() {
            doc.add_text(f.category_slug, &p.category_slug);
            doc.add_text(f.category_name, &p.category_name);
        }
        doc.add_i64(f.min_price, p.min_price);
        doc.add_text(f.currency, &p.currency);
        doc
    }
}
