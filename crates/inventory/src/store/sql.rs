//! The SQL implementation of [`InventoryStore`], one text for SQLite and PostgreSQL.
//!
//! Concurrency: each write is one `Db::write` closure, run as one transaction that reads, decides
//! and writes (on SQLite there is one writer at a time, so nothing changes under it; row locks
//! on PostgreSQL). On PostgreSQL a reservation reads every stock row it might take from with
//! `FOR UPDATE`, in (SKU, location) order: what it reads cannot change before it commits, and
//! two reservations never wait on each other in a cycle. Every change is still a guarded
//! `UPDATE` whose affected-row count is checked, so stock never goes negative even if a lock
//! were missed.
//!
//! Statements per use case are kept few (they are what a checkout costs here): stock rows come
//! back from their `UPDATE … RETURNING`, a reservation's lines are one multi-row `INSERT`, and a
//! transaction's events are one outbox `INSERT`.

use super::{InventoryStore, Refusal, Reserved, StoreError, Transitioned};
use crate::domain::reservation::decide;
use crate::domain::{
    Action, Decision, LineRecord, Location, NewReservation, ReservationId, ReservationRecord, Sku, Status,
    StockChange, StockLevel, allocation, stock,
};
use crate::events;
use mercato_proto::events::EventEnvelope;
use mercato_runtime::db::{Db, Param, Tx};
use mercato_runtime::ids::StoreId;
use mercato_runtime::outbox;

/// The inventory's tables in a [`Db`].
#[derive(Clone)]
pub struct SqlInventoryStore {
    pub(super) db: Db,
}

impl SqlInventoryStore {
    pub fn new(db: Db) -> Self {
        SqlInventoryStore { db }
    }
}

pub(super) type LevelRow = (String, String, i64, i64, i64, i64);

pub(super) const LEVEL_COLUMNS: &str = "sku, location, on_hand, reserved, low_stock_threshold, version";

pub(super) fn level(row: LevelRow) -> StockLevel {
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

/// One stock row, locked for the rest of the transaction (see [`Tx::lock_rows`]).
fn load_level_for_update(
    tx: &mut Tx<'_>,
    store: &StoreId,
    sku: &str,
    location: &str,
) -> Result<Option<StockLevel>, StoreError> {
    let sql = format!(
        "SELECT {LEVEL_COLUMNS} FROM stock WHERE store_id = $1 AND sku = $2 AND location = $3{}",
        tx.lock_rows()
    );
    let row: Option<LevelRow> = tx.query_opt(&sql, &[store, &sku, &location])?;
    Ok(row.map(level))
}

/// Every location's row of one SKU, by location.
fn levels_sql() -> String {
    format!("SELECT {LEVEL_COLUMNS} FROM stock WHERE store_id = $1 AND sku = $2 ORDER BY location")
}

/// Every location's row of one SKU, locked in location order (see [`Tx::lock_rows`]).
fn levels_for_update(tx: &mut Tx<'_>, store: &StoreId, sku: &str) -> Result<Vec<StockLevel>, StoreError> {
    let sql = format!("{}{}", levels_sql(), tx.lock_rows());
    let rows: Vec<LevelRow> = tx.query_all(&sql, &[store, &sku])?;
    Ok(rows.into_iter().map(level).collect())
}

/// Adds the deltas to one stock row if the result keeps `0 <= reserved <= on_hand <= max`;
/// returns the row before and after (the `UPDATE` returns the row as it left it).
fn move_stock(
    tx: &mut Tx<'_>,
    store: &StoreId,
    sku: &str,
    location: &str,
    (on_hand_delta, reserved_delta): (i64, i64),
    now_ms: i64,
) -> Result<(StockLevel, StockLevel), StoreError> {
    let sql = format!(
        "UPDATE stock SET on_hand = on_hand + $4, reserved = reserved + $5, version = version + 1,
                updated_at = $6
         WHERE store_id = $1 AND sku = $2 AND location = $3
           AND reserved + $5 >= 0 AND on_hand + $4 >= reserved + $5 AND on_hand + $4 <= $7
         RETURNING {LEVEL_COLUMNS}"
    );
    let row: Option<LevelRow> = tx.query_opt(
        &sql,
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
    let after = level(row.ok_or_else(|| {
        StoreError::Refused(Refusal::Guard {
            sku: sku.to_owned(),
            location: location.to_owned(),
        })
    })?);
    let before = StockLevel {
        on_hand: after.on_hand - on_hand_delta,
        reserved: after.reserved - reserved_delta,
        version: after.version - 1,
        ..after.clone()
    };
    Ok((before, after))
}

/// `stock_changed` for a changed row, and `low_stock` when the change crossed the threshold.
pub(super) fn stock_events(
    store: &StoreId,
    before: Option<&StockLevel>,
    after: &StockLevel,
) -> Vec<EventEnvelope> {
    let mut out = vec![events::stock_changed(store, after)];
    if stock::crossed_low(before, after) {
        out.push(events::low_stock(store, after));
    }
    out
}

/// A reservation with its lines, in one statement.
fn load_reservation(
    tx: &mut Tx<'_>,
    store: &StoreId,
    id: &ReservationId,
) -> Result<Option<ReservationRecord>, StoreError> {
    type Row = (String, i64, i64, i64, Option<String>, Option<String>, Option<i64>);
    let rows: Vec<Row> = tx.query_all(
        "SELECT r.status, r.expires_at, r.created_at, r.updated_at, l.sku, l.location, l.quantity
         FROM reservations r
         LEFT JOIN reservation_lines l ON l.store_id = r.store_id AND l.reservation_id = r.id
         WHERE r.store_id = $1 AND r.id = $2",
        &[store, id],
    )?;
    let Some((status, expires_at_ms, created_at_ms, updated_at_ms, ..)) = rows.first().cloned() else {
        return Ok(None);
    };
    let status = Status::parse(&status)
        .ok_or_else(|| StoreError::Corrupt(format!("reservation status {status:?}")))?;
    let mut lines: Vec<LineRecord> = rows
        .into_iter()
        .filter_map(|(.., sku, location, quantity)| {
            Some(LineRecord {
                sku: sku?,
                location: location?,
                quantity: quantity?,
            })
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

/// The lines of a new reservation, in one statement.
fn insert_lines(
    tx: &mut Tx<'_>,
    store: &StoreId,
    id: &ReservationId,
    lines: &[LineRecord],
) -> Result<(), StoreError> {
    if lines.is_empty() {
        return Ok(());
    }
    let rows = (0..lines.len())
        .map(|i| format!("($1, $2, ${}, ${}, ${})", 3 * i + 3, 3 * i + 4, 3 * i + 5))
        .collect::<Vec<_>>()
        .join(", ");
    let mut params: Vec<&dyn Param> = vec![store, id];
    for line in lines {
        params.extend([&line.sku as &dyn Param, &line.location, &line.quantity]);
    }
    tx.execute(
        &format!(
            "INSERT INTO reservation_lines (store_id, reservation_id, sku, location, quantity) VALUES {rows}"
        ),
        &params,
    )?;
    Ok(())
}

/// Creates a stock row, nothing reserved; [`StoreError::Stale`] if another writer created it
/// first (the caller reads it again and retries).
pub(super) fn insert_level(
    tx: &mut Tx<'_>,
    store: &StoreId,
    after: &StockLevel,
    now_ms: i64,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO stock (store_id, sku, location, on_hand, reserved, low_stock_threshold,
                            version, updated_at)
         VALUES ($1, $2, $3, $4, 0, $5, $6, $7)",
        &[
            store,
            &after.sku,
            &after.location,
            &after.on_hand,
            &after.low_stock_threshold,
            &after.version,
            &now_ms,
        ],
    )
    .map_err(|e| {
        if e.is_unique_violation() {
            StoreError::Stale
        } else {
            e.into()
        }
    })?;
    Ok(())
}

/// Rewrites a stock row if it is still at `expected_version` and holds no more reserved than
/// the new on-hand; [`StoreError::Stale`] otherwise.
pub(super) fn update_level(
    tx: &mut Tx<'_>,
    store: &StoreId,
    after: &StockLevel,
    expected_version: i64,
    now_ms: i64,
) -> Result<(), StoreError> {
    let done = tx.execute(
        "UPDATE stock SET on_hand = $4, low_stock_threshold = $5, version = $6, updated_at = $7
         WHERE store_id = $1 AND sku = $2 AND location = $3 AND version = $8 AND reserved <= $4",
        &[
            store,
            &after.sku,
            &after.location,
            &after.on_hand,
            &after.low_stock_threshold,
            &after.version,
            &now_ms,
            &expected_version,
        ],
    )?;
    if done != 1 {
        return Err(StoreError::Stale);
    }
    Ok(())
}

/// Records a keyed adjustment before it is made. `None` when the key is new (the caller goes on
/// and makes the change, which commits with this record); the level as it is now when the same
/// adjustment was made before; [`Refusal::KeyReused`] when the key names another one.
fn replayed_adjustment(
    tx: &mut Tx<'_>,
    store: &StoreId,
    key: &str,
    sku: &str,
    location: &str,
    change: StockChange,
    now_ms: i64,
) -> Result<Option<StockLevel>, StoreError> {
    let StockChange::Adjust { delta } = change else {
        return Ok(None);
    };
    let recorded = tx.execute(
        "INSERT INTO stock_adjustments (store_id, idem_key, sku, location, delta, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (store_id, idem_key) DO NOTHING",
        &[store, &key, &sku, &location, &delta, &now_ms],
    )?;
    if recorded == 1 {
        return Ok(None);
    }
    let earlier: Option<(String, String, i64)> = tx.query_opt(
        "SELECT sku, location, delta FROM stock_adjustments WHERE store_id = $1 AND idem_key = $2",
        &[store, &key],
    )?;
    if earlier != Some((sku.to_owned(), location.to_owned(), delta)) {
        return Err(StoreError::Refused(Refusal::KeyReused));
    }
    let level = load_level_for_update(tx, store, sku, location)?;
    Ok(Some(level.unwrap_or_else(|| StockLevel::empty(sku, location))))
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
        key: Option<&str>,
        now_ms: i64,
    ) -> Result<StockLevel, StoreError> {
        let store = *store;
        let (sku, location) = (sku.as_str().to_owned(), location.as_str().to_owned());
        let key = key.map(str::to_owned);
        self.db
            .write("write_stock", move |tx| {
                let (store, sku, location) = (&store, sku.as_str(), location.as_str());
                if let Some(key) = &key
                    && let Some(level) = replayed_adjustment(tx, store, key, sku, location, change, now_ms)?
                {
                    return Ok(level);
                }
                let before = load_level_for_update(tx, store, sku, location)?;
                let after = stock::apply(before.as_ref(), sku, location, change)?;
                match &before {
                    None => insert_level(tx, store, &after, now_ms)?,
                    Some(b) => update_level(tx, store, &after, b.version, now_ms)?,
                }
                outbox::append_all(tx, &stock_events(store, before.as_ref(), &after))?;
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
        self.db
            .write("reserve", move |tx| {
                let r = &request;
                let store = &r.store;
                let expires_at_ms = now_ms + r.ttl_ms;
                // A repeated request (a saga resuming) finds its id taken and answers with what
                // was reserved the first time; on PostgreSQL a concurrent twin waits here for the
                // first to commit or roll back.
                let inserted = tx.execute(
                    "INSERT INTO reservations (store_id, id, status, expires_at, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $5)
                     ON CONFLICT (store_id, id) DO NOTHING",
                    &[store, &r.id, &Status::Held.as_str(), &expires_at_ms, &now_ms],
                )?;
                if inserted == 0 {
                    return load_reservation(tx, store, &r.id)?
                        .map(Reserved::Existing)
                        .ok_or(StoreError::Stale);
                }

                // Read (and on PostgreSQL lock) every location of every SKU asked for, in (SKU,
                // location) order.
                let mut candidates = Vec::new();
                for (sku, _) in &r.lines {
                    candidates.extend(levels_for_update(tx, store, sku.as_str())?);
                }
                // Returning an error below rolls everything back: all lines or none.
                let parts = allocation::allocate(&r.lines, &candidates)
                    .map_err(|short| StoreError::Refused(Refusal::Insufficient(short)))?;
                let mut events = Vec::with_capacity(parts.len() + 1);
                for part in &parts {
                    let (before, after) =
                        move_stock(tx, store, &part.sku, &part.location, (0, part.quantity), now_ms)
                            .map_err(|e| match e {
                                // The lock should make this impossible; if it happens, re-read and retry.
                                StoreError::Refused(Refusal::Guard { .. }) => StoreError::Stale,
                                e => e,
                            })?;
                    events.extend(stock_events(store, Some(&before), &after));
                }
                insert_lines(tx, store, &r.id, &parts)?;
                let record = ReservationRecord {
                    id: r.id,
                    store_id: *store,
                    status: Status::Held,
                    lines: parts,
                    expires_at_ms,
                    created_at_ms: now_ms,
                    updated_at_ms: now_ms,
                };
                events.push(events::reservation_changed(None, &record));
                outbox::append_all(tx, &events)?;
                Ok(Reserved::Held(record))
            })
            .await
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
                let mut record =
                    load_reservation(tx, store, id)?.ok_or(StoreError::Refused(Refusal::NotFound))?;
                let next = match decide(record.status, action) {
                    Decision::Apply(next) => next,
                    Decision::Unchanged => return Ok(Transitioned::Unchanged(record)),
                    Decision::Refuse => {
                        return Err(StoreError::Refused(Refusal::Transition {
                            status: record.status,
                            action,
                        }));
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
                let mut events = Vec::with_capacity(record.lines.len() + 1);
                for line in &record.lines {
                    let effect = action.stock_effect(line.quantity);
                    let (before, after) = move_stock(tx, store, &line.sku, &line.location, effect, now_ms)?;
                    events.extend(stock_events(store, Some(&before), &after));
                }
                record.status = next;
                record.updated_at_ms = now_ms;
                events.push(events::reservation_changed(Some(action), &record));
                outbox::append_all(tx, &events)?;
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
