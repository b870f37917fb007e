//! Which ready jobs of a kind to lease: the oldest first (by `(created_at, id)`) among the
//! stores that run fewer than `per_store` of the kind, so that one store's flood waits behind its
//! own limit while another store's job starts at once.
//!
//! Two plans give the same answer. The common one reads the head of the queue in order (a few
//! rows more than the free slots) and skips the jobs of full stores. When the head is one
//! store's flood, that would read the whole flood, so the second plan asks each store with
//! queued jobs for its own oldest ready ones (a loose index scan over the stores, then one
//! index range per store) and merges them. Both run inside the lease transaction.

use super::KindPolicy;
use super::row::status;
use crate::db::{DbError, Tx};
use std::collections::HashMap;

/// Rows read past the free slots before the head of the queue counts as a flood.
const HEAD_MARGIN: usize = 32;

/// A ready job: its id, store and creation time.
type Candidate = (String, String, i64);

/// The ids to lease, at most `slots`.
pub(crate) fn pick(
    tx: &mut Tx<'_>,
    policy: &KindPolicy,
    slots: usize,
    now: i64,
) -> Result<Vec<String>, DbError> {
    let per_store = i64::try_from(policy.per_store.max(1)).unwrap_or(i64::MAX);
    let room = room_per_store(tx, policy.kind, per_store, now)?;
    // Running jobs whose lease expired (their worker died) are taken over; there are few.
    let expired: Vec<Candidate> = tx.query_all(
        &format!(
            "SELECT id, store_id, created_at FROM jobs WHERE kind = $1 AND status = '{}' AND lease_until < $2",
            status::RUNNING
        ),
        &[&policy.kind, &now],
    )?;
    let head_len = slots + HEAD_MARGIN;
    let head: Vec<Candidate> = tx.query_all(
        &format!(
            "SELECT id, store_id, created_at FROM jobs WHERE kind = $1 AND status = '{}' AND run_after <= $2 \
             ORDER BY created_at, id LIMIT $3",
            status::QUEUED
        ),
        &[&policy.kind, &now, &i64::try_from(head_len).unwrap_or(i64::MAX)],
    )?;
    let whole_queue = head.len() < head_len;
    let picked = oldest_with_room(
        expired.iter().chain(&head).cloned().collect(),
        &room,
        per_store,
        slots,
    );
    if picked.len() == slots || whole_queue {
        return Ok(picked);
    }
    let mut candidates = expired;
    for store in stores_with_queued_jobs(tx, policy.kind)? {
        let left = room.get(&store).copied().unwrap_or(per_store);
        if left > 0 {
            candidates.extend(oldest_of_store(tx, policy.kind, &store, left, now)?);
        }
    }
    Ok(oldest_with_room(candidates, &room, per_store, slots))
}

/// For each store running jobs of the kind (unexpired leases), how many more it may run.
fn room_per_store(
    tx: &mut Tx<'_>,
    kind: &str,
    per_store: i64,
    now: i64,
) -> Result<HashMap<String, i64>, DbError> {
    let running: Vec<(String, i64)> = tx.query_all(
        &format!(
            "SELECT store_id, COUNT(*) FROM jobs WHERE kind = $1 AND status = '{}' \
             AND lease_until >= $2 GROUP BY store_id",
            status::RUNNING
        ),
        &[&kind, &now],
    )?;
    Ok(running
        .into_iter()
        .map(|(store, n)| (store, per_store - n))
        .collect())
}

/// The oldest candidates, skipping those of stores without room, at most `slots`.
fn oldest_with_room(
    mut candidates: Vec<Candidate>,
    room: &HashMap<String, i64>,
    per_store: i64,
    slots: usize,
) -> Vec<String> {
    candidates.sort_by(|a, b| (a.2, &a.0).cmp(&(b.2, &b.0)));
    candidates.dedup_by(|a, b| a.0 == b.0);
    let mut room = room.clone();
    let mut picked = Vec::new();
    for (id, store, _) in candidates {
        if picked.len() == slots {
            break;
        }
        let left = room.entry(store).or_insert(per_store);
        if *left > 0 {
            *left -= 1;
            picked.push(id);
        }
    }
    picked
}

/// Every store with queued jobs of the kind, one index probe per store (a loose index scan).
fn stores_with_queued_jobs(tx: &mut Tx<'_>, kind: &str) -> Result<Vec<String>, DbError> {
    let rows: Vec<(String,)> = tx.query_all(
        &format!(
            "WITH RECURSIVE stores(store_id) AS ( \
               SELECT (SELECT store_id FROM jobs WHERE kind = $1 AND status = '{q}' ORDER BY store_id LIMIT 1) \
               UNION ALL \
               SELECT (SELECT j.store_id FROM jobs j WHERE j.kind = $1 AND j.status = '{q}' \
                       AND j.store_id > stores.store_id ORDER BY j.store_id LIMIT 1) \
               FROM stores WHERE stores.store_id IS NOT NULL) \
             SELECT store_id FROM stores WHERE store_id IS NOT NULL",
            q = status::QUEUED
        ),
        &[&kind],
    )?;
    Ok(rows.into_iter().map(|(s,)| s).collect())
}

/// A store's oldest `limit` ready queued jobs of the kind.
fn oldest_of_store(
    tx: &mut Tx<'_>,
    kind: &str,
    store: &str,
    limit: i64,
    now: i64,
) -> Result<Vec<Candidate>, DbError> {
    tx.query_all(
        &format!(
            "SELECT id, store_id, created_at FROM jobs WHERE kind = $1 AND status = '{}' AND store_id = $2 \
             AND run_after <= $3 ORDER BY created_at, id LIMIT $4",
            status::QUEUED
        ),
        &[&kind, &store, &now, &limit],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, store: &str, at: i64) -> Candidate {
        (id.to_owned(), store.to_owned(), at)
    }

    #[test]
    fn the_oldest_jobs_of_stores_with_room_go_first() {
        let candidates = vec![
            job("a1", "A", 1),
            job("a2", "A", 2),
            job("a3", "A", 3),
            job("b1", "B", 4),
            job("c1", "C", 5),
        ];
        let full = HashMap::from([("C".to_owned(), 0)]);
        assert_eq!(oldest_with_room(candidates.clone(), &full, 1, 10), ["a1", "b1"]);
        assert_eq!(
            oldest_with_room(candidates.clone(), &HashMap::new(), 2, 3),
            ["a1", "a2", "b1"]
        );
        assert_eq!(oldest_with_room(candidates, &HashMap::new(), 2, 1), ["a1"]);
    }
}
