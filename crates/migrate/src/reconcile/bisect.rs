//! Locating differences to the record (data-diff's way): the store's checksums of a key range
//! in segments are compared with the source's sums over the same bounds; a segment that differs
//! is asked for again in smaller segments until it holds at most [`LEAF`] records, and then both
//! sides' records of it are compared one by one.

use super::fields::{apply, differing_fields};
use crate::report::{Difference, DifferenceKind, MAX_LISTED, Totals};
use crate::source::{Row, ScanFrom, Source, SourceRecord};
use crate::target::Target;
use mercato_proto::imports::{Entity, Segment};
use mercato_runtime::imports::{MAX_RECORDS, sum_range};
use std::collections::{BTreeMap, VecDeque};

/// Segments asked for per checksums call.
const FANOUT: u32 = 32;

/// A segment with at most this many records in the store is compared record by record.
const LEAF: u64 = 64;

/// Source records per first-level checksums call: the store rebuilds each record of the range
/// it is asked for, so a million orders in one call would outlast the gateway's deadline.
const WINDOW: usize = 25_000;

/// What bisecting one entity found.
#[derive(Debug, Default)]
pub struct Located {
    /// Records the store holds (the first level's segments summed).
    pub store_count: u64,
    /// Every difference found.
    pub found: u64,
    /// The first [`MAX_LISTED`], in key order within each segment.
    pub differences: Vec<Difference>,
}

/// One entity: `keys` is the source's (legacy key, checksum) list in key order; `store_totals`
/// starts as the source's totals and is corrected by every record found to differ.
pub async fn locate(
    source: &dyn Source,
    target: &dyn Target,
    entity: Entity,
    keys: &[(String, u64)],
    store_totals: &mut Totals,
) -> anyhow::Result<Located> {
    let mut top = Vec::new();
    for (from, to) in windows(keys, WINDOW) {
        top.extend(target.checksums(entity, from, to, FANOUT).await?);
    }
    let mut located = Located {
        store_count: top.iter().map(|s| s.count).sum(),
        ..Located::default()
    };
    let mut work: VecDeque<Segment> = top.into();
    while let Some(segment) = work.pop_front() {
        if sum_range(keys, &segment.from_key, &segment.to_key) == (segment.count, segment.checksum) {
            continue;
        }
        if segment.count > LEAF {
            let parts = target
                .checksums(entity, &segment.from_key, &segment.to_key, FANOUT)
                .await?;
            if parts.len() > 1 {
                for part in parts.into_iter().rev() {
                    work.push_front(part);
                }
                continue;
            }
        }
        let leaf = Leaf {
            source,
            target,
            entity,
            keys,
            from: &segment.from_key,
            to: &segment.to_key,
        };
        leaf.compare(&mut located, store_totals).await?;
    }
    Ok(located)
}

/// Key ranges covering every key, the first from the start and the last to the end, each
/// holding at most `size` of the source's `keys` (sorted): where the store is asked for its
/// first-level checksums.
fn windows(keys: &[(String, u64)], size: usize) -> Vec<(&str, &str)> {
    let mut bounds: Vec<&str> = vec![""];
    bounds.extend(keys.iter().step_by(size.max(1)).skip(1).map(|(k, _)| k.as_str()));
    bounds.push("");
    bounds.windows(2).map(|w| (w[0], w[1])).collect()
}

/// A small range compared record by record.
struct Leaf<'a> {
    source: &'a dyn Source,
    target: &'a dyn Target,
    entity: Entity,
    keys: &'a [(String, u64)],
    from: &'a str,
    to: &'a str,
}

impl Leaf<'_> {
    fn contains(&self, key: &str) -> bool {
        key >= self.from && (self.to.is_empty() || key < self.to)
    }

    async fn compare(&self, located: &mut Located, store_totals: &mut Totals) -> anyhow::Result<()> {
        let mut store = self.store_records().await?;
        let mut found = Vec::new();
        let mut after = self.source_start();
        loop {
            let page = self
                .source
                .scan(
                    self.entity,
                    &ScanFrom {
                        after_key: after.clone(),
                        modified_since_ms: None,
                    },
                    MAX_RECORDS as usize,
                )
                .await?;
            let full = page.len() >= MAX_RECORDS as usize;
            after = page.last().map(|r| r.legacy_key().to_owned());
            let mut past_end = false;
            for row in page {
                if !self.to.is_empty() && row.legacy_key() >= self.to {
                    past_end = true;
                    break;
                }
                let Row::Good(record) = row else { continue };
                if !self.contains(record.legacy_key()) {
                    continue;
                }
                let key = record.legacy_key().to_owned();
                match store.remove(&key) {
                    None => {
                        apply(store_totals, &record, false);
                        found.push(difference(key, DifferenceKind::MissingInStore, Vec::new()));
                    }
                    Some(held) if held.checksum() != record.checksum() => {
                        apply(store_totals, &record, false);
                        apply(store_totals, &held, true);
                        let fields = differing_fields(&record, &held);
                        found.push(difference(key, DifferenceKind::Differs, fields));
                    }
                    Some(_) => {}
                }
            }
            if past_end || !full {
                break;
            }
        }
        for (key, held) in store {
            apply(store_totals, &held, true);
            found.push(difference(key, DifferenceKind::MissingInSource, Vec::new()));
        }
        found.sort_by(|a, b| a.legacy_key.cmp(&b.legacy_key));
        located.found += found.len() as u64;
        let room = MAX_LISTED.saturating_sub(located.differences.len());
        located.differences.extend(found.into_iter().take(room));
        Ok(())
    }

    /// Where the source's scan of the range starts: after the last good key before it.
    fn source_start(&self) -> Option<String> {
        let start = self.keys.partition_point(|(k, _)| k.as_str() < self.from);
        start.checked_sub(1).map(|i| self.keys[i].0.clone())
    }

    /// The store's records of the range, page by page.
    async fn store_records(&self) -> anyhow::Result<BTreeMap<String, SourceRecord>> {
        let mut all = BTreeMap::new();
        let mut from = self.from.to_owned();
        loop {
            let page = self
                .target
                .records(self.entity, &from, self.to, MAX_RECORDS)
                .await?;
            let full = page.len() >= MAX_RECORDS as usize;
            let mut last = None;
            for record in page {
                let key = record.legacy_key().to_owned();
                last = Some(key.clone());
                all.insert(key, record);
            }
            match last {
                // The next page starts at the last key again (ranges include their start);
                // the map takes it once.
                Some(key) if full && key != from => from = key,
                _ => return Ok(all),
            }
        }
    }
}

fn difference(legacy_key: String, kind: DifferenceKind, fields: Vec<String>) -> Difference {
    Difference {
        legacy_key,
        kind,
        fields,
    }
}

#[cfg(test)]
mod window_tests {
    use super::windows;

    #[test]
    fn windows_cover_everything_in_ranges_of_at_most_size_source_keys() {
        let keys: Vec<(String, u64)> = (0..7).map(|i| (format!("k{i}"), 0)).collect();
        assert_eq!(windows(&keys, 3), vec![("", "k3"), ("k3", "k6"), ("k6", "")]);
        assert_eq!(windows(&keys, 7), vec![("", "")]);
        assert_eq!(windows(&[], 3), vec![("", "")]);
    }
}
