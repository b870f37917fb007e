//! The SQL implementation of [`InventoryStore`], one text for SQLite and PostgreSQL.
//!
//! Concurrency: each write is one `Db::write` closure, run as one transaction that reads, decides
//! and writes (on SQLite by the single writer thread, so writers queue and queued ones commit
//! together; row locks on PostgreSQL). On PostgreSQL a reservation first locks every stock row
//! it might take from, in (SKU, location) order, then reads them: what it reads cannot change
//! before it commits, and two reservations never wait on each other in a cycle. Every change is
//! still a guarded `UPDATE` whose affected-row count is checked, so stock never goes negative
//! even if a lock were missed.

use super::{InventoryStore, Reserved, StoreError, Transitioned};
use crate::domain::reservation::decide;
use crate::domain::validate::NewReservation;
use crate::domain::{
    Action, Decision, LineRecord, Location, ReservationId, ReservationRecord, Sku, Status, StockChange,
    StockLevel, allocation, stock,
};
use crate::events;
use mercato_runtime::db::{Db, DbError, Tx};
use mercato_runtime::ids::StoreId;
use mercato_runtime::outbox;

/// The inventory's tables in a [`Db`].
#[derive(Clone)]
pub struct SqlInventoryStore {
    db: Db,
}

impl SqlInventoryStore {
    pub fn new(db: Db) -> Self {
        SqlInventoryStore { db }
    }
}

type LevelRow = (String, String, i64, i64, i64, i64);

const LEVEL_COLUMNS: &str = "sku, location, on_hand, reserved, low_stock_threshold, version";

fn level(row: LevelRow) -> StockLevel {
    let (sku, location, on_hand, reserved, low_stock_threshold, version) = row;
    StockLevel {
        sku,
        location,
        on_hand,
        reserved,
        low_stock_threshold,
        version,
    }
}

/// Why a reservation's transaction was rolled back.
enum ReserveFailure {
    /// A reservation with the same id was inserted concurrently, and won.
    Taken,
    Store(StoreError),
}

impl From<StoreError> for ReserveFailure {
    fn from(e: StoreError) -> Self {
        ReserveFailure::Store(e)
    }
}

impl From<DbError> for ReserveFailure {
    fn from(e: DbError) -> Self {
        ReserveFailure::Store(e.into())
    }
}

fn load_level(
    tx: &mut Tx<'_>,
    store: &StoreId,
    sku: &str,
    location: &str,
) -> Result<Option<StockLevel>, StoreError> {
    let row: Option<LevelRow> = tx.query_opt(
        "SELECT sku, location, on_hand, reserved, low_stock_threshold, version
         FROM stock WHERE store_id = $1 AND sku = $2 AND location = $3",
        &[store, &sku, &location],
    )?;
    Ok(row.map(level))
}

/// Every location's row of one SKU, by location.
fn levels_sql() -> String {
    format!("SELECT {LEVEL_COLUMNS} FROM stock WHERE store_id = $1 AND sku = $2 ORDER BY location")
}

fn levels(tx: &mut Tx<'_>, store: &StoreId, sku: &str) -> Result<Vec<StockLevel>, StoreError> {
    let rows: Vec<LevelRow> = tx.query_all(&levels_sql(), &[store, &sku])?;
    Ok(rows.into_iter().map(level).collect())
}

/// Takes the row lock of one stock row without changing it (a no-op on SQLite, whose single
/// writer thread already excludes every other writer). Returns whether the row exists.
fn lock_level(tx: &mut Tx<'_>, store: &StoreId, sku: &str, location: &str) -> Result<bool, StoreError> {
    let done = tx.execute(
        "UPDATE stock SET version = version WHERE store_id = $1 AND sku = $2 AND location = $3",
        &[store, &sku, &location],
    )?;
    Ok(done == 1)
}

/// Adds the deltas to one stock row if the result keeps `0 <= reserved <= on_hand <= max`;
/// returns the row before and after.
fn move_stock(
    tx: &mut Tx<'_>,
    store: &StoreId,
    sku: &str,
    location: &str,
    (on_hand_delta, reserved_delta): (i64, i64),
    now_ms: i64,
) -> Result<(StockLevel, StockLevel), StoreError> {
    let done = tx.execute(
        "UPDATE stock SET on_hand = on_hand + $4, reserved = reserved + $5, version = version + 1,
                updated_at = $6
         WHERE store_id = $1 AND sku = $2 AND location = $3
           AND reserved + $5 >= 0 AND on_hand + $4 >= reserved + $5 AND on_hand + $4 <= $7",
        &[
            store,
            &sku,
            &location,
            &on_hand_delta,
            &reserved_delta,
            &now_ms,
            &stock::MAX_ON_HAND,
        ],
    )?;
    let guard = || StoreError::Guard {
        sku: sku.to_owned(),
        location: location.to_owned(),
    };
    if done != 1 {
        return Err(guard());
    }
    let after = load_level(tx, store, sku, location)?.ok_or_else(guard)?;
    let before = StockLevel {
        on_hand: after.on_hand - on_hand_delta,
        reserved: after.reserved - reserved_delta,
        version: after.version - 1,
        ..after.clone()
    };
    Ok((before, after))
}

/// `stock_changed` for a changed row, and `low_stock` when the change crossed the threshold.
fn append_stock_events(
    tx: &mut Tx<'_>,
    store: &StoreId,
    before: Option<&StockLevel>,
    after: &StockLevel,
) -> Result<(), StoreError> {
    outbox::append(tx, &events::stock_changed(store, after))?;
    if stock::crossed_low(before, after) {
        outbox::append(tx, &events::low_stock(store, after))?;
    }
    Ok(())
}

fn load_reservation(
    tx: &mut Tx<'_>,
    store: &StoreId,
    id: &ReservationId,
) -> Result<Option<ReservationRecord>, StoreError> {
    let row: Option<(String, i64, i64, i64)> = tx.query_opt(
        "SELECT status, expires_at, created_at, updated_at FROM reservations
         WHERE store_id = $1 AND id = $2",
        &[store, id],
    )?;
    let Some((status, expires_at_ms, created_at_ms, updated_at_ms)) = row else {
        return Ok(None);
    };
    let status = Status::parse(&status)
        .ok_or_else(|| StoreError::Corrupt(format!("reservation status {status:?}")))?;
    let rows: Vec<(String, String, i64)> = tx.query_all(
        "SELECT sku, location, quantity FROM reservation_lines
         WHERE store_id = $1 AND reservation_id = $2",
        &[store, id],
    )?;
    let mut lines: Vec<LineRecord> = rows
        .into_iter()
        .map(|(sku, location, quantity)| LineRecord {
            sku,
            location,
            quantity,
        })
        .collect();
    lines.sort();
    Ok(Some(ReservationRecord {
        id: *id,
        store_id: *store,
        status,
        lines,
        expires_at_ms,
        created_at_ms,
        updated_at_ms,
    }))
}

#[async_trait::async_trait]
impl InventoryStore for SqlInventoryStore {
    async fn ping(&self) -> bool {
        self.db.ping().await
    }

    async fn stock(&self, store: &StoreId, sku: &Sku) -> Result<Vec<StockLevel>, StoreError> {
        let rows: Vec<LevelRow> = self.db.query_all(&levels_sql(), &[store, &sku.as_str()]).await?;
        Ok(rows.into_iter().map(level).collect())
    }

    async fn write_stock(
        &self,
        store: &StoreId,
        sku: &Sku,
        location: &Location,
        change: StockChange,
        now_ms: i64,
    ) -> Result<StockLevel, StoreError> {
        let store = *store;
        let (sku, location) = (sku.as_str().to_owned(), location.as_str().to_owned());
        self.db
            .write("write_stock", move |tx| {
                let (store, sku, location) = (&store, sku.as_str(), location.as_str());
                lock_level(tx, store, sku, location)?;
                let before = load_level(tx, store, sku, location)?;
                let after = stock::apply(before.as_ref(), sku, location, change)?;
                match &before {
                    None => {
                        tx.execute(
                            "INSERT INTO stock (store_id, sku, location, on_hand, reserved, low_stock_threshold,
                                                version, updated_at)
                             VALUES ($1, $2, $3, $4, 0, $5, $6, $7)",
                            &[
                                store,
                                &sku,
                                &location,
                                &after.on_hand,
                                &after.low_stock_threshold,
                                &after.version,
                                &now_ms,
                            ],
                        )
                        // Another writer created the row first: read it again and retry.
                        .map_err(|e| {
                            if e.is_unique_violation() {
                                StoreError::Stale
                            } else {
                                e.into()
                            }
                        })?;
                    }
                    Some(b) => {
                        let done = tx.execute(
                            "UPDATE stock SET on_hand = $4, low_stock_threshold = $5, version = $6, updated_at = $7
                             WHERE store_id = $1 AND sku = $2 AND location = $3 AND version = $8 AND reserved <= $4",
                            &[
                                store,
                                &sku,
                                &location,
                                &after.on_hand,
                                &after.low_stock_threshold,
                                &after.version,
                                &now_ms,
                                &b.version,
                            ],
                        )?;
                        if done != 1 {
                            return Err(StoreError::Stale);
                        }
                    }
                }
                append_stock_events(tx, store, before.as_ref(), &after)?;
                Ok(after)
            })
            .await
    }

    async fn reservation(
        &self,
        store: &StoreId,
        id: &ReservationId,
    ) -> Result<Option<ReservationRecord>, StoreError> {
        let (store, id) = (*store, *id);
        self.db
            .read("reservation", move |tx| load_reservation(tx, &store, &id))
            .await
    }

    async fn reserve(&self, r: &NewReservation, now_ms: i64) -> Result<Reserved, StoreError> {
        let request = r.clone();
        let written = self
            .db
            .write("reserve", move |tx| {
                let r = &request;
                let store = &r.store;
                if let Some(existing) = load_reservation(tx, store, &r.id)? {
                    return Ok(Reserved::Existing(existing));
                }
                let expires_at_ms = now_ms + r.ttl_ms;
                let inserted = tx.execute(
                    "INSERT INTO reservations (store_id, id, status, expires_at, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $5)",
                    &[store, &r.id, &Status::Held.as_str(), &expires_at_ms, &now_ms],
                );
                if let Err(e) = inserted {
                    if !e.is_unique_violation() {
                        return Err(e.into());
                    }
                    // The same id is being reserved concurrently and won: roll back, then answer
                    // with its result (below, outside this transaction).
                    return Err(ReserveFailure::Taken);
                }

                // Lock every location of every SKU asked for, in (SKU, location) order, then read them.
                let mut candidates = Vec::new();
                for (sku, _) in &r.lines {
                    let mut locations: Vec<(String,)> = tx.query_all(
                        "SELECT location FROM stock WHERE store_id = $1 AND sku = $2",
                        &[store, &sku.as_str()],
                    )?;
                    locations.sort();
                    for (location,) in &locations {
                        lock_level(tx, store, sku.as_str(), location)?;
                    }
                    candidates.extend(levels(tx, store, sku.as_str())?);
                }
                // Returning an error below rolls everything back: all lines or none.
                let parts = allocation::allocate(&r.lines, &candidates).map_err(StoreError::Insufficient)?;
                for part in &parts {
                    let (before, after) =
                        move_stock(tx, store, &part.sku, &part.location, (0, part.quantity), now_ms)
                            .map_err(|e| match e {
                                // The lock should make this impossible; if it happens, re-read and retry.
                                StoreError::Guard { .. } => StoreError::Stale,
                                e => e,
                            })?;
                    append_stock_events(tx, store, Some(&before), &after)?;
                    tx.execute(
                        "INSERT INTO reservation_lines (store_id, reservation_id, sku, location, quantity)
                         VALUES ($1, $2, $3, $4, $5)",
                        &[store, &r.id, &part.sku, &part.location, &part.quantity],
                    )?;
                }
                let record = ReservationRecord {
                    id: r.id,
                    store_id: *store,
                    status: Status::Held,
                    lines: parts,
                    expires_at_ms,
                    created_at_ms: now_ms,
                    updated_at_ms: now_ms,
                };
                outbox::append(tx, &events::reservation_changed(None, &record))?;
                Ok(Reserved::Held(record))
            })
            .await;
        match written {
            Ok(reserved) => Ok(reserved),
            Err(ReserveFailure::Store(e)) => Err(e),
            Err(ReserveFailure::Taken) => match self.reservation(&r.store, &r.id).await? {
                Some(existing) => Ok(Reserved::Existing(existing)),
                None => Err(StoreError::Stale),
            },
        }
    }

    async fn transition(
        &self,
        store: &StoreId,
        id: &ReservationId,
        action: Action,
        now_ms: i64,
    ) -> Result<Transitioned, StoreError> {
        let (store, id) = (*store, *id);
        self.db
            .write("transition", move |tx| {
                let (store, id) = (&store, &id);
                let mut record = load_reservation(tx, store, id)?.ok_or(StoreError::NotFound)?;
                let next = match decide(record.status, action) {
                    Decision::Apply(next) => next,
                    Decision::Unchanged => return Ok(Transitioned::Unchanged(record)),
                    Decision::Refuse => {
                        return Err(StoreError::Refused {
                            status: record.status,
                            action,
                        });
                    }
                };
                if action == Action::Expire && record.expires_at_ms > now_ms {
                    return Ok(Transitioned::Unchanged(record));
                }
                // Only the transaction that moves the reservation out of its current state may change
                // the stock: a concurrent mover (another replica's sweeper, a commit racing a release)
                // finds no row here and retries from a fresh read.
                let moved = tx.execute(
                    "UPDATE reservations SET status = $3, updated_at = $4
                     WHERE store_id = $1 AND id = $2 AND status = $5",
                    &[store, id, &next.as_str(), &now_ms, &record.status.as_str()],
                )?;
                if moved != 1 {
                    return Err(StoreError::Stale);
                }
                for line in &record.lines {
                    let effect = action.stock_effect(line.quantity);
                    let (before, after) = move_stock(tx, store, &line.sku, &line.location, effect, now_ms)?;
                    append_stock_events(tx, store, Some(&before), &after)?;
                }
                record.status = next;
                record.updated_at_ms = now_ms;
                outbox::append(tx, &events::reservation_changed(Some(action), &record))?;
                Ok(Transitioned::Applied(record))
            })
            .await
    }

    async fn due_reservations(
        &self,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<(StoreId, ReservationId)>, StoreError> {
        let rows: Vec<(String, String)> = self
            .db
            .query_all(
                "SELECT store_id, id FROM reservations WHERE status = $1 AND expires_at <= $2
                 ORDER BY expires_at, id LIMIT $3",
                &[&Status::Held.as_str(), &now_ms, &limit],
            )
            .await?;
        rows.into_iter()
            .map(|(store, id)| {
                let store = store
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("store id {store:?}")))?;
                let id = id
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("reservation id {id:?}")))?;
                Ok((store, id))
            })
            .collect()
    }
}
