//! The import: entity by entity in the source's order, in batches of at most `MAX_BATCH`, each
//! one transaction in the platform. Where it starts is what the platform holds (ADR 0016:
//! checkpoints live in the target): each entity resumes after the greatest legacy key stored, so
//! a killed import re-run finishes with nothing doubled.
//!
//! Throughput without losing that guarantee: an entity's batches are imported one at a time, in
//! key order — a batch is only sent once the one before it is committed, so the greatest key
//! stored never passes a batch that failed — while its next pages are read from the source
//! meanwhile (read-ahead), and entities of different services run side by side (the catalog's
//! categories → products → stock beside identity's customers → orders), each chain in the
//! source's order.
//!
//! `--follow` ([`Runner::follow`]) then keeps importing what the source changed, until told to
//! stop: each round reads what changed since the watermark (less an overlap) and at most since
//! the newest modification time the platform holds of the entity. The watermark is the
//! source's clock when the last pass or round that finished began; the platform keeps it
//! (`Target::record_pass`), so a restarted importer, or one killed mid-round, starts where no
//! change can have been missed. A source without a clock, or an import from before watermarks
//! were kept (until a `--from-start` pass sets one), is followed from the platform's times
//! alone.

mod progress;
mod summary;

pub use progress::{EntityProgressBar, Progress, Silent, for_stderr};
pub use summary::{EntitySummary, ImportSummary, RejectedRecord};

use crate::report::SkippedRow;
use crate::source::{Row, ScanFrom, Source};
use crate::target::{Target, progress_of};
use anyhow::Context as _;
use mercato_gateway::dto_imports::entity_path_name;
use mercato_proto::imports::{Entity, ImportProgress, Outcome, PassEvent};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Source pages read ahead of the batch being imported.
const READ_AHEAD: usize = 3;

/// How an import runs.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Records per batch (1 to `MAX_BATCH`).
    pub batch: usize,
    /// Send every record again from the first (each comes back `unchanged` when it is), instead
    /// of resuming after what the platform holds.
    pub from_start: bool,
    /// `--follow` looks this far back before its watermark (and the newest modification time
    /// the platform holds), so that a row changed in the same instant as the last one seen, or
    /// stamped by a clock a little behind the source's, is not missed.
    pub overlap: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            batch: mercato_runtime::imports::MAX_BATCH,
            from_start: false,
            overlap: Duration::from_secs(2),
        }
    }
}

/// Moves one source into one store.
pub struct Runner {
    source: Arc<dyn Source>,
    target: Arc<dyn Target>,
    progress: Arc<dyn Progress>,
    options: RunOptions,
}

impl Runner {
    pub fn new(
        source: Arc<dyn Source>,
        target: Arc<dyn Target>,
        progress: Arc<dyn Progress>,
        options: RunOptions,
    ) -> Self {
        let batch = options.batch.clamp(1, mercato_runtime::imports::MAX_BATCH);
        Self {
            source,
            target,
            progress,
            options: RunOptions { batch, ..options },
        }
    }

    /// The full pass: every entity from where the platform's import of it stands (or from the
    /// first record with `from_start`).
    ///
    /// It sets the watermark when it reads what a watermark promises: from the first record,
    /// or as the first pass of this source (resuming one that was killed keeps that one's
    /// start). Run again after a pass finished, it reads only records past those held, so it
    /// leaves the watermark alone: changes to the held ones are `--follow`'s to find.
    pub async fn run(&self) -> anyhow::Result<ImportSummary> {
        let clock = self.source_clock().await?;
        let held = self.held().await?;
        let first_pass =
            held.watermark_ms == 0 && (held.pass_began_ms > 0 || held.entities.iter().all(|e| e.count == 0));
        let marks = clock.filter(|_| self.options.from_start || first_pass);
        if clock.is_some() && marks.is_none() && held.watermark_ms == 0 {
            tracing::warn!(
                "this store's import has no --follow watermark (imported before they were kept): \
                 run it once with --from-start, or --follow may miss a change made behind an \
                 earlier pass"
            );
        }
        // Only a first pass is resumed by key, so only it says when it began: killed, its
        // start is where its resumption counts from. A pass from the first record reads all
        // again whenever it runs, and says only that it finished.
        self.began(marks.filter(|_| !self.options.from_start)).await?;
        let summary = self
            .pass(|entity| ScanFrom {
                after_key: Some(progress_of(&held.entities, entity).last_key)
                    .filter(|k| !k.is_empty() && !self.options.from_start),
                modified_since_ms: None,
            })
            .await?;
        // A resumed first pass covers what changed since its first attempt began.
        let pending = Some(held.pass_began_ms).filter(|p| *p > 0);
        let start = marks.map(|c| pending.map_or(c, |p| p.min(c)));
        self.finished(start).await?;
        Ok(summary)
    }

    /// One round of `--follow`: every entity's rows the source changed since the watermark or
    /// the newest modification time the platform holds of it, whichever is earlier (less the
    /// overlap); categories, which have no times, all again; an entity without times yet (0)
    /// from after its greatest key.
    ///
    /// The platform's time alone is a high-water mark: records go in key order, so a row
    /// changed behind the key cursor while a pass ran, with a time below a later row's, would
    /// never be read again. The watermark is the source's clock when the pass before began,
    /// which every change committed since is at or after.
    pub async fn catch_up(&self) -> anyhow::Result<ImportSummary> {
        let clock = self.source_clock().await?;
        let held = self.held().await?;
        let overlap = i64::try_from(self.options.overlap.as_millis()).unwrap_or(i64::MAX);
        let watermark = Some(held.watermark_ms).filter(|w| *w > 0);
        // A round read from the watermark covers what changed before its start; one read from
        // the platform's times alone (no pass has set a watermark: an import from before they
        // were kept, or a source without a clock) does not, and sets none.
        let marks = clock.filter(|_| watermark.is_some());
        self.began(marks).await?;
        let summary = self
            .pass(|entity| {
                let p = progress_of(&held.entities, entity);
                if entity == Entity::Category {
                    // Categories carry no modification time: a few hundred rows, read again
                    // each round (the unchanged ones write nothing), so a rename is not missed.
                    ScanFrom::default()
                } else if p.last_modified_ms > 0 {
                    let since = watermark.map_or(p.last_modified_ms, |w| w.min(p.last_modified_ms));
                    ScanFrom {
                        after_key: None,
                        modified_since_ms: Some(since.saturating_sub(overlap)),
                    }
                } else {
                    ScanFrom {
                        after_key: Some(p.last_key).filter(|k| !k.is_empty()),
                        modified_since_ms: None,
                    }
                }
            })
            .await?;
        self.finished(marks).await?;
        Ok(summary)
    }

    /// The source's clock now, if it has one.
    async fn source_clock(&self) -> anyhow::Result<Option<i64>> {
        self.source.now_ms().await.context("reading the source's clock")
    }

    /// What the platform holds of this import.
    async fn held(&self) -> anyhow::Result<ImportProgress> {
        self.target
            .progress()
            .await
            .context("asking the platform how far the import got")
    }

    /// Tells the platform a pass that sets the watermark began at `clock`.
    async fn began(&self, clock: Option<i64>) -> anyhow::Result<()> {
        if let Some(clock) = clock {
            let recorded = self.target.record_pass(PassEvent::Began, clock).await;
            recorded.context("recording the start of the pass")?;
        }
        Ok(())
    }

    /// …and that the pass begun at `clock` finished: the watermark moves to its start (or to
    /// an earlier attempt's at it).
    async fn finished(&self, clock: Option<i64>) -> anyhow::Result<()> {
        if let Some(clock) = clock {
            let recorded = self.target.record_pass(PassEvent::Finished, clock).await;
            recorded.context("recording the end of the pass")?;
        }
        Ok(())
    }

    /// `--follow`: a round of [`Runner::catch_up`] every `interval` until `stop` resolves (the
    /// round under way is finished first); what all rounds did.
    pub async fn follow(
        &self,
        interval: Duration,
        stop: impl Future<Output = ()>,
    ) -> anyhow::Result<ImportSummary> {
        tokio::pin!(stop);
        let mut all = ImportSummary::default();
        loop {
            all.absorb(self.catch_up().await?);
            tokio::select! {
                () = &mut stop => return Ok(all),
                () = tokio::time::sleep(interval) => {}
            }
        }
    }

    /// Every entity once, each chain of dependent entities in order, the chains side by side.
    async fn pass(&self, from: impl Fn(Entity) -> ScanFrom) -> anyhow::Result<ImportSummary> {
        let started = Instant::now();
        let entities = self.source.entities();
        let chains = chains(&entities);
        let runs = chains.iter().map(|chain| {
            let starts: Vec<(Entity, ScanFrom)> = chain.iter().map(|e| (*e, from(*e))).collect();
            async move {
                let mut done = Vec::new();
                for (entity, start) in starts {
                    done.push(self.import_entity(entity, start).await?);
                }
                anyhow::Ok(done)
            }
        });
        let mut summaries: Vec<EntitySummary> = futures::future::try_join_all(runs)
            .await?
            .into_iter()
            .flatten()
            .collect();
        summaries.sort_by_key(|s| entities.iter().position(|e| entity_path_name(*e) == s.entity));
        Ok(ImportSummary {
            entities: summaries,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// One entity from `from` to the end of the source.
    async fn import_entity(&self, entity: Entity, from: ScanFrom) -> anyhow::Result<EntitySummary> {
        let name = entity_path_name(entity);
        let started = Instant::now();
        let estimate = self.source.estimate(entity).await.unwrap_or(0);
        let bar = self.progress.begin(name, estimate);
        let (pages, mut next) = tokio::sync::mpsc::channel(READ_AHEAD);
        let reader = tokio::spawn(read_pages(
            self.source.clone(),
            entity,
            from,
            self.options.batch,
            pages,
        ));
        let mut summary = EntitySummary {
            entity: name.to_owned(),
            ..EntitySummary::default()
        };
        while let Some(page) = next.recv().await {
            let rows = page?;
            let count = rows.len() as u64;
            self.import_page(entity, rows, &mut summary)
                .await
                .with_context(|| format!("importing {name}"))?;
            bar.advance(count);
        }
        reader.await.context("the source reader stopped")?;
        summary.seconds = started.elapsed().as_secs_f64();
        bar.finish(&summary.line());
        Ok(summary)
    }

    /// One page: its bad rows into the summary, its records in one batch.
    async fn import_page(
        &self,
        entity: Entity,
        rows: Vec<Row>,
        summary: &mut EntitySummary,
    ) -> anyhow::Result<()> {
        summary.rows += rows.len() as u64;
        let mut records = Vec::with_capacity(rows.len());
        for row in rows {
            match row {
                Row::Good(record) => {
                    summary.synthesized_skus += record.synthesized_skus();
                    records.push(record);
                }
                Row::Bad(bad) => summary.skipped.push(SkippedRow::from(bad)),
            }
        }
        if records.is_empty() {
            return Ok(());
        }
        let sent = records.len();
        let outcomes = self.target.import(entity, records).await?;
        anyhow::ensure!(
            outcomes.len() == sent,
            "the platform answered {} outcomes for {sent} records",
            outcomes.len()
        );
        for o in outcomes {
            match o.outcome() {
                Outcome::Created => summary.created += 1,
                Outcome::Updated => summary.updated += 1,
                Outcome::Unchanged => summary.unchanged += 1,
                Outcome::Rejected | Outcome::Unspecified => summary.rejected.push(RejectedRecord {
                    legacy_key: o.legacy_key,
                    reason: o.reason,
                }),
            }
        }
        Ok(())
    }
}

/// Reads `entity` page by page from `from` into `pages` until the source ends or nobody listens.
async fn read_pages(
    source: Arc<dyn Source>,
    entity: Entity,
    mut from: ScanFrom,
    batch: usize,
    pages: tokio::sync::mpsc::Sender<anyhow::Result<Vec<Row>>>,
) {
    loop {
        let page = source.scan(entity, &from, batch).await;
        // Only an empty page ends the scan: a source may filter rows out of a page after its
        // query's limit, and a short page in the middle must not end the import there.
        let last = match &page {
            Ok(rows) => rows.last().map(|r| r.legacy_key().to_owned()),
            Err(_) => None,
        };
        let empty = matches!(&page, Ok(rows) if rows.is_empty());
        if !empty && pages.send(page).await.is_err() {
            return;
        }
        match last {
            Some(key) => from.after_key = Some(key),
            None => return,
        }
    }
}

/// The entities in chains that must each go in order (a category before the products under
/// it, a product before its stock; a customer before their orders), chains independent of each
/// other, each in the source's order.
fn chains(entities: &[Entity]) -> Vec<Vec<Entity>> {
    let catalog = [Entity::Category, Entity::Product, Entity::Stock];
    let (first, second): (Vec<Entity>, Vec<Entity>) = entities.iter().partition(|e| catalog.contains(e));
    [first, second].into_iter().filter(|c| !c.is_empty()).collect()
}

#[cfg(test)]
pub(crate) mod tests;
