//! Reconciliation of a source against the store it was imported into (ADR 0016), per entity:
//! the source is read whole into a (legacy key, checksum) list — skipped rows listed apart —
//! and the store's checksums over key ranges are compared with it, differing ranges bisected
//! down to the record (`bisect`), each difference named (missing in the store, missing in the
//! source, or the fields that differ). Totals per store (money per currency, stock units) are
//! summed from the source; the store's are the source's corrected by every located difference —
//! records whose checksums agree agree in every canonical field, totals included.

mod bisect;
mod fields;

pub use fields::{canonical_json, differing_fields};

use crate::report::{EntityCheck, Report, SkippedRow, Totals, TotalsCheck};
use crate::source::{Row, ScanFrom, Source};
use crate::target::Target;
use anyhow::Context as _;
use mercato_gateway::dto_imports::entity_path_name;
use mercato_proto::imports::Entity;
use std::time::Instant;

/// Source rows per scan call.
const PAGE: usize = 1000;

/// One source's side of one entity.
#[derive(Debug, Default)]
struct SourceSide {
    /// (legacy key, checksum) of every good row, in key order.
    keys: Vec<(String, u64)>,
    skipped: Vec<SkippedRow>,
}

/// Compares `source` with `store` (the store's name for the report) entity by entity.
pub async fn reconcile(source: &dyn Source, target: &dyn Target, store: &str) -> anyhow::Result<Report> {
    let started = Instant::now();
    let mut report = Report {
        store: store.to_owned(),
        source: source.name().to_owned(),
        checked_at: mercato_runtime::time::to_rfc3339(mercato_runtime::time::now_ms()),
        ..Report::default()
    };
    let mut totals = TotalsCheck::default();
    for entity in source.entities() {
        let name = entity_path_name(entity);
        let mut side_totals = Totals::default();
        let side = read_source(source, entity, &mut side_totals)
            .await
            .with_context(|| format!("reading the source's {name}"))?;
        let mut store_totals = side_totals.clone();
        let located = bisect::locate(source, target, entity, &side.keys, &mut store_totals)
            .await
            .with_context(|| format!("comparing {name} with the store"))?;
        merge(&mut totals.source, side_totals);
        merge(&mut totals.store, store_totals);
        report.entities.push(EntityCheck {
            entity: name.to_owned(),
            source_count: side.keys.len() as u64,
            store_count: located.store_count,
            differences_found: located.found,
            differences: located.differences,
        });
        report.skipped.extend(side.skipped);
    }
    report.totals = totals;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Every row of `entity`: good rows' keys and checksums, bad rows apart, totals summed.
async fn read_source(source: &dyn Source, entity: Entity, totals: &mut Totals) -> anyhow::Result<SourceSide> {
    let mut side = SourceSide::default();
    let mut from = ScanFrom::default();
    loop {
        let page = source.scan(entity, &from, PAGE).await?;
        // Only an empty page ends the source (see `runner::read_pages`).
        let full = !page.is_empty();
        from.after_key = page.last().map(|r| r.legacy_key().to_owned());
        for row in page {
            match row {
                Row::Good(record) => {
                    fields::apply(totals, &record, true);
                    side.keys
                        .push((record.legacy_key().to_owned(), record.checksum()));
                }
                Row::Bad(bad) => side.skipped.push(bad.into()),
            }
        }
        if !full {
            break;
        }
    }
    // Bisecting relies on the source's order; a source out of order would locate nonsense.
    anyhow::ensure!(
        side.keys.windows(2).all(|w| w[0].0 < w[1].0),
        "the source gave {} keys out of order",
        entity_path_name(entity)
    );
    Ok(side)
}

/// Adds one entity's totals to the store's.
fn merge(into: &mut Totals, part: Totals) {
    for (currency, money) in part.orders {
        let m = into.orders.entry(currency).or_default();
        m.orders += money.orders;
        m.total_minor += money.total_minor;
        m.refunded_minor += money.refunded_minor;
    }
    into.stock_skus += part.stock_skus;
    into.stock_units += part.stock_units;
}

#[cfg(test)]
mod tests;
