//! Typo tolerance for the second pass of a search: the index's words within a few edits of a
//! query word, each with a cost that ranks nearer words first.
//!
//! The cost is the edit distance (a swap of neighbours counts one), and for a word that may be
//! a prefix the distance to the nearest beginning of an indexed word plus a half. A different
//! first letter costs another half: shoppers mistype the middle of words more than their start,
//! so `wol` reaches `wool` (1) before `olive` (2, by dropping the `w`); a word shorter than the
//! query a quarter.

use tantivy::Searcher;
use tantivy::schema::Field;

/// Indexed words kept per query word and field, nearest first.
const MAX_NEAR: usize = 16;

/// An indexed word near a query word.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Near {
    pub term: String,
    pub cost: f32,
}

/// The words of `field` within `max_edits` of `word` (or of a beginning of them when `prefix`),
/// the word itself excluded, nearest first.
pub(crate) fn near_terms(
    searcher: &Searcher,
    field: Field,
    word: &str,
    max_edits: usize,
    prefix: bool,
) -> anyhow::Result<Vec<Near>> {
    let query: Vec<char> = word.chars().collect();
    let mut found: Vec<Near> = Vec::new();
    for segment in searcher.segment_readers() {
        let inverted = segment.inverted_index(field)?;
        let mut terms = inverted.terms().stream()?;
        while terms.advance() {
            let Ok(term) = std::str::from_utf8(terms.key()) else {
                continue;
            };
            if let Some(cost) = cost(&query, term, max_edits, prefix)
                && !found.iter().any(|n| n.term == term)
            {
                found.push(Near {
                    term: term.to_owned(),
                    cost,
                });
            }
        }
    }
    found.sort_by(|a, b| a.cost.total_cmp(&b.cost).then_with(|| a.term.cmp(&b.term)));
    found.truncate(MAX_NEAR);
    Ok(found)
}

/// The cost of reading `term` for `query`, or `None` when it is the same word, the query is a
/// plain beginning of it (the first pass's business), or it is too far.
fn cost(query: &[char], term: &str, max_edits: usize, prefix: bool) -> Option<f32> {
    let term: Vec<char> = term.chars().collect();
    if !prefix && term.len().abs_diff(query.len()) > max_edits {
        return None;
    }
    let (whole, beginning) = distances(query, &term);
    if whole == 0 || (prefix && beginning == 0) {
        return None;
    }
    let mut cost = whole as f32;
    if prefix {
        cost = cost.min(beginning as f32 + 0.5);
    }
    if whole.min(if prefix { beginning } else { whole }) > max_edits {
        return None;
    }
    if query.first() != term.first() {
        cost += 0.5;
    }
    // A letter too many is a rarer slip than one missing: `sandl` (from `sandles`) is `sandal`
    // before it is `sand`.
    if term.len() < query.len() {
        cost += 0.25;
    }
    Some(cost)
}

/// The edit distance of `a` to all of `b` and to the nearest beginning of `b` (optimal string
/// alignment: insertions, deletions, substitutions and swaps of neighbours cost one).
fn distances(a: &[char], b: &[char]) -> (usize, usize) {
    let (n, m) = (a.len(), b.len());
    let mut rows = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let substitution = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + substitution);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    let beginning = rows[n].iter().copied().min().unwrap_or(n);
    (rows[n][m], beginning)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(query: &str, term: &str, max: usize, prefix: bool) -> Option<f32> {
        cost(&query.chars().collect::<Vec<_>>(), term, max, prefix)
    }

    #[test]
    fn swaps_count_one_and_beginnings_count_for_prefixes() {
        assert_eq!(distances(&['a', 'b'], &['b', 'a']), (1, 1));
        assert_eq!(c("sandl", "sandal", 1, false), Some(1.0));
        assert_eq!(c("shrt", "shirt", 1, true), Some(1.0));
        assert_eq!(c("wol", "wool", 1, true), Some(1.0));
    }

    #[test]
    fn a_different_first_letter_costs_more() {
        let wool = c("wol", "wool", 1, true).unwrap();
        let olive = c("wol", "olive", 1, true).unwrap();
        assert!(wool < olive, "{wool} < {olive}");
    }

    #[test]
    fn the_word_itself_plain_beginnings_and_far_words_are_not_typos() {
        assert_eq!(c("boot", "boot", 1, true), None);
        assert_eq!(c("boo", "boot", 1, true), None);
        assert_eq!(c("boot", "sandal", 1, false), None);
        assert_eq!(c("boot", "boots", 1, false), Some(1.0));
    }
}
