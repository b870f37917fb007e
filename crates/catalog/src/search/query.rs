//! From a shopper's words to a tantivy query, and the search itself.
//!
//! Words are analysed like the indexed text (split, lower-cased, stemmed: `boots` is `boot`), and
//! every word must match (AND) in some searched field. A search runs in up to two passes:
//!
//! 1. exact: a word matches its stem, the store's synonyms of it, or, for the last word (the
//!    shopper may still be typing) and words of 3 or more characters, the beginning of a word
//!    (`blu` finds `blue`). Exact matches score by BM25 and double; beginnings score a constant.
//! 2. typos, only when the first pass found nothing: each word may also be any indexed word a
//!    few edits away (none for 1-2 characters, one up to 7, two beyond) or near a beginning of
//!    one, scored below a beginning and the lower the more edits
//!    (`crate::search::typos`). So `boots` finds boots and never books, while `sandles` still
//!    finds sandals and `wol` wool.

use super::facets::{FacetCollector, Facets};
use super::index::SearchIndex;
use super::typos::near_terms;
use std::ops::Bound;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, FuzzyTermQuery, Occur, Query, RangeQuery,
    TermQuery,
};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{Searcher, TantivyDocument, Term};

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
    /// The store's synonym groups: any word of a group also finds the others.
    pub synonyms: Vec<Vec<String>>,
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

/// Typos allowed in a word of `chars` characters in the second pass.
fn distance(chars: usize) -> usize {
    match chars {
        0..=2 => 0,
        3..=7 => 1,
        _ => 2,
    }
}

/// Which pass a query is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pass {
    Exact,
    Typos,
}

/// Words of a query beyond this many are ignored.
const MAX_WORDS: usize = 8;

impl SearchIndex {
    /// Runs a search on the last committed state: the exact pass, then the typo pass if that
    /// found nothing. Blocking: CPU-bound over the index.
    pub fn search(&self, p: &SearchParams) -> anyhow::Result<SearchResults> {
        let searcher = self.reader.searcher();
        let words = self.words(&p.text)?;
        let synonyms = self.synonym_groups(&p.synonyms)?;
        let exact = self.query(&searcher, p, &words, &synonyms, Pass::Exact)?;
        let results = self.run(&searcher, &exact, p)?;
        if results.total > 0 || words.is_empty() {
            return Ok(results);
        }
        let typos = self.query(&searcher, p, &words, &synonyms, Pass::Typos)?;
        self.run(&searcher, &typos, p)
    }

    fn run(
        &self,
        searcher: &Searcher,
        query: &BooleanQuery,
        p: &SearchParams,
    ) -> anyhow::Result<SearchResults> {
        let top = TopDocs::with_limit(p.limit.max(1))
            .and_offset(p.offset)
            .order_by_score();
        let (top, total, facets) = searcher.search(query, &(top, Count, FacetCollector))?;
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

    fn query(
        &self,
        searcher: &Searcher,
        p: &SearchParams,
        words: &[String],
        synonyms: &[Vec<String>],
        pass: Pass,
    ) -> anyhow::Result<BooleanQuery> {
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
        for (i, word) in words.iter().enumerate() {
            let last = i + 1 == words.len();
            let query = self.word_query(searcher, word, last, synonyms, pass)?;
            must.push((Occur::Must, Box::new(query)));
        }
        Ok(BooleanQuery::new(must))
    }

    /// The query's words, analysed like the indexed text (split, lower-cased, stemmed).
    pub fn words(&self, text: &str) -> anyhow::Result<Vec<String>> {
        let mut analyzer = self.index.tokenizer_for_field(self.fields.title)?;
        let mut stream = analyzer.token_stream(text);
        let mut words = Vec::new();
        // Each word expands into several terms; a cap keeps one long query from occupying a
        // core. Shoppers rarely type more than a handful of words.
        while let Some(token) = stream.next() {
            if words.len() == MAX_WORDS {
                break;
            }
            words.push(token.text.clone());
        }
        Ok(words)
    }

    /// Synonym groups as stems; entries that are not one word are left out.
    fn synonym_groups(&self, groups: &[Vec<String>]) -> anyhow::Result<Vec<Vec<String>>> {
        let mut stemmed = Vec::with_capacity(groups.len());
        for group in groups {
            let mut words = Vec::with_capacity(group.len());
            for entry in group {
                if let [word] = self.words(entry)?.as_slice() {
                    words.push(word.clone());
                }
            }
            stemmed.push(words);
        }
        Ok(stemmed)
    }

    /// One word, in any searched field: its stem or a synonym, a beginning, or (second pass)
    /// a near word.
    fn word_query(
        &self,
        searcher: &Searcher,
        word: &str,
        last: bool,
        synonyms: &[Vec<String>],
        pass: Pass,
    ) -> anyhow::Result<BooleanQuery> {
        let chars = word.chars().count();
        let prefix = last || chars >= 3;
        let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        // A word read several ways counts once, by its best reading: `wol` in a title with
        // both `olive` and `wool` is not worth more than `wool` alone.
        let mut near_words: Vec<Box<dyn Query>> = Vec::new();
        let mut same = vec![word.to_owned()];
        for group in synonyms.iter().filter(|g| g.iter().any(|w| w == word)) {
            same.extend(group.iter().filter(|w| *w != word).cloned());
        }
        for (field, boost) in self.fields.searched() {
            for w in &same {
                let exact = TermQuery::new(Term::from_field_text(field, w), IndexRecordOption::WithFreqs);
                any.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(exact), boost * 2.0)),
                ));
            }
            let term = Term::from_field_text(field, word);
            if prefix {
                let starts = FuzzyTermQuery::new_prefix(term, 0, true);
                any.push((Occur::Should, Box::new(BoostQuery::new(Box::new(starts), boost))));
            }
            let edits = distance(chars);
            if pass == Pass::Typos && edits > 0 && field != self.fields.skus {
                for near in near_terms(searcher, field, word, edits, prefix)? {
                    let one =
                        TermQuery::new(Term::from_field_text(field, &near.term), IndexRecordOption::Basic);
                    let score = boost / (1.0 + near.cost);
                    near_words.push(Box::new(ConstScoreQuery::new(Box::new(one), score)));
                }
            }
        }
        if !near_words.is_empty() {
            any.push((Occur::Should, Box::new(DisjunctionMaxQuery::new(near_words))));
        }
        Ok(BooleanQuery::new(any))
    }
}

#[cfg(test)]
mod tests {
    use super::distance;

    #[test]
    fn longer_words_allow_more_typos() {
        assert_eq!(distance(2), 0);
        assert_eq!(distance(3), 1);
        assert_eq!(distance(4), 1);
        assert_eq!(distance(7), 1);
        assert_eq!(distance(8), 2);
    }
}
