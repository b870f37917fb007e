//! The SQL implementation of [`InventoryStore`], one text for SQLite and PostgreSQL.
//!
//! Concurrency: writes run in `Db::begin_write` transactions (`BEGIN IMMEDIATE` on SQLite, so
//! writers queue; row locks on PostgreSQL). On PostgreSQL a reservation first locks every stock
//! row it might take from, in (SKU, location) order, then reads them: what it reads cannot
//! change before it commits, and two reservations never wait on each other in a cycle. Every
//! change is still a guarded `UPDATE` whose affected-row count is checked, so stock never goes
//! negative even if a lock were missed.

use super::{InventoryStore, Reserved, StoreError, Transitioned};
use crate::domain::reservation::decide;
use crate::domain::validate::NewReservation;
use crate::domain::{
    Action, Decision, LineRecord, Location, ReservationId, ReservationRecord, Sku, Status, StockChange,
    StockLevel, allocation, stock,
};
use crate::events;
use mercato_runtime::db::{Db, is_unique_violation};
use mercato_runtime::ids::StoreId;
use mercato_runtime::outbox;
use sqlx::AnyConnection;

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

async fn load_level(
    conn: &mut AnyConnection,
    store: &StoreId,
    sku: &str,
    location: &str,
) -> Result<Option<StockLevel>, StoreError> {
    let row: Option<LevelRow> = sqlx::query_as(
        "SELECT sku, location, on_hand, reserved, low_stock_threshold, version
         FROM stock WHERE store_id = $1 AND sku = $2 AND location = $3",
    )
    .bind(store.to_string())
    .bind(sku)
    .bind(location)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(level))
}

async fn levels(conn: &mut AnyConnection, store: &StoreId, sku: &str) -> Result<Vec<StockLevel>, StoreError> {
    let sql = format!("SELECT {LEVEL_COLUMNS} FROM stock WHERE store_id = $1 AND sku = $2 ORDER BY location");
    let rows: Vec<LevelRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(store.to_string())
        .bind(sku)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().map(level).collect())
}

/// Takes the row lock of one stock row without changing it (a no-op on SQLite, whose write
/// transaction already excludes every other writer). Returns whether the row exists.
async fn lock_level(
    conn: &mut AnyConnection,
    store: &StoreId,
    sku: &str,
    location: &str,
) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE stock SET version = version WHERE store_id = $1 AND sku = $2 AND location = $3")
            .bind(store.to_string())
            .bind(sku)
            .bind(location)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Adds the deltas to one stock row if the result keeps `0 <= reserved <= on_hand <= max`;
/// returns the row before and after.
async fn move_stock(
    conn: &mut AnyConnection,
    store: &StoreId,
    sku: &str,
    location: &str,
    (on_hand_delta, reserved_delta): (i64, i64),
    now_ms: i64,
) -> Result<(StockLevel, StockLevel), StoreError> {
    let done = sqlx::query(
        "UPDATE stock SET on_hand = on_hand + $4, reserved = reserved + $5, version = version + 1,
                updated_at = $6
         WHERE store_id = $1 AND sku = $2 AND location = $3
           AND reserved + $5 >= 0 AND on_hand + $4 >= reserved + $5 AND on_hand + $4 <= $7",
    )
    .bind(store.to_string())
    .bind(sku)
    .bind(location)
    .bind(on_hand_delta)
    .bind(reserved_delta)
    .bind(now_ms)
    .bind(stock::MAX_ON_HAND)
    .execute(&mut *conn)
    .await?;
    let guard = || StoreError::Guard {
        sku: sku.to_owned(),
        location: location.to_owned(),
    };
    if done.rows_affected() != 1 {
        return Err(guard());
    }
    let after = load_level(conn, store, sku, location).await?.ok_or_else(guard)?;
    let before = StockLevel {
        on_hand: after.on_hand - on_hand_delta,
        reserved: after.reserved - reserved_delta,
        version: after.version - 1,
        ..after.clone()
    };
    Ok((before, after))
}

/// `stock_changed` for a changed row, and `low_stock` when the change crossed the threshold.
async fn append_stock_events(
    conn: &mut AnyConnection,
    store: &StoreId,
    before: Option<&StockLevel>,
    after: &StockLevel,
) -> Result<(), StoreError> {
    outbox::append(conn, &events::stock_changed(store, after)).await?;
    if stock::crossed_low(before, after) {
        outbox::append(conn, &events::low_stock(store, after)).await?;
    }
    Ok(())
}

async fn load_reservation(
    conn: &mut AnyConnection,
    store: &StoreId,
    id: &ReservationId,
) -> Result<Option<ReservationRecord>, StoreError> {
    let row: Option<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT status, expires_at, created_at, updated_at FROM reservations
         WHERE store_id = $1 AND id = $2",
    )
    .bind(store.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    let Some((status, expires_at_ms, created_at_ms, updated_at_ms)) = row else {
        return Ok(None);
    };
    let status = Status::parse(&status)
        .ok_or_else(|| StoreError::Corrupt(format!("reservation status {status:?}")))?;
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT sku, location, quantity FROM reservation_lines
         WHERE store_id = $1 AND reservation_id = $2",
    )
    .bind(store.to_string())
    .bind(id.to_string())
    .fetch_all(&mut *conn)
    .await?;
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
        let mut conn = self.db.pool().acquire().await?;
        levels(&mut conn, store, sku.as_str()).await
    }

    async fn write_stock(
        &self,
        store: &StoreId,
        sku: &Sku,
        location: &Location,
        change: StockChange,
        now_ms: i64,
    ) -> Result<StockLevel, StoreError> {
        let (sku, location) = (sku.as_str(), location.as_str());
        let mut tx = self.db.begin_write().await?;
        lock_level(&mut tx, store, sku, location).await?;
        let before = load_level(&mut tx, store, sku, location).await?;
        let after = stock::apply(before.as_ref(), sku, location, change)?;
        match &before {
            None => {
                sqlx::query(
                    "INSERT INTO stock (store_id, sku, location, on_hand, reserved, low_stock_threshold,
                                        version, updated_at)
                     VALUES ($1, $2, $3, $4, 0, $5, $6, $7)",
                )
                .bind(store.to_string())
                .bind(sku)
                .bind(location)
                .bind(after.on_hand)
                .bind(after.low_stock_threshold)
                .bind(after.version)
                .bind(now_ms)
                .execute(&mut *tx)
                .await
                // Another writer created the row first: read it again and retry.
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Stale
                    } else {
                        e.into()
                    }
                })?;
            }
            Some(b) => {
                let done = sqlx::query(
                    "UPDATE stock SET on_hand = $4, low_stock_threshold = $5, version = $6, updated_at = $7
                     WHERE store_id = $1 AND sku = $2 AND location = $3 AND version = $8 AND reserved <= $4",
                )
                .bind(store.to_string())
                .bind(sku)
                .bind(location)
                .bind(after.on_hand)
                .bind(after.low_stock_threshold)
                .bind(after.version)
                .bind(now_ms)
                .bind(b.version)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::Stale);
                }
            }
        }
        append_stock_events(&mut tx, store, before.as_ref(), &after).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn reservation(
        &self,
        store: &StoreId,
        id: &ReservationId,
    ) -> Result<Option<ReservationRecord>, StoreError> {
        let mut conn = self.db.pool().acquire().await?;
        load_reservation(&mut conn, store, id).await
    }

    async fn reserve(&self, r: &NewReservation, now_ms: i64) -> Result<Reserved, StoreError> {
        let store = &r.store;
        let mut tx = self.db.begin_write().await?;
        if let Some(existing) = load_reservation(&mut tx, store, &r.id).await? {
            return Ok(Reserved::Existing(existing));
        }
        let expires_at_ms = now_ms + r.ttl_ms;
        let inserted = sqlx::query(
            "INSERT INTO reservations (store_id, id, status, expires_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(store.to_string())
        .bind(r.id.to_string())
        .bind(Status::Held.as_str())
        .bind(expires_at_ms)
        .bind(now_ms)
        .execute(&mut *tx)
        .await;
        if let Err(e) = inserted {
            if !is_unique_violation(&e) {
                return Err(e.into());
            }
            // The same id is being reserved concurrently and won: answer with its result.
            drop(tx);
            return match self.reservation(store, &r.id).await? {
                Some(existing) => Ok(Reserved::Existing(existing)),
                None => Err(StoreError::Stale),
            };
        }

        // Lock every location of every SKU asked for, in (SKU, location) order, then read them.
        let mut candidates = Vec::new();
        for (sku, _) in &r.lines {
            let mut locations: Vec<(String,)> =
                sqlx::query_as("SELECT location FROM stock WHERE store_id = $1 AND sku = $2")
                    .bind(store.to_string())
                    .bind(sku.as_str())
                    .fetch_all(&mut *tx)
                    .await?;
            locations.sort();
            for (location,) in &locations {
                lock_level(&mut tx, store, sku.as_str(), location).await?;
            }
            candidates.extend(levels(&mut tx, store, sku.as_str()).await?);
        }
        // Dropping the transaction on any error below rolls everything back: all lines or none.
        let parts = allocation::allocate(&r.lines, &candidates).map_err(StoreError::Insufficient)?;
        for part in &parts {
            let (before, after) = move_stock(
                &mut tx,
                store,
                &part.sku,
                &part.location,
                (0, part.quantity),
                now_ms,
            )
            .await
            .map_err(|e| match e {
                // The lock should make this impossible; if it happens, re-read and retry.
                StoreError::Guard { .. } => StoreError::Stale,
                e => e,
            })?;
            append_stock_events(&mut tx, store, Some(&before), &after).await?;
            sqlx::query(
                "INSERT INTO reservation_lines (store_id, reservation_id, sku, location, quantity)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(store.to_string())
            .bind(r.id.to_string())
            .bind(&part.sku)
            .bind(&part.location)
            .bind(part.quantity)
            .execute(&mut *tx)
            .await?;
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
        outbox::append(&mut tx, &events::reservation_changed(None, &record)).await?;
        tx.commit().await?;
        Ok(Reserved::Held(record))
    }

    async fn transition(
        &self,
        store: &StoreId,
        id: &ReservationId,
        action: Action,
        now_ms: i64,
    ) -> Result<Transitioned, StoreError> {
        let mut tx = self.db.begin_write().await?;
        let mut record = load_reservation(&mut tx, store, id)
            .await?
            .ok_or(StoreError::NotFound)?;
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
        let moved = sqlx::query(
            "UPDATE reservations SET status = $3, updated_at = $4
             WHERE store_id = $1 AND id = $2 AND status = $5",
        )
        .bind(store.to_string())
        .bind(id.to_string())
        .bind(next.as_str())
        .bind(now_ms)
        .bind(record.status.as_str())
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        for line in &record.lines {
            let effect = action.stock_effect(line.quantity);
            let (before, after) =
                move_stock(&mut tx, store, &line.sku, &line.location, effect, now_ms).await?;
            append_stock_events(&mut tx, store, Some(&before), &after).await?;
        }
        record.status = next;
        record.updated_at_ms = now_ms;
        outbox::append(&mut tx, &events::reservation_changed(Some(action), &record)).await?;
        tx.commit().await?;
        Ok(Transitioned::Applied(record))
    }

    async fn due_reservations(
        &self,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<(StoreId, ReservationId)>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT store_id, id FROM reservations WHERE status = $1 AND expires_at <= $2
             ORDER BY expires_at, id LIMIT $3",
        )
        .bind(Status::Held.as_str())
        .bind(now_ms)
        .bind(limit)
        .fetch_all(self.db.pool())
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
