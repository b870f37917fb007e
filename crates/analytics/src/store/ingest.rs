//! Events applied inside one write transaction: each event's id goes into the inbox first (a
//! redelivery is skipped), then its effect — an order snapshot through the fold, a funnel key,
//! product views, a stock level or a store's settings.

use super::ledger::{Pending, SqlLedger, order_facts, put_order_facts};
use super::rebuild;
use crate::domain::counts::{Counts, Field};
use crate::domain::fold::{OrderFacts, add_both, apply, fold};
use crate::domain::sketch::Sketch;
use crate::domain::zone::Zone;
use mercato_proto::events::{
    CartStarted, CheckoutStarted, EventEnvelope, LowStock, OrderChanged, ProductViewsCounted, StockChanged,
    StoreChanged, StoreProvisioned,
};
use mercato_proto::inventory::StockLevel;
use mercato_proto::orders::Order;
use mercato_proto::subjects;
use mercato_runtime::db::{DbError, Tx};
use mercato_runtime::inbox;
use prost::Message;
use std::collections::HashMap;

/// The inbox name of every analytics consumer (event ids are unique across subjects).
pub const CONSUMER: &str = "analytics";

/// The funnel's steps as stored in `funnel_keys`.
pub const STEP_VIEW: &str = "view";
pub const STEP_CART: &str = "cart";
pub const STEP_CHECKOUT: &str = "checkout";

/// A batch's write: zones read once per store, additions flushed once at the end.
pub struct Batch<'a, 't> {
    pub tx: &'a mut Tx<'t>,
    pub pending: Pending,
    zones: HashMap<String, Zone>,
    /// Whether each store seen waits for a rebuild (read once per batch; the lock it takes on
    /// PostgreSQL lasts until the commit).
    rebuilding: HashMap<String, bool>,
    /// What is held of the orders this batch folded (read, and locked, once per batch).
    orders: HashMap<(String, String), OrderFacts>,
    /// Folding the history (backfill, rebuild): applied even while a store waits for its
    /// rebuild, which live events are not.
    replaying: bool,
}

impl<'a, 't> Batch<'a, 't> {
    pub fn new(tx: &'a mut Tx<'t>) -> Self {
        Batch {
            tx,
            pending: Pending::default(),
            zones: HashMap::new(),
            rebuilding: HashMap::new(),
            orders: HashMap::new(),
            replaying: false,
        }
    }

    /// A batch folding the orders history rather than live events.
    pub fn replaying(mut self) -> Self {
        self.replaying = true;
        self
    }

    /// The store's time zone (UTC until analytics hears of it).
    pub fn zone(&mut self, store: &str) -> Result<Zone, DbError> {
        if let Some(z) = self.zones.get(store) {
            return Ok(z.clone());
        }
        let row: Option<(String,)> = self
            .tx
            .query_opt("SELECT time_zone FROM stores WHERE store_id = $1", &[&store])?;
        let zone = row.map_or_else(Zone::utc, |(name,)| Zone::named_or_utc(&name));
        self.zones.insert(store.to_owned(), zone.clone());
        Ok(zone)
    }

    fn rebuilding(&mut self, store: &str) -> Result<bool, DbError> {
        if let Some(pending) = self.rebuilding.get(store) {
            return Ok(*pending);
        }
        let pending = rebuild::pending(self.tx, store)?;
        self.rebuilding.insert(store.to_owned(), pending);
        Ok(pending)
    }

    /// Applies one event unless the inbox has seen it; `true` when it was applied.
    pub fn event(&mut self, e: &EventEnvelope) -> Result<bool, DbError> {
        if !inbox::first_delivery(self.tx, CONSUMER, &e.id)? {
            return Ok(false);
        }
        match self.effect(e) {
            Ok(()) => Ok(true),
            // Redelivering a payload that does not decode cannot help.
            Err(EffectError::Decode(err)) => {
                tracing::warn!(event_id = %e.id, subject = %e.subject, error = %err, "undecodable event skipped");
                Ok(true)
            }
            Err(EffectError::Db(err)) => Err(err),
        }
    }

    fn effect(&mut self, e: &EventEnvelope) -> Result<(), EffectError> {
        let p = e.payload.as_slice();
        match e.subject.as_str() {
            subjects::orders::CART_STARTED => {
                let c = CartStarted::decode(p)?;
                self.funnel(&e.store_id, STEP_CART, &c.cart_id, e.occurred_at_ms, Field::Carts)?;
            }
            subjects::orders::CHECKOUT_STARTED => {
                let c = CheckoutStarted::decode(p)?;
                let step = (STEP_CHECKOUT, Field::Checkouts);
                self.funnel(&e.store_id, step.0, &c.cart_id, e.occurred_at_ms, step.1)?;
            }
            s if s.starts_with("mercato.orders.") => {
                if let Some(order) = OrderChanged::decode(p)?.order
                    && order.store_id == e.store_id
                {
                    self.order(&order, e.occurred_at_ms)?;
                }
            }
            subjects::gateway::PRODUCT_VIEWS_COUNTED => {
                self.views(&e.store_id, &ProductViewsCounted::decode(p)?)?
            }
            subjects::inventory::LOW_STOCK => {
                if let Some(level) = LowStock::decode(p)?.level {
                    self.stock(&e.store_id, &level, e.occurred_at_ms)?;
                }
            }
            subjects::inventory::STOCK_CHANGED => {
                if let Some(level) = StockChanged::decode(p)?.level {
                    self.stock(&e.store_id, &level, e.occurred_at_ms)?;
                }
            }
            subjects::identity::STORE_PROVISIONED => {
                let s = StoreProvisioned::decode(p)?;
                self.store_settings(&s.store_id, &s.time_zone, &s.currency, e.occurred_at_ms)?;
            }
            subjects::identity::STORE_CHANGED => {
                let s = StoreChanged::decode(p)?;
                self.store_settings(&s.store_id, &s.time_zone, &s.currency, e.occurred_at_ms)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Folds an order snapshot; `true` when it was newer than what was held.
    pub fn order(&mut self, order: &Order, fallback_at_ms: i64) -> Result<bool, DbError> {
        let store = order.store_id.clone();
        if !self.replaying && self.rebuilding(&store)? {
            rebuild::defer(self.tx, order)?;
            return Ok(true);
        }
        let zone = self.zone(&store)?;
        let key = (store.clone(), order.id.clone());
        let held = match self.orders.get(&key) {
            Some(facts) => Some(facts.clone()),
            None => order_facts(self.tx, &store, &order.id)?,
        };
        let Some(folded) = fold(held.as_ref(), order, &zone, fallback_at_ms) else {
            return Ok(false);
        };
        let mut ledger = SqlLedger {
            tx: self.tx,
            store: &store,
            pending: &mut self.pending,
        };
        apply(&mut ledger, &zone, &folded)?;
        put_order_facts(self.tx, &store, &folded.facts, held.is_none())?;
        self.orders.insert(key, folded.facts);
        Ok(true)
    }

    /// Records a cart at a funnel step; counts it the first time, on the local day of `at_ms`.
    fn funnel(
        &mut self,
        store: &str,
        step: &str,
        shopper: &str,
        at_ms: i64,
        field: Field,
    ) -> Result<(), DbError> {
        if shopper.is_empty() {
            return Ok(());
        }
        let zone = self.zone(store)?;
        let first = self.tx.execute(
            "INSERT INTO funnel_first (store_id, step, shopper, day) VALUES ($1, $2, $3, $4)
             ON CONFLICT (store_id, step, shopper) DO NOTHING",
            &[&store, &step, &shopper, &zone.day_key(at_ms)],
        )?;
        if first == 1 {
            let mut ledger = SqlLedger {
                tx: self.tx,
                store,
                pending: &mut self.pending,
            };
            add_both(&mut ledger, &zone, at_ms, &Counts::default().with(field, 1))?;
        }
        Ok(())
    }

    fn funnel_key(&mut self, store: &str, step: &str, day: &str, shopper: &str) -> Result<bool, DbError> {
        let inserted = self.tx.execute(
            "INSERT INTO funnel_keys (store_id, step, day, shopper) VALUES ($1, $2, $3, $4)
             ON CONFLICT (store_id, step, day, shopper) DO NOTHING",
            &[&store, &step, &day, &shopper],
        )?;
        Ok(inserted == 1)
    }

    fn views(&mut self, store: &str, v: &ProductViewsCounted) -> Result<(), DbError> {
        let zone = self.zone(store)?;
        let day = zone.day_key(v.minute_start_ms);
        self.sketch_visitors(store, &day, &v.visitor_keys)?;
        let mut counts = Counts::default().with(Field::Views, v.products.iter().map(|p| p.views).sum());
        for visitor in &v.visitor_keys {
            if !visitor.is_empty() && self.funnel_key(store, STEP_VIEW, &day, visitor)? {
                counts.add_to(Field::Visitors, 1);
            }
        }
        let mut ledger = SqlLedger {
            tx: self.tx,
            store,
            pending: &mut self.pending,
        };
        add_both(&mut ledger, &zone, v.minute_start_ms, &counts)
    }

    /// Adds visitor keys to the day's sketch.
    fn sketch_visitors(&mut self, store: &str, day: &str, keys: &[String]) -> Result<(), DbError> {
        if keys.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "SELECT registers FROM visitor_sketches WHERE store_id = $1 AND day = $2{}",
            self.tx.lock_rows()
        );
        let held: Option<(Vec<u8>,)> = self.tx.query_opt(&sql, &[&store, &day])?;
        let mut sketch = held.map_or_else(Sketch::default, |(b,)| Sketch::from_bytes(b));
        keys.iter().for_each(|k| sketch.add(k));
        self.tx.execute(
            "INSERT INTO visitor_sketches (store_id, day, registers) VALUES ($1, $2, $3)
             ON CONFLICT (store_id, day) DO UPDATE SET registers = excluded.registers",
            &[&store, &day, &sketch.into_bytes()],
        )?;
        Ok(())
    }

    fn stock(&mut self, store: &str, level: &StockLevel, at_ms: i64) -> Result<(), DbError> {
        let low = level.available <= level.low_stock_threshold;
        self.tx.execute(
            "INSERT INTO low_stock (store_id, sku, location, available, threshold, since_ms, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (store_id, sku, location) DO UPDATE SET available = excluded.available,
               threshold = excluded.threshold, version = excluded.version,
               since_ms = CASE WHEN low_stock.available <= low_stock.threshold AND $8 = 1
                               THEN low_stock.since_ms ELSE excluded.since_ms END
             WHERE low_stock.version < excluded.version",
            &[
                &store,
                &level.sku,
                &level.location,
                &level.available,
                &level.low_stock_threshold,
                &at_ms,
                &level.version,
                &i64::from(low),
            ],
        )?;
        Ok(())
    }

    fn store_settings(&mut self, store: &str, zone: &str, currency: &str, at_ms: i64) -> Result<(), DbError> {
        let zone = Zone::named(zone).map_or_else(|| "UTC".to_owned(), |z| z.name().to_owned());
        let before: Option<(String,)> = self
            .tx
            .query_opt("SELECT time_zone FROM stores WHERE store_id = $1", &[&store])?;
        let changed = self.tx.execute(
            "INSERT INTO stores (store_id, time_zone, currency, changed_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (store_id) DO UPDATE SET time_zone = excluded.time_zone,
               currency = CASE WHEN excluded.currency = '' THEN stores.currency ELSE excluded.currency END,
               changed_at = excluded.changed_at
             WHERE stores.changed_at <= excluded.changed_at",
            &[&store, &zone, &currency, &at_ms],
        )?;
        // A new zone re-buckets what was counted in the old one (UTC before analytics knew).
        let old = before.map_or_else(|| "UTC".to_owned(), |(z,)| z);
        if changed == 1 && old != zone && rebuild::has_orders(self.tx, store)? {
            rebuild::request(self.tx, store, at_ms)?;
            self.rebuilding.insert(store.to_owned(), true);
        }
        self.zones.remove(store);
        Ok(())
    }

    /// Writes the gathered additions; call once, last.
    pub fn finish(self) -> Result<(), DbError> {
        self.pending.flush(self.tx)
    }
}

/// Why an event had no effect: its payload did not decode (skipped), or the database failed
/// (the batch is retried).
enum EffectError {
    Decode(prost::DecodeError),
    Db(DbError),
}

impl From<prost::DecodeError> for EffectError {
    fn from(e: prost::DecodeError) -> Self {
        EffectError::Decode(e)
    }
}

impl From<DbError> for EffectError {
    fn from(e: DbError) -> Self {
        EffectError::Db(e)
    }
}
