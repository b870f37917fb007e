//! Facets over every document a search matches: counts per category and per price bucket.

use std::collections::HashMap;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

/// Price buckets in minor units: `[from, to)`, `None` for unbounded.
pub const PRICE_BUCKETS: [(i64, Option<i64>); 5] = [
    (0, Some(1_000)),
    (1_000, Some(2_500)),
    (2_500, Some(5_000)),
    (5_000, Some(10_000)),
    (10_000, None),
];

fn bucket_of(price: i64) -> Option<usize> {
    PRICE_BUCKETS
        .iter()
        .position(|(from, to)| price >= *from && to.is_none_or(|to| price < to))
}

/// What the facet collector found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facets {
    /// Category slug → matching documents.
    pub categories: HashMap<String, u64>,
    /// Matching documents per [`PRICE_BUCKETS`] entry.
    pub price_buckets: [u64; PRICE_BUCKETS.len()],
}

/// Counts categories and price buckets from fast fields, over all matches.
pub(crate) struct FacetCollector;

pub(crate) struct SegmentFacets {
    categories: Option<StrColumn>,
    prices: Column<i64>,
    ords: HashMap<u64, u64>,
    price_buckets: [u64; PRICE_BUCKETS.len()],
}

impl Collector for FacetCollector {
    type Fruit = Facets;
    type Child = SegmentFacets;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentFacets> {
        Ok(SegmentFacets {
            categories: reader.fast_fields().str("category_slug")?,
            prices: reader.fast_fields().i64("min_price")?,
            ords: HashMap::new(),
            price_buckets: [0; PRICE_BUCKETS.len()],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segments: Vec<Facets>) -> tantivy::Result<Facets> {
        let mut all = Facets::default();
        for s in segments {
            for (slug, n) in s.categories {
                *all.categories.entry(slug).or_default() += n;
            }
            for (total, n) in all.price_buckets.iter_mut().zip(s.price_buckets) {
                *total += n;
            }
        }
        Ok(all)
    }
}

impl SegmentCollector for SegmentFacets {
    type Fruit = Facets;

    fn collect(&mut self, doc: DocId, _score: Score) {
        if let Some(column) = &self.categories {
            for ord in column.term_ords(doc) {
                *self.ords.entry(ord).or_default() += 1;
            }
        }
        if let Some(b) = self.prices.first(doc).and_then(bucket_of) {
            self.price_buckets[b] += 1;
        }
    }

    fn harvest(self) -> Facets {
        let mut categories = HashMap::new();
        if let Some(column) = &self.categories {
            for (ord, n) in self.ords {
                let mut slug = String::new();
                if column.ord_to_str(ord, &mut slug).unwrap_or(false) {
                    categories.insert(slug, n);
                }
            }
        }
        Facets {
            categories,
            price_buckets: self.price_buckets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::bucket_of;

    #[test]
    fn bucket_bounds_are_inclusive_below_and_exclusive_above() {
        assert_eq!(bucket_of(0), Some(0));
        assert_eq!(bucket_of(999), Some(0));
        assert_eq!(bucket_of(1_000), Some(1));
        assert_eq!(bucket_of(9_999), Some(3));
        assert_eq!(bucket_of(10_000), Some(4));
        assert_eq!(bucket_of(-1), None);
    }
}
