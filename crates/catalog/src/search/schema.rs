//! The index schema: what is searched, filtered, faceted and returned.

use super::stem::LightEnglishStemmer;
use tantivy::Index;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, NumericOptions, STORED, STRING, Schema, TEXT, TextFieldIndexing,
    TextOptions,
};
use tantivy::tokenizer::{LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};

/// The analyzer of the words shoppers search: split, lower-cased, stemmed (English).
const WORDS: &str = "words_en";

/// Registers the analyzers the schema names; call it on every index built from [`build`].
pub(crate) fn register_analyzers(index: &Index) {
    let words = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(LightEnglishStemmer)
        .build();
    index.tokenizers().register(WORDS, words);
}

/// A text field analysed into stemmed words.
fn words() -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(WORDS)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    )
}

/// Handles on the index's fields.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fields {
    /// Exact; every query is filtered on it.
    pub store_id: Field,
    /// Exact; the key for updates and deletes.
    pub product_id: Field,
    pub slug: Field,
    pub title: Field,
    pub description: Field,
    pub skus: Field,
    /// Exact and fast: filtered on and counted for the category facet.
    pub category_slug: Field,
    pub category_name: Field,
    /// Indexed and fast: range filters and price buckets.
    pub min_price: Field,
    pub currency: Field,
}

impl Fields {
    /// The text fields a query's words are looked for in, with their boosts.
    pub fn searched(&self) -> [(Field, f32); 4] {
        [
            (self.title, 3.0),
            (self.category_name, 1.5),
            (self.skus, 1.0),
            (self.description, 1.0),
        ]
    }
}

pub(crate) fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let fields = Fields {
        store_id: b.add_text_field("store_id", STRING),
        product_id: b.add_text_field("product_id", STRING | STORED),
        slug: b.add_text_field("slug", STRING | STORED),
        title: b.add_text_field("title", words() | STORED),
        description: b.add_text_field("description", words()),
        skus: b.add_text_field("skus", TEXT),
        category_slug: b.add_text_field("category_slug", STRING | FAST | STORED),
        category_name: b.add_text_field("category_name", words()),
        min_price: b.add_i64_field("min_price", NumericOptions::default() | INDEXED | FAST | STORED),
        currency: b.add_text_field("currency", STRING | STORED),
    };
    (b.build(), fields)
}
