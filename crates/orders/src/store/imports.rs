//! Imported orders' storage (ADR 0016): a batch upserted in one transaction with a few
//! multi-row statements whatever its size, and the imported orders of a legacy-key range read
//! back as their histories (`imports_read.rs`). `imported_orders` maps (store, source, legacy
//! key) to the order; the order itself is its history like any other (`order_events`, one
//! `imported` event per change of the source's order) and its row in `orders`.

use super::StoreError;
use super::imports_read::histories_of_keys;
use crate::domain::imported::LegacyOrder;
use crate::domain::{EventData, Order, OrderEvent};
use crate::events::ORDER_IMPORTED;
use mercato_proto::events::EventEnvelope;
use mercato_proto::imports::{Entity, Outcome, RecordOutcome};
use mercato_runtime::db::{Db, Param, Tx};
use mercato_runtime::ids::StoreId;
use mercato_runtime::imports::{Canonical, target_id};
use mercato_runtime::outbox;
use std::collections::{HashMap, HashSet};

/// Rows per multi-row statement (well under SQLite's and PostgreSQL's parameter limits).
const ROWS_PER_STATEMENT: usize = 250;

/// One record of a batch as the service prepared it.
pub enum Prepared {
    /// Refused before storage (a bad value); `reason` names the field.
    Refused { legacy_key: String, reason: String },
    /// Checked: the snapshot its `imported` event would carry.
    Ready(Box<LegacyOrder>),
}

/// A batch of one store's orders from one source.
pub struct ImportBatch {
    pub store: StoreId,
    pub source: String,
    pub now_ms: i64,
    pub records: Vec<Prepared>,
}

/// Imported orders' storage, on the orders database.
#[derive(Clone)]
pub struct SqlImportsStore {
    pub(super) db: Db,
}

impl SqlImportsStore {
    pub fn new(db: Db) -> Self {
        SqlImportsStore { db }
    }

    /// Upserts the batch in one transaction; one outcome per record, in order.
    pub async fn import(&self, batch: ImportBatch) -> Result<Vec<RecordOutcome>, StoreError> {
        self.db
            .write("import_orders", move |tx| import_in(tx, &batch))
            .await
    }
}

fn outcome(legacy_key: &str, outcome: Outcome, reason: &str, target_id: &str) -> RecordOutcome {
    RecordOutcome {
        legacy_key: legacy_key.to_owned(),
        outcome: outcome as i32,
        reason: reason.to_owned(),
        target_id: target_id.to_owned(),
    }
}

fn rejected(legacy_key: &str, reason: impl Into<String>) -> RecordOutcome {
    outcome(legacy_key, Outcome::Rejected, &reason.into(), "")
}

/// What the batch writes, gathered while its records are decided.
#[derive(Default)]
struct Writes {
    created: Vec<Order>,
    changed: Vec<Order>,
    events: Vec<(String, OrderEvent)>,
    outbox: Vec<EventEnvelope>,
}

/// What a batch already finds stored: its records' orders (by legacy key) and the orders that
/// hold its numbers (number → order id).
struct Found {
    existing: HashMap<String, Order>,
    numbers: HashMap<i64, String>,
}

fn import_in(tx: &mut Tx<'_>, batch: &ImportBatch) -> Result<Vec<RecordOutcome>, StoreError> {
    let ready: Vec<&LegacyOrder> = batch
        .records
        .iter()
        .filter_map(|r| match r {
            Prepared::Ready(l) => Some(&**l),
            Prepared::Refused { .. } => None,
        })
        .collect();
    // The counter first: its row stays locked until commit, so a checkout meanwhile waits and
    // then numbers past this batch, and every order numbered before is seen below.
    if let Some(greatest) = ready.iter().map(|l| l.number).max() {
        raise_counter(tx, &batch.store, greatest)?;
    }
    let keys: Vec<String> = ready.iter().map(|l| l.origin.legacy_key.clone()).collect();
    let found = Found {
        existing: histories_of_keys(tx, &batch.store, &batch.source, &keys)?
            .into_iter()
            .map(|o| (o.key, o.order))
            .collect(),
        numbers: numbers_taken(tx, &batch.store, &ready)?,
    };
    let mut decider = Decider {
        batch,
        found: &found,
        keys: HashSet::new(),
        numbers: HashMap::new(),
        writes: Writes::default(),
    };
    let outcomes = batch.records.iter().map(|r| decider.decide(r)).collect();
    write_all(tx, batch, &decider.writes)?;
    Ok(outcomes)
}

struct Decider<'a> {
    batch: &'a ImportBatch,
    found: &'a Found,
    keys: HashSet<&'a str>,
    numbers: HashMap<i64, &'a str>,
    writes: Writes,
}

impl<'a> Decider<'a> {
    fn decide(&mut self, record: &'a Prepared) -> RecordOutcome {
        let legacy = match record {
            Prepared::Refused { legacy_key, reason } => return rejected(legacy_key, reason.as_str()),
            Prepared::Ready(l) => &**l,
        };
        let key = legacy.origin.legacy_key.as_str();
        let store = self.batch.store.to_string();
        let id = target_id(&store, &self.batch.source, Entity::Order, key).to_string();
        if !self.keys.insert(key) {
            return rejected(key, "legacy_key appears twice in the batch");
        }
        if self
            .found
            .numbers
            .get(&legacy.number)
            .is_some_and(|holder| *holder != id)
        {
            return rejected(key, format!("number {} is taken by another order", legacy.number));
        }
        if let Some(first) = self.numbers.insert(legacy.number, key) {
            return rejected(
                key,
                format!("number {} is also given to {first} in the batch", legacy.number),
            );
        }
        match self.found.existing.get(key) {
            Some(order) => self.update(order, legacy, &id),
            None => self.create(legacy, &store, &id),
        }
    }

    fn create(&mut self, legacy: &LegacyOrder, store: &str, id: &str) -> RecordOutcome {
        let key = &legacy.origin.legacy_key;
        let first = OrderEvent {
            sequence: 1,
            at_ms: legacy.created_at_ms,
            data: EventData::Imported(Box::new(legacy.clone())),
        };
        let mut order = Order {
            id: id.to_owned(),
            store_id: store.to_owned(),
            ..Order::default()
        };
        if let Err(e) = order.apply(&first) {
            return rejected(key, e.to_string());
        }
        self.record(order, first, true);
        outcome(key, Outcome::Created, "", id)
    }

    fn update(&mut self, stored: &Order, legacy: &LegacyOrder, id: &str) -> RecordOutcome {
        let key = &legacy.origin.legacy_key;
        let now_as_stored = stored
            .as_legacy()
            .map(|l| crate::import_records::record_of(&l).canonical());
        if now_as_stored == Some(crate::import_records::record_of(legacy).canonical()) {
            return outcome(key, Outcome::Unchanged, "", id);
        }
        if !stored.settled() {
            return rejected(
                key,
                "the order has a cancellation or refund in progress; import it again later",
            );
        }
        let changed_at = if legacy.origin.modified_at_ms > 0 {
            legacy.origin.modified_at_ms
        } else {
            self.batch.now_ms
        };
        let next = OrderEvent {
            sequence: stored.version + 1,
            at_ms: changed_at.max(stored.updated_at_ms),
            data: EventData::Imported(Box::new(legacy.clone())),
        };
        let mut order = stored.clone();
        if let Err(e) = order.apply(&next) {
            return rejected(key, e.to_string());
        }
        self.record(order, next, false);
        outcome(key, Outcome::Updated, "", id)
    }

    fn record(&mut self, order: Order, event: OrderEvent, created: bool) {
        self.writes
            .outbox
            .push(crate::events::order_changed(ORDER_IMPORTED, &order));
        self.writes.events.push((order.id.clone(), event));
        if created {
            self.writes.created.push(order);
        } else {
            self.writes.changed.push(order);
        }
    }
}

/// Moves the store's order counter to at least `greatest` (and at least 1000, so a store's
/// own numbering still starts at 1001), never back.
fn raise_counter(tx: &mut Tx<'_>, store: &StoreId, greatest: i64) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO order_numbers (store_id, last_number) VALUES ($1, $2)
         ON CONFLICT (store_id) DO UPDATE SET last_number = CASE
           WHEN order_numbers.last_number < excluded.last_number THEN excluded.last_number
           ELSE order_numbers.last_number END",
        &[store, &greatest.max(1000)],
    )?;
    Ok(())
}

/// The orders of the store holding any of the batch's numbers (number → order id).
fn numbers_taken(
    tx: &mut Tx<'_>,
    store: &StoreId,
    ready: &[&LegacyOrder],
) -> Result<HashMap<i64, String>, StoreError> {
    let mut numbers: Vec<i64> = ready.iter().map(|l| l.number).collect();
    numbers.sort_unstable();
    numbers.dedup();
    let mut taken = HashMap::new();
    for chunk in numbers.chunks(ROWS_PER_STATEMENT * 4) {
        let list = (0..chunk.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let mut params: Vec<&dyn Param> = vec![store];
        params.extend(chunk.iter().map(|n| n as &dyn Param));
        let rows: Vec<(i64, String)> = tx.query_all(
            &format!("SELECT number, id FROM orders WHERE store_id = $1 AND number IN ({list})"),
            &params,
        )?;
        taken.extend(rows);
    }
    Ok(taken)
}

/// `(a, b, …)` placeholders for `rows` rows of `width` values each, after `shared` shared ones.
fn placeholders(rows: usize, width: usize, shared: usize, fixed: &str) -> String {
    (0..rows)
        .map(|r| {
            let values = (0..width).map(|c| format!("${}", shared + r * width + c + 1));
            let mut all: Vec<String> = (1..=shared).map(|s| format!("${s}")).collect();
            all.extend(values);
            if !fixed.is_empty() {
                all.push(fixed.to_owned());
            }
            format!("({})", all.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn write_all(tx: &mut Tx<'_>, batch: &ImportBatch, w: &Writes) -> Result<(), StoreError> {
    insert_orders(tx, &batch.store, &w.created)?;
    for order in &w.changed {
        tx.execute(
            "UPDATE orders SET customer_id = $3, status = $4, updated_at = $5, number = $6, email = $7
             WHERE store_id = $1 AND id = $2",
            &[
                &batch.store,
                &order.id,
                &order.customer_id,
                &order.status.as_str(),
                &order.updated_at_ms,
                &order.number,
                &order.email,
            ],
        )?;
    }
    insert_events(tx, &batch.store, &w.events)?;
    let index: Vec<&Order> = w.created.iter().chain(&w.changed).collect();
    upsert_index(tx, batch, &index)?;
    for chunk in w.outbox.chunks(ROWS_PER_STATEMENT * 4) {
        outbox::append_all(tx, chunk)?;
    }
    Ok(())
}

fn insert_orders(tx: &mut Tx<'_>, store: &StoreId, orders: &[Order]) -> Result<(), StoreError> {
    for chunk in orders.chunks(ROWS_PER_STATEMENT) {
        let values = placeholders(chunk.len(), 8, 1, "'', 'done', '', 0");
        let sql = format!(
            "INSERT INTO orders (store_id, id, customer_id, status, created_at, updated_at, number, email,
                                 fulfilment_status, cart_id, saga_state, payment_json, locked_until)
             VALUES {values}"
        );
        let statuses: Vec<&str> = chunk.iter().map(|o| o.status.as_str()).collect();
        let fulfilment: Vec<&str> = chunk.iter().map(|o| o.fulfilment_status().as_str()).collect();
        let mut params: Vec<&dyn Param> = vec![store];
        for (i, o) in chunk.iter().enumerate() {
            params.extend_from_slice(&[
                &o.id,
                &o.customer_id,
                &statuses[i],
                &o.created_at_ms,
                &o.updated_at_ms,
                &o.number,
                &o.email,
                &fulfilment[i],
            ]);
        }
        tx.execute(&sql, &params)?;
    }
    Ok(())
}

fn insert_events(
    tx: &mut Tx<'_>,
    store: &StoreId,
    events: &[(String, OrderEvent)],
) -> Result<(), StoreError> {
    for chunk in events.chunks(ROWS_PER_STATEMENT) {
        let values = placeholders(chunk.len(), 4, 1, "'imported'");
        let sql = format!(
            "INSERT INTO order_events (store_id, order_id, sequence, at_ms, data_json, kind) VALUES {values}"
        );
        let data = chunk
            .iter()
            .map(|(_, e)| super::history::to_json(&e.data))
            .collect::<Result<Vec<String>, _>>()?;
        let mut params: Vec<&dyn Param> = vec![store];
        for (i, (order, e)) in chunk.iter().enumerate() {
            params.extend_from_slice(&[order, &e.sequence, &e.at_ms, &data[i]]);
        }
        super::rows::events_appended(tx.execute(&sql, &params))?;
    }
    Ok(())
}

fn upsert_index(tx: &mut Tx<'_>, batch: &ImportBatch, orders: &[&Order]) -> Result<(), StoreError> {
    let origins: Vec<(&str, i64)> = orders
        .iter()
        .filter_map(|o| o.imported.as_deref())
        .map(|i| (i.legacy_key.as_str(), i.modified_at_ms))
        .collect();
    for (chunk, origin) in orders
        .chunks(ROWS_PER_STATEMENT)
        .zip(origins.chunks(ROWS_PER_STATEMENT))
    {
        let values = placeholders(chunk.len(), 3, 2, "");
        let sql = format!(
            "INSERT INTO imported_orders (store_id, source, legacy_key, order_id, modified_at) VALUES {values}
             ON CONFLICT (store_id, source, legacy_key) DO UPDATE SET modified_at = excluded.modified_at"
        );
        let mut params: Vec<&dyn Param> = vec![&batch.store, &batch.source];
        for (o, (key, modified)) in chunk.iter().zip(origin) {
            params.extend_from_slice(&[key, &o.id, modified]);
        }
        tx.execute(&sql, &params)?;
    }
    Ok(())
}
