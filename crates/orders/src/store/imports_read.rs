//! Imported orders read back by legacy key (ADR 0016): each order folded from its whole history
//! (so what reconciliation compares is what is stored, whatever happened since), a page of a
//! key range at a time with two statements (the page's keys, then their events), and how far
//! a store's import of a source got.

use super::StoreError;
use super::imports::SqlImportsStore;
use super::rows::event;
use crate::domain::{Order, OrderEvent};
use mercato_runtime::db::{Param, Tx};
use mercato_runtime::ids::StoreId;

/// An imported order and its legacy key.
pub struct ImportedRead {
    pub key: String,
    pub order: Order,
}

/// Where a page starts: at `key` (inclusive), or just after it.
pub struct Start {
    pub key: String,
    pub inclusive: bool,
}

/// How far a store's import of a source got.
pub struct Progress {
    pub count: u64,
    pub last_key: String,
    pub last_modified_ms: i64,
}

const JOINED: &str = "SELECT i.legacy_key, i.order_id, e.sequence, e.at_ms, e.data_json
     FROM imported_orders i
     JOIN order_events e ON e.store_id = i.store_id AND e.order_id = i.order_id
     WHERE i.store_id = $1 AND i.source = $2";

type JoinedRow = (String, String, i64, i64, String);

/// Folds rows ordered by legacy key and sequence, one order per run of its rows.
fn folded(store: &StoreId, rows: Vec<JoinedRow>) -> Result<Vec<ImportedRead>, StoreError> {
    let mut read = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while let Some((key, id, sequence, at_ms, data)) = rows.next() {
        let mut history: Vec<OrderEvent> = vec![event(sequence, at_ms, &data)?];
        while let Some((.., sequence, at_ms, data)) = rows.next_if(|(next, ..)| *next == key) {
            history.push(event(sequence, at_ms, &data)?);
        }
        let order = Order::fold(&id, &store.to_string(), &history)
            .map_err(|e| StoreError::Corrupt(format!("order {id}: {e}")))?;
        read.extend(order.map(|order| ImportedRead { key, order }));
    }
    Ok(read)
}

/// The imported orders of these legacy keys (those that exist), inside a transaction.
pub(super) fn histories_of_keys(
    tx: &mut Tx<'_>,
    store: &StoreId,
    source: &str,
    keys: &[String],
) -> Result<Vec<ImportedRead>, StoreError> {
    let mut read = Vec::new();
    for chunk in keys.chunks(500) {
        let list = (0..chunk.len())
            .map(|i| format!("${}", i + 3))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("{JOINED} AND i.legacy_key IN ({list}) ORDER BY i.legacy_key, e.sequence");
        let mut params: Vec<&dyn Param> = vec![store, &source];
        params.extend(chunk.iter().map(|k| k as &dyn Param));
        let rows: Vec<JoinedRow> = tx.query_all(&sql, &params)?;
        read.extend(folded(store, rows)?);
    }
    Ok(read)
}

/// `AND legacy_key < $4` when the range has an upper bound.
fn below(column: &str, to_key: &str) -> String {
    if to_key.is_empty() {
        String::new()
    } else {
        format!(" AND {column} < $4")
    }
}

impl SqlImportsStore {
    /// Up to `limit` imported orders from `start` up to `to_key` (exclusive; empty: no bound),
    /// in legacy-key order.
    pub async fn page(
        &self,
        store: &StoreId,
        source: &str,
        start: Start,
        to_key: &str,
        limit: i64,
    ) -> Result<Vec<ImportedRead>, StoreError> {
        let (store, source, to_key) = (*store, source.to_owned(), to_key.to_owned());
        self.db
            .read("imported_orders_page", move |tx| {
                let op = if start.inclusive { ">=" } else { ">" };
                let sql = format!(
                    "SELECT legacy_key FROM imported_orders WHERE store_id = $1 AND source = $2
                     AND legacy_key {op} $3{} ORDER BY legacy_key LIMIT {limit}",
                    below("legacy_key", &to_key)
                );
                let mut params: Vec<&dyn Param> = vec![&store, &source, &start.key];
                if !to_key.is_empty() {
                    params.push(&to_key);
                }
                let keys: Vec<(String,)> = tx.query_all(&sql, &params)?;
                let Some((last,)) = keys.last() else {
                    return Ok(Vec::new());
                };
                let sql = format!(
                    "{JOINED} AND i.legacy_key {op} $3 AND i.legacy_key <= $4 ORDER BY i.legacy_key, e.sequence"
                );
                let rows: Vec<JoinedRow> = tx.query_all(&sql, &[&store, &source, &start.key, last])?;
                folded(&store, rows)
            })
            .await
    }

    /// How many imported orders lie in `[from_key, to_key)`.
    pub async fn count(
        &self,
        store: &StoreId,
        source: &str,
        from_key: &str,
        to_key: &str,
    ) -> Result<u64, StoreError> {
        let sql = format!(
            "SELECT COUNT(*) FROM imported_orders WHERE store_id = $1 AND source = $2 AND legacy_key >= $3{}",
            below("legacy_key", to_key)
        );
        let mut params: Vec<&dyn Param> = vec![store, &source, &from_key];
        if !to_key.is_empty() {
            params.push(&to_key);
        }
        let (count,): (i64,) = self.db.query_one(&sql, &params).await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// How far the store's import of `source` got.
    pub async fn progress(&self, store: &StoreId, source: &str) -> Result<Progress, StoreError> {
        let (count, last_key, last_modified_ms): (i64, String, i64) = self
            .db
            .query_one(
                "SELECT COUNT(*), COALESCE(MAX(legacy_key), ''), COALESCE(MAX(modified_at), 0)
                 FROM imported_orders WHERE store_id = $1 AND source = $2",
                &[store, &source],
            )
            .await?;
        Ok(Progress {
            count: u64::try_from(count).unwrap_or(0),
            last_key,
            last_modified_ms,
        })
    }
}
