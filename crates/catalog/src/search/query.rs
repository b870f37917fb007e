//! From a shopper's words to a tantivy query, and the search itself.
//!
//! Every word must match (AND), in any searched field, exactly or with a few typos: none for
//! words of up to 3 characters, one up to 7, two beyond. The last word also matches as a prefix
//! (the shopper may still be typing), and so does every word of 3 or more characters: the brief's
//! own example, "blu shrt" finding "Blue Shirt", needs "blu" to reach "blue", which a 3-letter
//! word allowed no typo could not otherwise do. Exact matches score double.

use super::facets::{FacetCollector, Facets};
use super::index::SearchIndex;
use super::schema::Fields;
use std::ops::Bound;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{TantivyDocument, Term};

/// A validated search: `limit` is 1–100.
#[derive(Clone, Debug)]
pub struct SearchParams {
    pub store_id: String,
    pub text: String,
    /// A category slug; empty for all.
    pub category: String,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub limit: usize,
    pub offset: usize,
}

/// One matching product.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub product_id: String,
    pub slug: String,
    pub title: String,
    pub category_slug: String,
    pub min_price: i64,
    pub currency: String,
    pub score: f32,
}

/// A page of hits, how many matched in all, and facets over all of them.
#[derive(Clone, Debug)]
pub struct SearchResults {
    pub hits: Vec<Hit>,
    pub total: u64,
    pub facets: Facets,
}

/// Typos allowed in a word of `chars` characters.
fn distance(chars: usize) -> u8 {
    match chars {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

impl SearchIndex {
    /// Runs a search on the last committed state. Blocking: CPU-bound over the index.
    pub fn search(&self, p: &SearchParams) -> anyhow::Result<SearchResults> {
        let query = self.query(p)?;
        let searcher = self.reader.searcher();
        let top = TopDocs::with_limit(p.limit.max(1))
            .and_offset(p.offset)
            .order_by_score();
        let (top, total, facets) = searcher.search(&query, &(top, Count, FacetCollector))?;
        let f = &self.fields;
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let text = |field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            };
            hits.push(Hit {
                product_id: text(f.product_id),
                slug: text(f.slug),
                title: text(f.title),
                category_slug: text(f.category_slug),
                min_price: doc.get_first(f.min_price).and_then(|v| v.as_i64()).unwrap_or(0),
                currency: text(f.currency),
                score,
            });
        }
        Ok(SearchResults {
            hits,
            total: total as u64,
            facets,
        })
    }

    fn query(&self, p: &SearchParams) -> anyhow::Result<BooleanQuery> {
        let f = &self.fields;
        let mut must: Vec<(Occur, Box<dyn Query>)> = vec![(
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_field_text(f.store_id, &p.store_id),
                IndexRecordOption::Basic,
            )),
        )];
        if !p.category.is_empty() {
            must.push((
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(f.category_slug, &p.category),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        if p.min_price.is_some() || p.max_price.is_some() {
            let bound = |v: Option<i64>| match v {
                Some(v) => Bound::Included(Term::from_field_i64(f.min_price, v)),
                None => Bound::Unbounded,
            };
            must.push((
                Occur::Must,
                Box::new(RangeQuery::new(bound(p.min_price), bound(p.max_price))),
            ));
        }
        let words = self.words(&p.text)?;
        for (i, word) in words.iter().enumerate() {
            let last = i + 1 == words.len();
            must.push((Occur::Must, Box::new(word_query(f, word, last))));
        }
        Ok(BooleanQuery::new(must))
    }

    /// The query's words, analysed like the indexed text (split, lower-cased).
    fn words(&self, text: &str) -> anyhow::Result<Vec<String>> {
        let mut analyzer = self.index.tokenizer_for_field(self.fields.title)?;
        let mut stream = analyzer.token_stream(text);
        let mut words = Vec::new();
        // Each word expands into several fuzzy automata; a cap keeps one long query from
        // occupying a core. Shoppers rarely type more than a handful of words.
        while let Some(token) = stream.next() {
            if words.len() == MAX_WORDS {
                break;
            }
            words.push(token.text.clone());
        }
        Ok(words)
    }
}

/// Words of a query beyond this many are ignored.
const MAX_WORDS: usize = 8;

/// One word, in any searched field: exactly, with typos, or as a prefix.
fn word_query(f: &Fields, word: &str, last: bool) -> BooleanQuery {
    let chars = word.chars().count();
    let typos = distance(chars);
    let prefix = last || chars >= 3;
    let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for (field, boost) in f.searched() {
        let term = Term::from_field_text(field, word);
        let exact = TermQuery::new(term.clone(), IndexRecordOption::WithFreqs);
        any.push((
            Occur::Should,
            Box::new(BoostQuery::new(Box::new(exact), boost * 2.0)),
        ));
        if typos > 0 {
            let fuzzy = FuzzyTermQuery::new(term.clone(), typos, true);
            any.push((Occur::Should, Box::new(BoostQuery::new(Box::new(fuzzy), boost))));
        }
        if prefix {
            let starts = FuzzyTermQuery::new_prefix(term, 0, true);
            any.push((Occur::Should, Box::new(BoostQuery::new(Box::new(starts), boost))));
        }
    }
    BooleanQuery::new(any)
}

#[cfg(test)]
mod tests {
    use super::distance;

    #[test]
    fn longer_words_allow_more_typos() {
        assert_eq!(distance(3), 0);
        assert_eq!(distance(4), 1);
        assert_eq!(distance(7), 1);
        assert_eq!(distance(8), 2);
    }
}
