//! The SQL of legacy imports (ADR 0016): the `imported_records` table (legacy key → id), and the
//! batched reads and writes an import of up to 1,000 records runs inside one transaction.
//!
//! Every function takes the caller's [`Tx`], so a batch's reads, decisions and writes are one
//! transaction; reads and writes of many rows are one statement per chunk of rows, never one per
//! record (`IN (…)` lists and multi-row `INSERT … ON CONFLICT`).

use super::StoreError;
pub use super::imports_batch::*;
use super::sql::placeholders;
use mercato_runtime::db::{Param, Tx};
use mercato_runtime::ids::StoreId;

/// Rows per multi-row statement. Small on purpose: SQLite treats `$n` placeholders as names and
/// looks each up in a list while parsing, so a statement costs the square of its placeholders.
pub(super) const CHUNK: usize = 100;

/// One row of `imported_records`: a legacy record and the id it got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRow {
    pub legacy_key: String,
    pub target_id: String,
    /// When the source last changed it (0 when unknown).
    pub modified_at_ms: i64,
    /// What the catalog's own tables do not hold (JSON; empty for categories).
    pub details: String,
}

/// Which of the store's imported records: one source and entity, keys in `[from, to)` (an
/// empty `to` has no upper bound).
#[derive(Clone, Copy, Debug)]
pub struct KeySpan<'a> {
    pub source: &'a str,
    /// `imports::entity_name`: `category` or `product`.
    pub entity: &'a str,
    pub from: &'a str,
    pub to: &'a str,
}

type ImportTuple = (String, String, i64, String);

fn import_row((legacy_key, target_id, modified_at_ms, details): ImportTuple) -> ImportRow {
    ImportRow {
        legacy_key,
        target_id,
        modified_at_ms,
        details,
    }
}

/// The table an entity's records live in, joined to check they still exist.
fn table_of(entity: &str) -> &'static str {
    if entity == "category" {
        "categories"
    } else {
        "products"
    }
}

/// Up to `limit` import rows of a span whose record still exists, in key order.
/// `after`: the last key of the previous page, which this page starts after (keyset paging).
pub fn rows_in_span(
    tx: &mut Tx<'_>,
    store: &StoreId,
    span: KeySpan<'_>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<ImportRow>, StoreError> {
    let (start, from) = match after {
        Some(last) => (">", last),
        None => (">=", span.from),
    };
    let sql = format!(
        "SELECT r.legacy_key, r.target_id, r.modified_at, r.details FROM imported_records r
         JOIN {} t ON t.store_id = r.store_id AND t.id = r.target_id
         WHERE r.store_id = $1 AND r.source = $2 AND r.entity = $3 AND r.legacy_key {start} $4
           AND ($5 = '' OR r.legacy_key < $5)
         ORDER BY r.legacy_key LIMIT $6",
        table_of(span.entity)
    );
    let rows: Vec<ImportTuple> = tx.query_all(
        &sql,
        &[store, &span.source, &span.entity, &from, &span.to, &limit],
    )?;
    Ok(rows.into_iter().map(import_row).collect())
}

/// How many records of a span still exist, the greatest key and the newest source change.
pub fn span_summary(
    tx: &mut Tx<'_>,
    store: &StoreId,
    span: KeySpan<'_>,
) -> Result<(u64, String, i64), StoreError> {
    let sql = format!(
        "SELECT COUNT(*), MAX(r.legacy_key), MAX(r.modified_at) FROM imported_records r
         JOIN {} t ON t.store_id = r.store_id AND t.id = r.target_id
         WHERE r.store_id = $1 AND r.source = $2 AND r.entity = $3 AND r.legacy_key >= $4
           AND ($5 = '' OR r.legacy_key < $5)",
        table_of(span.entity)
    );
    let (count, last, newest): (i64, Option<String>, Option<i64>) =
        tx.query_one(&sql, &[store, &span.source, &span.entity, &span.from, &span.to])?;
    Ok((
        u64::try_from(count).unwrap_or(0),
        last.unwrap_or_default(),
        newest.unwrap_or(0),
    ))
}

/// The import rows (of any entity of `source`) whose record has one of `targets`' ids.
pub fn rows_by_target(
    tx: &mut Tx<'_>,
    store: &StoreId,
    source: &str,
    entity: &str,
    targets: &[String],
) -> Result<Vec<ImportRow>, StoreError> {
    let mut found = Vec::new();
    for chunk in targets.chunks(CHUNK) {
        let sql = format!(
            "SELECT legacy_key, target_id, modified_at, details FROM imported_records
             WHERE store_id = $1 AND source = $2 AND entity = $3 AND target_id IN ({})",
            placeholders(4, chunk.len())
        );
        let mut params: Vec<&dyn Param> = vec![store, &source, &entity];
        params.extend(chunk.iter().map(|t| t as &dyn Param));
        let rows: Vec<ImportTuple> = tx.query_all(&sql, &params)?;
        found.extend(rows.into_iter().map(import_row));
    }
    Ok(found)
}

/// Inserts or replaces import rows.
pub fn upsert_rows(
    tx: &mut Tx<'_>,
    store: &StoreId,
    source: &str,
    entity: &str,
    rows: &[ImportRow],
) -> Result<(), StoreError> {
    for chunk in rows.chunks(CHUNK) {
        let values = value_lists(7, chunk.len());
        let sql = format!(
            "INSERT INTO imported_records (store_id, source, entity, legacy_key, target_id, modified_at, details)
             VALUES {values}
             ON CONFLICT (store_id, source, entity, legacy_key) DO UPDATE SET
               target_id = excluded.target_id, modified_at = excluded.modified_at, details = excluded.details"
        );
        let mut params: Vec<&dyn Param> = Vec::with_capacity(7 * chunk.len());
        for r in chunk {
            params.extend([
                store as &dyn Param,
                &source,
                &entity,
                &r.legacy_key,
                &r.target_id,
                &r.modified_at_ms,
                &r.details,
            ]);
        }
        tx.execute(&sql, &params)?;
    }
    Ok(())
}

/// `($1, …, $n), ($n+1, …)`: `rows` value lists of `width` placeholders.
pub(super) fn value_lists(width: usize, rows: usize) -> String {
    (0..rows)
        .map(|i| format!("({})", placeholders(i * width + 1, width)))
        .collect::<Vec<_>>()
        .join(", ")
}
