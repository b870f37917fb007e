//! [`StockImportStore`] in portable SQL (SQLite and PostgreSQL alike).
//!
//! A batch is one transaction: two reads up front (the batch's default-location rows, locked in
//! SKU order, and which SKUs this source imported before), then per changed level one guarded
//! write of the stock row and one upsert of its `imported_stock` row, and the batch's events in
//! one outbox insert at the end. An unchanged level writes nothing but a newer source time.

use super::StoreError;
use super::imports::{Progress, StockImportStore, StockWritten};
use super::sql::{
    LEVEL_COLUMNS, LevelRow, SqlInventoryStore, insert_level, level, stock_events, update_level,
};
use crate::domain::Location;
use crate::domain::stock::{self, StockChange, StockLevel};
use mercato_proto::imports::ImportedStock;
use mercato_runtime::db::{Param, Tx};
use mercato_runtime::ids::StoreId;
use mercato_runtime::outbox;
use std::collections::HashMap;

/// `$first, $first+1, …` for `n` parameters.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The batch's rows at the default location, by SKU, locked in SKU order.
fn default_levels(
    tx: &mut Tx<'_>,
    store: &StoreId,
    skus: &[&str],
) -> Result<HashMap<String, StockLevel>, StoreError> {
    let mut params: Vec<&dyn Param> = vec![store, &Location::DEFAULT];
    params.extend(skus.iter().map(|s| s as &dyn Param));
    let sql = format!(
        "SELECT {LEVEL_COLUMNS} FROM stock WHERE store_id = $1 AND location = $2 AND sku IN ({}) \
         ORDER BY sku{}",
        placeholders(3, skus.len()),
        tx.lock_rows()
    );
    let rows: Vec<LevelRow> = tx.query_all(&sql, &params)?;
    Ok(rows.into_iter().map(|r| (r.0.clone(), level(r))).collect())
}

/// The source modification time of each SKU of the batch this source imported before.
fn imported_before(
    tx: &mut Tx<'_>,
    store: &StoreId,
    source: &str,
    skus: &[&str],
) -> Result<HashMap<String, i64>, StoreError> {
    let mut params: Vec<&dyn Param> = vec![store, &source];
    params.extend(skus.iter().map(|s| s as &dyn Param));
    let sql = format!(
        "SELECT sku, modified_at FROM imported_stock WHERE store_id = $1 AND source = $2 AND sku IN ({})",
        placeholders(3, skus.len())
    );
    let rows: Vec<(String, i64)> = tx.query_all(&sql, &params)?;
    Ok(rows.into_iter().collect())
}

fn record_import(
    tx: &mut Tx<'_>,
    store: &StoreId,
    source: &str,
    s: &ImportedStock,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO imported_stock (store_id, source, sku, modified_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (store_id, source, sku) DO UPDATE SET modified_at = excluded.modified_at",
        &[store, &source, &s.sku, &s.modified_at_ms],
    )?;
    Ok(())
}

/// The whole batch, in one transaction.
fn write_batch(
    tx: &mut Tx<'_>,
    store: &StoreId,
    source: &str,
    batch: &[ImportedStock],
    now_ms: i64,
) -> Result<Vec<StockWritten>, StoreError> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let skus: Vec<&str> = batch.iter().map(|s| s.sku.as_str()).collect();
    let mut levels = default_levels(tx, store, &skus)?;
    let known = imported_before(tx, store, source, &skus)?;
    let mut events = Vec::new();
    let mut written = Vec::with_capacity(batch.len());
    for s in batch {
        let before = levels.get(&s.sku);
        let same = before.is_some_and(|b| b.on_hand == s.on_hand);
        if same && let Some(modified) = known.get(&s.sku) {
            if *modified != s.modified_at_ms {
                record_import(tx, store, source, s)?;
            }
            written.push(StockWritten::Unchanged);
            continue;
        }
        if !same {
            let change = StockChange::Set {
                on_hand: s.on_hand,
                threshold: None,
            };
            let after = match stock::apply(before, &s.sku, Location::DEFAULT, change) {
                Ok(after) => after,
                Err(refusal) => {
                    written.push(StockWritten::Rejected(refusal.to_string()));
                    continue;
                }
            };
            match before {
                None => insert_level(tx, store, &after, now_ms)?,
                Some(b) => update_level(tx, store, &after, b.version, now_ms)?,
            }
            events.extend(stock_events(store, before, &after));
            levels.insert(s.sku.clone(), after);
        }
        record_import(tx, store, source, s)?;
        written.push(if known.contains_key(&s.sku) {
            StockWritten::Updated
        } else {
            StockWritten::Created
        });
    }
    outbox::append_all(tx, &events)?;
    Ok(written)
}

#[async_trait::async_trait]
impl StockImportStore for SqlInventoryStore {
    async fn import_stock(
        &self,
        store: StoreId,
        source: &str,
        levels: Vec<ImportedStock>,
        now_ms: i64,
    ) -> Result<Vec<StockWritten>, StoreError> {
        let source = source.to_owned();
        self.db
            .write("import_stock", move |tx| {
                write_batch(tx, &store, &source, &levels, now_ms)
            })
            .await
    }

    async fn imported_stock(
        &self,
        store: StoreId,
        source: &str,
        from_key: &str,
        to_key: &str,
        limit: Option<u32>,
    ) -> Result<Vec<ImportedStock>, StoreError> {
        let limit = i64::from(limit.unwrap_or(u32::MAX));
        let rows: Vec<(String, i64, i64)> = self
            .db
            .query_all(
                "SELECT i.sku, COALESCE(s.on_hand, 0), i.modified_at FROM imported_stock i \
                 LEFT JOIN stock s ON s.store_id = i.store_id AND s.sku = i.sku AND s.location = $5 \
                 WHERE i.store_id = $1 AND i.source = $2 AND i.sku >= $3 AND ($4 = '' OR i.sku < $4) \
                 ORDER BY i.sku LIMIT $6",
                &[&store, &source, &from_key, &to_key, &Location::DEFAULT, &limit],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(sku, on_hand, modified_at_ms)| ImportedStock {
                sku,
                on_hand,
                modified_at_ms,
            })
            .collect())
    }

    async fn stock_import_progress(&self, store: StoreId, source: &str) -> Result<Progress, StoreError> {
        let (count, last_key, last_modified): (i64, Option<String>, Option<i64>) = self
            .db
            .query_one(
                "SELECT COUNT(*), MAX(sku), MAX(modified_at) FROM imported_stock \
                 WHERE store_id = $1 AND source = $2",
                &[&store, &source],
            )
            .await?;
        Ok(Progress {
            count: u64::try_from(count).unwrap_or(0),
            last_key: last_key.unwrap_or_default(),
            last_modified_ms: last_modified.unwrap_or(0),
        })
    }
}
