//! The orders export's read: a store's orders created in a range with their whole histories, in
//! one statement (one snapshot on both engines: the file is as of one moment) streamed row by
//! row in `(created_at, id, sequence)` order and folded order by order, so memory holds one
//! order at a time however many there are.

use super::StoreError;
use super::rows::event;
use crate::domain::{Order, OrderEvent};
use mercato_runtime::db::{DbError, FromRow, Param, Tx};

const HISTORIES: &str = "SELECT o.id, e.sequence, e.at_ms, e.data_json FROM orders o
    JOIN order_events e ON e.store_id = o.store_id AND e.order_id = o.id
    WHERE o.store_id = $1 AND o.created_at >= $2 AND o.created_at < $3
    ORDER BY o.created_at, o.id, e.sequence";
const COUNT: &str =
    "SELECT COUNT(*) FROM orders WHERE store_id = $1 AND created_at >= $2 AND created_at < $3";

/// What is called with each order and its history.
pub type Visit<'a, E> = dyn FnMut(&Order, &[OrderEvent]) -> Result<(), E> + 'a;

/// Why the walk stopped early: the callback's error, or the store's.
#[derive(Debug)]
pub enum WalkError<E> {
    Store(StoreError),
    Stopped(E),
}

impl<E> From<DbError> for WalkError<E> {
    fn from(e: DbError) -> Self {
        WalkError::Store(StoreError::Db(e))
    }
}

/// How many orders the range holds (for progress; a separate statement, so an estimate).
pub fn count(tx: &mut Tx<'_>, store: &str, from_ms: i64, to_ms: i64) -> Result<i64, DbError> {
    let (n,): (i64,) = tx.query_one(COUNT, &[&store, &from_ms, &to_ms])?;
    Ok(n)
}

/// Calls `f` with each order of the range, oldest first, and its events.
pub fn each_order<E>(
    tx: &mut Tx<'_>,
    store: &str,
    from_ms: i64,
    to_ms: i64,
    f: &mut Visit<'_, E>,
) -> Result<(), WalkError<E>> {
    let mut current: Option<String> = None;
    let mut history: Vec<OrderEvent> = Vec::new();
    let mut failure: Option<WalkError<E>> = None;
    let params: [&dyn Param; 3] = [&store, &from_ms, &to_ms];
    tx.each_row(HISTORIES, &params, &mut |row| {
        let (id, sequence, at_ms, data) = <(String, i64, i64, String)>::from_row(row)?;
        if current.as_deref() != Some(id.as_str()) {
            if let Some(done) = current.replace(id)
                && let Err(e) = emit(&done, store, &history, f)
            {
                failure = Some(e);
                return Ok(false);
            }
            history.clear();
        }
        match event(sequence, at_ms, &data) {
            Ok(e) => history.push(e),
            Err(e) => {
                failure = Some(WalkError::Store(e));
                return Ok(false);
            }
        }
        Ok(true)
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    match current {
        Some(last) => emit(&last, store, &history, f),
        None => Ok(()),
    }
}

fn emit<E>(
    id: &str,
    store: &str,
    history: &[OrderEvent],
    f: &mut Visit<'_, E>,
) -> Result<(), WalkError<E>> {
    let order = Order::fold(id, store, history)
        .map_err(|e| WalkError::Store(StoreError::Corrupt(format!("order {id}: {e}"))))?;
    match order {
        Some(order) => f(&order, history).map_err(WalkError::Stopped),
        None => Ok(()),
    }
}
