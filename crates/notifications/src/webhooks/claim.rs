//! Claiming due deliveries, race-free between replicas: in one write transaction the dispatcher
//! picks due deliveries (the oldest first, skipping stores at their per-store limit in this
//! process), leases them with a guarded update (`next_attempt_at` moves to the lease's end, so
//! a delivery whose sender died becomes due again when the lease lapses), and reads what it needs
//! to send them. On PostgreSQL the picking reads skip rows another replica has locked.
//!
//! When the head of the queue is one store's flood at its limit, a second plan asks each store
//! with due deliveries for its own oldest ones (a loose index scan over the stores), so one
//! store's backlog never hides another store's deliveries.

use super::endpoint_row::status;
use mercato_runtime::db::{Backend, DbError, Param, Tx};
use std::collections::HashMap;

/// Rows read past the free slots before the head of the queue counts as a flood.
const HEAD_MARGIN: usize = 64;

/// A leased delivery and what sending it needs.
#[derive(Clone, Debug)]
pub(crate) struct Claimed {
    pub id: String,
    pub store_id: String,
    pub endpoint_id: String,
    /// The `webhook-id`.
    pub message_id: String,
    pub attempts: i64,
    pub created_at: i64,
    pub manual: bool,
    pub body: String,
    pub url: String,
    pub secret_generation: i64,
    pub secret_sealed: String,
    pub previous_secret_sealed: Option<String>,
    pub previous_secret_expires_at: i64,
    /// The lease's token (`lease_owner`): the results are written only while it holds.
    pub token: String,
}

/// What the limits allow: free slots in the process and, per store, how many more it may send.
pub(crate) struct Room {
    pub slots: usize,
    pub per_store: usize,
    pub busy: HashMap<String, usize>,
}

impl Room {
    fn left(&self, store: &str) -> usize {
        self.per_store
            .saturating_sub(self.busy.get(store).copied().unwrap_or(0))
    }
}

/// Leases up to `room.slots` due deliveries until `until`; returns them.
pub(crate) fn claim(tx: &mut Tx<'_>, room: &Room, now: i64, until: i64) -> Result<Vec<Claimed>, DbError> {
    let picked = pick(tx, room, now)?;
    if picked.is_empty() {
        return Ok(Vec::new());
    }
    let token = uuid::Uuid::now_v7().to_string();
    let list = placeholders(4, picked.len());
    let mut params: Vec<&dyn Param> = vec![&token, &until, &now];
    params.extend(picked.iter().map(|id| id as &dyn Param));
    tx.execute(
        &format!(
            "UPDATE webhook_deliveries SET lease_owner = $1, lease_until = $2, next_attempt_at = $2 \
             WHERE status = 'pending' AND next_attempt_at <= $3 AND id IN ({list})"
        ),
        &params,
    )?;
    let list = placeholders(2, picked.len());
    let mut params: Vec<&dyn Param> = vec![&token];
    params.extend(picked.iter().map(|id| id as &dyn Param));
    type Row = (
        String,
        String,
        String,
        String,
        i64,
        i64,
        bool,
        String,
        Option<String>,
        Option<String>,
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<i64>,
    );
    let rows: Vec<Row> = tx.query_all(
        &format!(
            "SELECT d.id, d.store_id, d.endpoint_id, d.message_id, d.attempts, d.created_at, d.manual, m.body, \
             e.url, e.status, e.secret_generation, e.secret_sealed, e.previous_secret_sealed, \
             e.previous_secret_expires_at \
             FROM webhook_deliveries d JOIN webhook_messages m ON m.id = d.message_id \
             LEFT JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.store_id = d.store_id \
             WHERE d.lease_owner = $1 AND d.id IN ({list})"
        ),
        &params,
    )?;
    let mut claimed = Vec::with_capacity(rows.len());
    let mut gone = Vec::new();
    for r in rows {
        let sendable = match (&r.9, r.6) {
            (Some(s), _) if s == status::ENABLED => true,
            (Some(_), manual) => manual,
            (None, _) => false,
        };
        match (sendable, r.8, r.10, r.11) {
            (true, Some(url), Some(generation), Some(sealed)) => claimed.push(Claimed {
                id: r.0,
                store_id: r.1,
                endpoint_id: r.2,
                message_id: r.3,
                attempts: r.4,
                created_at: r.5,
                manual: r.6,
                body: r.7,
                url,
                secret_generation: generation,
                secret_sealed: sealed,
                previous_secret_sealed: r.12,
                previous_secret_expires_at: r.13.unwrap_or(0),
                token: token.clone(),
            }),
            _ => gone.push(r.0),
        }
    }
    cancel(tx, &gone, now)?;
    Ok(claimed)
}

/// Deliveries whose endpoint was deleted or disabled meanwhile end cancelled.
fn cancel(tx: &mut Tx<'_>, ids: &[String], now: i64) -> Result<(), DbError> {
    if ids.is_empty() {
        return Ok(());
    }
    let list = placeholders(2, ids.len());
    let mut params: Vec<&dyn Param> = vec![&now];
    params.extend(ids.iter().map(|id| id as &dyn Param));
    let n = tx.execute(
        &format!(
            "UPDATE webhook_deliveries SET status = 'cancelled', finished_at = $1, lease_owner = NULL, \
             lease_until = 0 WHERE id IN ({list})"
        ),
        &params,
    )?;
    super::metrics::finished("cancelled", n);
    Ok(())
}

/// `$from, $from+1, …` for `n` parameters.
pub(crate) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// ` FOR UPDATE SKIP LOCKED` on PostgreSQL (another replica's claim in progress is skipped).
fn skip_locked(tx: &Tx<'_>) -> &'static str {
    match tx.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    }
}

/// The ids to lease, at most `room.slots`, oldest first, within each store's room.
fn pick(tx: &mut Tx<'_>, room: &Room, now: i64) -> Result<Vec<String>, DbError> {
    if room.slots == 0 {
        return Ok(Vec::new());
    }
    let head_len = room.slots + HEAD_MARGIN;
    let head: Vec<(String, String)> = tx.query_all(
        &format!(
            "SELECT id, store_id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at LIMIT $2{}",
            skip_locked(tx)
        ),
        &[&now, &i64::try_from(head_len).unwrap_or(i64::MAX)],
    )?;
    let whole_queue = head.len() < head_len;
    let picked = within_room(head, room);
    if picked.len() == room.slots || whole_queue {
        return Ok(picked);
    }
    let mut candidates = Vec::new();
    for store in stores_with_due(tx, now)? {
        let left = room.left(&store);
        if left > 0 {
            candidates.extend(oldest_of_store(tx, &store, left, now)?);
        }
    }
    Ok(within_room(candidates, room))
}

/// The candidates, in order, within the slots and each store's room.
fn within_room(candidates: Vec<(String, String)>, room: &Room) -> Vec<String> {
    let mut taken: HashMap<String, usize> = HashMap::new();
    let mut picked = Vec::new();
    for (id, store) in candidates {
        if picked.len() == room.slots {
            break;
        }
        let n = taken.entry(store.clone()).or_insert(0);
        if *n < room.left(&store) && !picked.contains(&id) {
            *n += 1;
            picked.push(id);
        }
    }
    picked
}

/// Every store with due deliveries, one index probe per store.
fn stores_with_due(tx: &mut Tx<'_>, now: i64) -> Result<Vec<String>, DbError> {
    let rows: Vec<(String,)> = tx.query_all(
        "WITH RECURSIVE stores(store_id) AS ( \
           SELECT (SELECT store_id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1 \
                   ORDER BY store_id LIMIT 1) \
           UNION ALL \
           SELECT (SELECT d.store_id FROM webhook_deliveries d WHERE d.status = 'pending' \
                   AND d.next_attempt_at <= $1 AND d.store_id > stores.store_id ORDER BY d.store_id LIMIT 1) \
           FROM stores WHERE stores.store_id IS NOT NULL) \
         SELECT store_id FROM stores WHERE store_id IS NOT NULL",
        &[&now],
    )?;
    Ok(rows.into_iter().map(|(s,)| s).collect())
}

/// A store's oldest `limit` due deliveries.
fn oldest_of_store(
    tx: &mut Tx<'_>,
    store: &str,
    limit: usize,
    now: i64,
) -> Result<Vec<(String, String)>, DbError> {
    tx.query_all(
        &format!(
            "SELECT id, store_id FROM webhook_deliveries WHERE status = 'pending' AND store_id = $1 \
             AND next_attempt_at <= $2 ORDER BY next_attempt_at LIMIT $3{}",
            skip_locked(tx)
        ),
        &[&store, &now, &i64::try_from(limit).unwrap_or(i64::MAX)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_stores_are_skipped_and_slots_respected() {
        let c = |id: &str, store: &str| (id.to_owned(), store.to_owned());
        let room = Room {
            slots: 3,
            per_store: 2,
            busy: HashMap::from([("A".to_owned(), 2), ("B".to_owned(), 1)]),
        };
        let candidates = vec![
            c("a1", "A"),
            c("b1", "B"),
            c("b2", "B"),
            c("c1", "C"),
            c("c2", "C"),
            c("c3", "C"),
        ];
        assert_eq!(within_room(candidates, &room), ["b1", "c1", "c2"]);
        assert_eq!(placeholders(3, 2), "$3, $4");
    }
}
