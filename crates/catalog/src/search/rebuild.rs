//! Rebuilding one store's documents (the `search.reindex` job): the whole new set is written in
//! one commit, so searches see the old documents until then and the new ones after, never a mix
//! or a gap.

use super::index::{Change, SearchIndex};
use tantivy::collector::DocSetCollector;
use tantivy::query::TermQuery;
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{TantivyDocument, Term};

impl SearchIndex {
    /// The ids of the products the index holds for `store_id`.
    pub fn store_product_ids(&self, store_id: &str) -> anyhow::Result<Vec<String>> {
        let searcher = self.reader.searcher();
        let query = TermQuery::new(
            Term::from_field_text(self.fields.store_id, store_id),
            IndexRecordOption::Basic,
        );
        let mut ids = Vec::new();
        for address in searcher.search(&query, &DocSetCollector)? {
            let doc: TantivyDocument = searcher.doc(address)?;
            if let Some(id) = doc.get_first(self.fields.product_id).and_then(|v| v.as_str()) {
                ids.push(id.to_owned());
            }
        }
        Ok(ids)
    }

    /// Writes every change in one commit, each unless the index already holds a newer version
    /// of its product — unlike [`SearchIndex::apply`], the same version is written again, so a
    /// rebuild repairs a document whatever its version says. A product changed while the
    /// rebuild read the database keeps its newer document; one changed after is brought up to
    /// date by its event, whose version is higher. Returns how many were written. Blocking.
    pub fn rebuild(&self, changes: impl IntoIterator<Item = Change>) -> anyhow::Result<usize> {
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut versions = self.versions.lock().unwrap_or_else(|p| p.into_inner());
        let mut written = 0;
        for change in changes {
            let (id, version) = match &change {
                Change::Upsert(p) => (p.product_id.clone(), p.version),
                Change::Delete { product_id, version } => (product_id.clone(), *version),
            };
            if versions.get(&id).is_some_and(|known| *known > version) {
                continue;
            }
            versions.insert(id.clone(), version);
            writer.delete_term(Term::from_field_text(self.fields.product_id, &id));
            if let Change::Upsert(p) = change {
                writer.add_document(self.document(&p))?;
            }
            written += 1;
        }
        writer.commit()?;
        self.reader.reload()?;
        Ok(written)
    }
}
