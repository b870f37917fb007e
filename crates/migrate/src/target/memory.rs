//! A target held in memory, for the runner's and reconciliation's unit tests: it keeps records
//! by entity and key as the services do (unchanged when the canonical form is equal), refuses
//! the keys it is told to, and can fail a chosen import call.

use super::Target;
use crate::source::SourceRecord;
use mercato_proto::imports::{
    Entity, EntityProgress, ImportProgress, KeyRange, Outcome, PassEvent, RecordOutcome, Segment,
};
use mercato_runtime::imports::SegmentBuilder;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

#[derive(Default)]
pub(crate) struct MemoryTarget {
    pub records: Mutex<BTreeMap<(i32, String), SourceRecord>>,
    /// Keys whose records are rejected.
    pub refuse: Mutex<BTreeSet<String>>,
    /// Import calls so far.
    pub calls: Mutex<u32>,
    /// The import call (1-based) that fails with an error, writing nothing.
    pub fail_call: Mutex<Option<u32>>,
    /// Where `--follow` stands: the watermark and the earliest start under way, as identity
    /// keeps them.
    pub passes: Mutex<(i64, i64)>,
}

impl MemoryTarget {
    fn range(&self, entity: Entity, from: &str, to: &str) -> Vec<SourceRecord> {
        let records = self.records.lock().unwrap();
        records
            .range((entity as i32, from.to_owned())..)
            .take_while(|((e, k), _)| *e == entity as i32 && (to.is_empty() || k.as_str() < to))
            .map(|(_, r)| r.clone())
            .collect()
    }

    /// Replaces a stored record as a change made in the store would.
    pub fn put(&self, record: SourceRecord) {
        let key = (record.entity() as i32, record.legacy_key().to_owned());
        self.records.lock().unwrap().insert(key, record);
    }

    pub fn count(&self, entity: Entity) -> usize {
        self.range(entity, "", "").len()
    }
}

#[async_trait::async_trait]
impl Target for MemoryTarget {
    async fn record_pass(&self, event: PassEvent, source_clock_ms: i64) -> anyhow::Result<()> {
        let mut passes = self.passes.lock().unwrap();
        let (watermark, began) = &mut *passes;
        match event {
            PassEvent::Began if *began == 0 || *began > source_clock_ms => *began = source_clock_ms,
            PassEvent::Began => {}
            PassEvent::Finished | PassEvent::Unspecified => {
                let covered = match *began {
                    pending if pending > 0 && pending < source_clock_ms => pending,
                    _ => source_clock_ms,
                };
                *watermark = (*watermark).max(covered);
                if *began <= source_clock_ms {
                    *began = 0;
                }
            }
        }
        Ok(())
    }

    async fn progress(&self) -> anyhow::Result<ImportProgress> {
        let mut all: BTreeMap<i32, EntityProgress> = BTreeMap::new();
        for ((entity, key), record) in self.records.lock().unwrap().iter() {
            let p = all.entry(*entity).or_insert_with(|| EntityProgress {
                entity: *entity,
                ..EntityProgress::default()
            });
            p.count += 1;
            p.last_key.clone_from(key);
            p.last_modified_ms = p.last_modified_ms.max(record.modified_at_ms());
        }
        let (watermark_ms, pass_began_ms) = *self.passes.lock().unwrap();
        Ok(ImportProgress {
            entities: all.into_values().collect(),
            watermark_ms,
            pass_began_ms,
        })
    }

    async fn import(&self, entity: Entity, batch: Vec<SourceRecord>) -> anyhow::Result<Vec<RecordOutcome>> {
        let call = {
            let mut calls = self.calls.lock().unwrap();
            *calls += 1;
            *calls
        };
        if *self.fail_call.lock().unwrap() == Some(call) {
            anyhow::bail!("import call {call} failed");
        }
        let refuse = self.refuse.lock().unwrap().clone();
        let mut records = self.records.lock().unwrap();
        let mut outcomes = Vec::new();
        for record in batch {
            assert_eq!(record.entity(), entity);
            let key = record.legacy_key().to_owned();
            let outcome = if refuse.contains(&key) {
                Outcome::Rejected
            } else {
                match records.insert((entity as i32, key.clone()), record.clone()) {
                    None => Outcome::Created,
                    Some(old) if old.checksum() == record.checksum() => Outcome::Unchanged,
                    Some(_) => Outcome::Updated,
                }
            };
            outcomes.push(RecordOutcome {
                legacy_key: key,
                outcome: outcome as i32,
                reason: if outcome == Outcome::Rejected {
                    "refused".into()
                } else {
                    String::new()
                },
                target_id: String::new(),
            });
        }
        Ok(outcomes)
    }

    async fn checksums(
        &self,
        entity: Entity,
        from: &str,
        to: &str,
        segments: u32,
    ) -> anyhow::Result<Vec<Segment>> {
        let records = self.range(entity, from, to);
        let range = KeyRange {
            entity: entity as i32,
            from_key: from.into(),
            to_key: to.into(),
            ..KeyRange::default()
        };
        let mut builder = SegmentBuilder::new(&range, records.len() as u64, segments);
        for r in &records {
            builder.push(r.legacy_key(), r.checksum());
        }
        Ok(builder.finish())
    }

    async fn records(
        &self,
        entity: Entity,
        from: &str,
        to: &str,
        limit: u32,
    ) -> anyhow::Result<Vec<SourceRecord>> {
        let mut records = self.range(entity, from, to);
        records.truncate(limit as usize);
        Ok(records)
    }
}

/// A source held in memory: rows per entity, kept in key order.
#[derive(Default)]
pub(crate) struct MemorySource {
    pub rows: Mutex<BTreeMap<(i32, String), crate::source::Row>>,
    pub entities: Vec<Entity>,
}

impl MemorySource {
    pub fn new(entities: Vec<Entity>) -> Self {
        Self {
            rows: Mutex::default(),
            entities,
        }
    }

    pub fn put(&self, row: crate::source::Row) {
        let entity = match &row {
            crate::source::Row::Good(r) => r.entity(),
            crate::source::Row::Bad(b) => b.entity,
        };
        let key = (entity as i32, row.legacy_key().to_owned());
        self.rows.lock().unwrap().insert(key, row);
    }
}

#[async_trait::async_trait]
impl crate::source::Source for MemorySource {
    fn name(&self) -> &'static str {
        "woocommerce"
    }

    fn entities(&self) -> Vec<Entity> {
        self.entities.clone()
    }

    async fn currency(&self) -> anyhow::Result<String> {
        Ok("EUR".into())
    }

    async fn scan(
        &self,
        entity: Entity,
        from: &crate::source::ScanFrom,
        limit: usize,
    ) -> anyhow::Result<Vec<crate::source::Row>> {
        let rows = self.rows.lock().unwrap();
        let start = (entity as i32, from.after_key.clone().unwrap_or_default());
        Ok(rows
            .range(start..)
            .take_while(|((e, _), _)| *e == entity as i32)
            .filter(|((_, k), _)| from.after_key.as_ref().is_none_or(|a| k > a))
            .filter(|(_, row)| match (row, from.modified_since_ms) {
                (crate::source::Row::Good(r), Some(since)) => r.modified_at_ms() >= since,
                (crate::source::Row::Bad(_), Some(_)) => false,
                (_, None) => true,
            })
            .take(limit)
            .map(|(_, row)| row.clone())
            .collect())
    }

    async fn estimate(&self, entity: Entity) -> anyhow::Result<u64> {
        let rows = self.rows.lock().unwrap();
        Ok(rows.keys().filter(|(e, _)| *e == entity as i32).count() as u64)
    }
}
