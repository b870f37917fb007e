//! The platform side of an import: what the runner and reconciliation ask of a store (import a
//! batch, how far an import got, checksums and records of a key range), and [`ApiTarget`], which
//! asks a running platform through its REST API (`/v1/stores/{store}/imports/…`, owner only).

mod api;
mod batch;
#[cfg(test)]
pub(crate) mod memory;

pub use api::{ApiTarget, Credentials};
pub use batch::{batch_of, records_of};

use crate::source::SourceRecord;
use mercato_proto::imports::{Entity, EntityProgress, ImportProgress, PassEvent, RecordOutcome, Segment};

/// A store being imported into, from one source.
#[async_trait::async_trait]
pub trait Target: Send + Sync {
    /// Per entity: how many records the store holds from this source, the greatest legacy key
    /// and the newest source modification time among them; and where `--follow` stands (the
    /// watermark and the start of a pass under way).
    async fn progress(&self) -> anyhow::Result<ImportProgress>;

    /// Records that a pass began, or that the pass begun at `source_clock_ms` (the source's
    /// clock) finished: the target keeps the `--follow` watermark (ADR 0016).
    async fn record_pass(&self, event: PassEvent, source_clock_ms: i64) -> anyhow::Result<()>;

    /// Imports one batch of `entity`'s records (at most `MAX_BATCH`, all of that entity) in one
    /// transaction; one outcome per record, in order.
    async fn import(&self, entity: Entity, records: Vec<SourceRecord>) -> anyhow::Result<Vec<RecordOutcome>>;

    /// The checksums of the records in `[from_key, to_key)` (empty `to_key`: no bound) in about
    /// `segments` parts of equal counts, covering the range without a gap.
    async fn checksums(
        &self,
        entity: Entity,
        from_key: &str,
        to_key: &str,
        segments: u32,
    ) -> anyhow::Result<Vec<Segment>>;

    /// Up to `limit` (at most 1,000) records of `[from_key, to_key)` as stored, in key order.
    async fn records(
        &self,
        entity: Entity,
        from_key: &str,
        to_key: &str,
        limit: u32,
    ) -> anyhow::Result<Vec<SourceRecord>>;
}

/// Where an entity's import stands in the target (nothing imported yet: the default).
pub fn progress_of(all: &[EntityProgress], entity: Entity) -> EntityProgress {
    all.iter()
        .find(|p| p.entity() == entity)
        .cloned()
        .unwrap_or_else(|| EntityProgress {
            entity: entity as i32,
            ..EntityProgress::default()
        })
}
