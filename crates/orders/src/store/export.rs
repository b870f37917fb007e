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

fn emit<E>(id: &str, store: &str, history: &[OrderEvent], f: &mut Visit<'_, E>) -> Result<(), WalkError<E>> {
    let order = Order::fold(id, store, history)
        .map_err(|e| WalkError::Store(StoreError::Corrupt(format!("order {id}: {e}"))))?;
    match order {
        Some(order) => f(&order, history).map_err(WalkError::Stopped),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MIGRATIONS, seed_orders};
    use mercato_runtime::db::Db;
    use mercato_runtime::testing::Backend;
    use std::sync::mpsc;

    const STORE: &str = "0190f5a0-0000-7000-8000-000000000001";

    async fn seeded(backend: Backend) -> Db {
        let db = backend.database().await;
        db.migrate("orders", MIGRATIONS).await.unwrap();
        seed_orders(&db, STORE, 3, 1_000_000).await.unwrap();
        db
    }

    mercato_runtime::backend_tests! {
        setup: seeded,
        cases: [an_order_changed_during_the_walk_appears_once_as_it_was],
    }

    /// The walk pauses after its first order while another connection appends an event to the
    /// last order and places a new one; the walk then sees neither (one statement, one snapshot).
    async fn an_order_changed_during_the_walk_appears_once_as_it_was(db: Db) {
        let (paused, pause) = (mpsc::channel::<()>(), mpsc::channel::<()>());
        let (paused_tx, paused_rx) = paused;
        let (resume_tx, resume_rx) = pause;
        let reader = db.clone();
        let handle = tokio::runtime::Handle::current();
        let walk = tokio::task::spawn_blocking(move || {
            handle.block_on(reader.read("walk", move |tx| {
                let mut seen: Vec<(String, usize)> = Vec::new();
                let walked = each_order::<()>(tx, STORE, 0, i64::MAX, &mut |order, history| {
                    if seen.is_empty() {
                        paused_tx.send(()).unwrap();
                        resume_rx.recv().unwrap();
                    }
                    seen.push((order.id.clone(), history.len()));
                    Ok(())
                });
                assert!(walked.is_ok());
                Ok::<_, DbError>(seen)
            }))
        });
        tokio::task::spawn_blocking(move || paused_rx.recv().unwrap())
            .await
            .unwrap();
        let (last,): (String,) = db
            .query_one("SELECT id FROM orders ORDER BY created_at DESC LIMIT 1", &[])
            .await
            .unwrap();
        let (placed,): (String,) = db
            .query_one(
                "SELECT data_json FROM order_events WHERE sequence = 1 LIMIT 1",
                &[],
            )
            .await
            .unwrap();
        db.execute(
            "test",
            "INSERT INTO order_events (order_id, store_id, sequence, kind, at_ms, data_json) \
             VALUES ($1, $2, 2, 'placed', 5000000, $3)",
            &[&last, &STORE, &placed],
        )
        .await
        .unwrap();
        seed_orders(&db, STORE, 1, 2_000_000).await.unwrap();
        resume_tx.send(()).unwrap();
        let seen = walk.await.unwrap().unwrap();
        assert_eq!(seen.len(), 3, "the order placed meanwhile is not in it: {seen:?}");
        assert!(
            seen.iter().all(|(_, events)| *events == 1),
            "as of the walk's start: {seen:?}"
        );
        let ids: std::collections::HashSet<_> = seen.iter().map(|(id, _)| id).collect();
        assert_eq!(ids.len(), 3, "each order once");
    }
}
