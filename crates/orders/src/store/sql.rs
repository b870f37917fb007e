//! The SQL implementation of [`OrdersStore`], one text for SQLite and PostgreSQL.
//!
//! Writes that span rows are one [`Db::write`] closure each: one transaction, committed when the
//! closure returns `Ok` and rolled back when it returns `Err` (on SQLite it may be committed
//! together with other queued transactions). Row helpers live in `rows.rs`. Reads of
//! several statements are one [`Db::read`] closure; single-statement reads use [`Db::query_opt`]
//! and friends.
//! Carts are one row each, their lines a JSON array (at most 50), written with a version guard.

use super::rows::{
    CART_COLUMNS, CartRow, append_events, append_events_in, cart, cart_updated, event, events_appended,
    insert_cart, update_cart, upsert_skus,
};
use super::{IdempotencyRecord, OrderFilter, OrdersStore, PageAt, Placement, Refusal, Settle, StoreError};
use crate::domain::{Cart, CartId, EventData, Order, OrderEvent, OrderId, SkuInfo};
use mercato_runtime::db::{Db, Tx};
use mercato_runtime::ids::StoreId;
use mercato_runtime::{inbox, outbox};

/// Takes the store's next order number: 1001 for its first order, then one more each time.
fn next_order_number(tx: &mut Tx<'_>, store: &StoreId) -> Result<i64, StoreError> {
    let (number,): (i64,) = tx.query_one(
        "INSERT INTO order_numbers (store_id, last_number) VALUES ($1, 1001)
         ON CONFLICT (store_id) DO UPDATE SET last_number = order_numbers.last_number + 1
         RETURNING last_number",
        &[store],
    )?;
    Ok(number)
}

/// Gives the order and its `placed` event their number.
fn number_order(order: &mut Order, placed: &mut OrderEvent, number: i64) {
    order.number = number;
    if let EventData::Placed { number: n, .. } = &mut placed.data {
        *n = number;
    }
}

#[derive(Clone)]
pub struct SqlOrdersStore {
    db: Db,
}

impl SqlOrdersStore {
    pub fn new(db: Db) -> Self {
        SqlOrdersStore { db }
    }
}

#[async_trait::async_trait]
impl OrdersStore for SqlOrdersStore {
    async fn ping(&self) -> bool {
        self.db.ping().await
    }

    async fn project_product(
        &self,
        store: &StoreId,
        product_id: &str,
        version: i64,
        skus: &[(SkuInfo, super::pricing::SkuPricing)],
        consumer: &str,
        event_id: &str,
    ) -> Result<bool, StoreError> {
        let store = *store;
        let product_id = product_id.to_owned();
        let pricing: Vec<(String, super::pricing::SkuPricing)> = skus
            .iter()
            .map(|(info, p)| (info.sku.clone(), p.clone()))
            .collect();
        let skus: Vec<SkuInfo> = skus.iter().map(|(info, _)| info.clone()).collect();
        let consumer = consumer.to_owned();
        let event_id = event_id.to_owned();
        self.db
            .write("project_product", move |tx| {
                if !inbox::first_delivery(tx, &consumer, &event_id)? {
                    return Ok(false);
                }
                // The version guard is the upsert's own WHERE (folded from a SELECT of the known
                // version): a row at this version or newer is left alone and nothing changes.
                let newer = tx.execute(
                    "INSERT INTO catalog_products (store_id, product_id, version, deleted) VALUES ($1, $2, $3, 0)
                     ON CONFLICT (store_id, product_id) DO UPDATE SET version = excluded.version, deleted = 0
                     WHERE catalog_products.version < excluded.version",
                    &[&store, &product_id, &version],
                )?;
                if newer == 0 {
                    // Stale: the inbox record still commits.
                    return Ok(false);
                }
                tx.execute(
                    "DELETE FROM catalog_skus WHERE store_id = $1 AND product_id = $2",
                    &[&store, &product_id],
                )?;
                upsert_skus(tx, &store, &product_id, &skus)?;
                super::pricing::set_sku_pricing_in(tx, &store, &pricing)?;
                Ok(true)
            })
            .await
    }

    async fn project_deletion(
        &self,
        store: &StoreId,
        product_id: &str,
        version: i64,
        consumer: &str,
        event_id: &str,
    ) -> Result<bool, StoreError> {
        let store = *store;
        let product_id = product_id.to_owned();
        let consumer = consumer.to_owned();
        let event_id = event_id.to_owned();
        self.db
            .write("project_deletion", move |tx| {
                if !inbox::first_delivery(tx, &consumer, &event_id)? {
                    return Ok(false);
                }
                tx.execute(
                    "INSERT INTO catalog_products (store_id, product_id, version, deleted) VALUES ($1, $2, $3, 1)
                     ON CONFLICT (store_id, product_id) DO UPDATE SET version = excluded.version, deleted = 1
                     WHERE catalog_products.version <= excluded.version",
                    &[&store, &product_id, &version],
                )?;
                tx.execute(
                    "DELETE FROM catalog_skus WHERE store_id = $1 AND product_id = $2",
                    &[&store, &product_id],
                )?;
                Ok(true)
            })
            .await
    }

    async fn sku(&self, store: &StoreId, sku: &str) -> Result<Option<SkuInfo>, StoreError> {
        let row: Option<(String, String, i64, String)> = self
            .db
            .query_opt(
                "SELECT product_id, title, price_minor, currency FROM catalog_skus WHERE store_id = $1 AND sku = $2",
                &[store, &sku],
            )
            .await?;
        Ok(row.map(|(product_id, title, price_minor, currency)| SkuInfo {
            sku: sku.to_owned(),
            product_id,
            title,
            price_minor,
            currency,
        }))
    }

    async fn insert_cart(&self, c: &Cart) -> Result<(), StoreError> {
        self.db.run("insert_cart", &insert_cart(c)?).await?;
        Ok(())
    }

    async fn cart(&self, store: &StoreId, id: &CartId) -> Result<Option<Cart>, StoreError> {
        let sql = format!("SELECT {CART_COLUMNS} FROM carts WHERE store_id = $1 AND id = $2");
        let row: Option<CartRow> = self.db.query_opt(&sql, &[store, id]).await?;
        row.map(|r| cart(store, r)).transpose()
    }

    async fn open_cart_of(&self, store: &StoreId, customer_id: &str) -> Result<Option<Cart>, StoreError> {
        let sql = format!(
            "SELECT {CART_COLUMNS} FROM carts WHERE store_id = $1 AND customer_id = $2 AND status = 'open'
             ORDER BY updated_at DESC, id DESC LIMIT 1"
        );
        let row: Option<CartRow> = self.db.query_opt(&sql, &[store, &customer_id]).await?;
        row.map(|r| cart(store, r)).transpose()
    }

    async fn update_cart(&self, c: &Cart, expected: i64) -> Result<(), StoreError> {
        cart_updated(self.db.run("update_cart", &update_cart(c, expected)?).await)
    }

    async fn start_cart(&self, c: &Cart, expected: i64) -> Result<(), StoreError> {
        let c = c.clone();
        self.db
            .write("start_cart", move |tx| {
                cart_updated(tx.run(&update_cart(&c, expected)?))?;
                Ok(outbox::append(tx, &crate::events::cart_started(&c))?)
            })
            .await
    }

    async fn merge_carts(
        &self,
        target: &Cart,
        target_expected: Option<i64>,
        source: &Cart,
        source_expected: i64,
    ) -> Result<(), StoreError> {
        let target = target.clone();
        let source = source.clone();
        self.db
            .write("merge_carts", move |tx| {
                cart_updated(tx.run(&update_cart(&source, source_expected)?))?;
                match target_expected {
                    Some(v) => cart_updated(tx.run(&update_cart(&target, v)?)),
                    None => Ok(tx.run(&insert_cart(&target)?).map(drop)?),
                }
            })
            .await
    }

    async fn idempotency(
        &self,
        store: &StoreId,
        scope: &str,
        key: &str,
        not_before_ms: i64,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let row: Option<(String, String, i64)> = self
            .db
            .query_opt(
                "SELECT request_hash, order_id, created_at FROM idempotency_keys
                 WHERE store_id = $1 AND scope = $2 AND idem_key = $3 AND created_at >= $4",
                &[store, &scope, &key, &not_before_ms],
            )
            .await?;
        row.map(|(request_hash, order_id, created_at_ms)| {
            Ok(IdempotencyRecord {
                scope: scope.to_owned(),
                key: key.to_owned(),
                request_hash,
                order_id: order_id
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("order id {order_id:?}")))?,
                created_at_ms,
            })
        })
        .transpose()
    }

    async fn place(&self, store: &StoreId, p: &Placement<'_>) -> Result<i64, StoreError> {
        let store = *store;
        let idempotency = p.idempotency.clone();
        let expired_before_ms = p.expired_before_ms;
        let cart = p.cart.clone();
        let mut order = p.order.clone();
        let mut placed = p.placed.clone();
        let payment_json = p.payment_json.to_owned();
        let locked_until_ms = p.locked_until_ms;
        let redemptions = p.redemptions.to_vec();
        self.db
            .write("place_order", move |tx| {
                // Taken unless the row there has expired; the first of concurrent requests wins.
                let claimed = tx.execute(
                    "INSERT INTO idempotency_keys (store_id, scope, idem_key, request_hash, order_id, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (store_id, scope, idem_key) DO UPDATE SET request_hash = excluded.request_hash,
                       order_id = excluded.order_id, created_at = excluded.created_at
                     WHERE idempotency_keys.created_at < $7",
                    &[
                        &store,
                        &idempotency.scope,
                        &idempotency.key,
                        &idempotency.request_hash,
                        &idempotency.order_id,
                        &idempotency.created_at_ms,
                        &expired_before_ms,
                    ],
                )?;
                if claimed != 1 {
                    return Err(StoreError::Refused(Refusal::DuplicateKey));
                }
                cart_updated(tx.run(&update_cart(&cart, cart.version - 1)?))?;
                // The counter row is locked until commit, so concurrent placements of one store
                // take consecutive numbers, and one that rolls back gives its number back.
                let number = next_order_number(tx, &store)?;
                number_order(&mut order, &mut placed, number);
                tx.execute(
                    "INSERT INTO orders (store_id, id, customer_id, cart_id, status, saga_state,
                                         payment_json, locked_until, created_at, updated_at, number, email)
                     VALUES ($1, $2, $3, $4, $5, 'running', $6, $7, $8, $8, $9, $10)",
                    &[
                        &store,
                        &order.id,
                        &order.customer_id,
                        &order.cart_id,
                        &order.status.as_str(),
                        &payment_json,
                        &locked_until_ms,
                        &order.created_at_ms,
                        &number,
                        &order.email,
                    ],
                )?;
                append_events_in(tx, &store, &order.id, std::slice::from_ref(&placed))?;
                super::pricing::redeem_in(tx, &store, &order.id, &redemptions)?;
                outbox::append(tx, &crate::events::order_changed(crate::events::ORDER_PLACED, &order))?;
                outbox::append(tx, &crate::events::checkout_started(&order))?;
                Ok(number)
            })
            .await
    }

    async fn events(
        &self,
        store: &StoreId,
        order: &OrderId,
        as_of_ms: Option<i64>,
    ) -> Result<Vec<OrderEvent>, StoreError> {
        let rows: Vec<(i64, i64, String)> = self
            .db
            .query_all(
                "SELECT sequence, at_ms, data_json FROM order_events
                 WHERE order_id = $1 AND store_id = $2 AND at_ms <= $3 ORDER BY sequence",
                &[order, store, &as_of_ms.unwrap_or(i64::MAX)],
            )
            .await?;
        rows.into_iter()
            .map(|(sequence, at_ms, data)| event(sequence, at_ms, &data))
            .collect()
    }

    async fn append(
        &self,
        store: &StoreId,
        order: &OrderId,
        events: &[OrderEvent],
    ) -> Result<(), StoreError> {
        match append_events(store, &order.to_string(), events)? {
            Some(statement) => events_appended(self.db.run("append_events", &statement).await),
            None => Ok(()),
        }
    }

    async fn settle(&self, store: &StoreId, s: &Settle<'_>) -> Result<(), StoreError> {
        let store = *store;
        let order = s.order.clone();
        let events = s.events.to_vec();
        let outbox_events = s.outbox.to_vec();
        let locked_until_ms = s.locked_until_ms;
        let reopen_cart = s.reopen_cart;
        self.db
            .write("settle_saga", move |tx| {
                append_events_in(tx, &store, &order.id, &events)?;
                let done = order.settled();
                if order.status == crate::domain::OrderStatus::Failed {
                    // A failed checkout gives back the promotion uses it took (once).
                    super::pricing::release_in(tx, &store, &order.id)?;
                }
                tx.execute(
                    "UPDATE orders SET status = $3, saga_state = $4, updated_at = $5,
                            locked_until = $6, payment_json = CASE WHEN $4 = 'done' THEN '' ELSE payment_json END,
                            fulfilment_status = $7
                     WHERE store_id = $1 AND id = $2",
                    &[
                        &store,
                        &order.id,
                        &order.status.as_str(),
                        &if done { "done" } else { "running" },
                        &order.updated_at_ms,
                        &if done { 0 } else { locked_until_ms },
                        &order.fulfilment_status().as_str(),
                    ],
                )?;
                // One multi-row insert however many events (one per saga end today).
                outbox::append_all(tx, &outbox_events)?;
                if let Some(cart) = reopen_cart {
                    tx.execute(
                        "UPDATE carts SET status = 'open', version = version + 1, updated_at = $3
                         WHERE store_id = $1 AND id = $2 AND status = 'checked_out'",
                        &[&store, &cart, &order.updated_at_ms],
                    )?;
                }
                Ok(())
            })
            .await
    }

    async fn list(
        &self,
        store: &StoreId,
        filter: &OrderFilter,
        at: &PageAt,
        limit: i64,
    ) -> Result<(Vec<Order>, i64), StoreError> {
        super::listing::list(&self.db, store, filter, at, limit).await
    }

    async fn histories(
        &self,
        page: &super::HistoryPage,
    ) -> Result<(Vec<super::History>, Option<i64>), StoreError> {
        super::histories::page(&self.db, page).await
    }

    async fn payment_json(&self, store: &StoreId, order: &OrderId) -> Result<String, StoreError> {
        let row: Option<(String,)> = self
            .db
            .query_opt(
                "SELECT payment_json FROM orders WHERE store_id = $1 AND id = $2",
                &[store, order],
            )
            .await?;
        Ok(row.map(|r| r.0).unwrap_or_default())
    }

    async fn due_sagas(&self, now_ms: i64, limit: i64) -> Result<Vec<(StoreId, OrderId)>, StoreError> {
        let rows: Vec<(String, String)> = self
            .db
            .query_all(
                "SELECT store_id, id FROM orders WHERE saga_state = 'running' AND locked_until < $1
                 ORDER BY locked_until LIMIT $2",
                &[&now_ms, &limit],
            )
            .await?;
        rows.into_iter()
            .map(|(s, o)| {
                let store = s
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("store id {s:?}")))?;
                let order = o
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("order id {o:?}")))?;
                Ok((store, order))
            })
            .collect()
    }

    async fn claim(
        &self,
        store: &StoreId,
        order: &OrderId,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        let store = *store;
        let order = order.to_string();
        // RETURNING hands the claimer the payment details with the lease, instead of a later
        // SELECT of the same row (the row's saga stays this runner's while the lease runs).
        let claimed: Option<(String,)> = self
            .db
            .write("claim_saga", move |tx| {
                tx.query_opt(
                    "UPDATE orders SET locked_until = $3
                     WHERE store_id = $1 AND id = $2 AND saga_state = 'running' AND locked_until < $4
                     RETURNING payment_json",
                    &[&store, &order, &until_ms, &now_ms],
                )
            })
            .await?;
        Ok(claimed.map(|(payment_json,)| payment_json))
    }

    async fn lease(&self, store: &StoreId, order: &OrderId, until_ms: i64) -> Result<(), StoreError> {
        self.db
            .execute(
                "lease_saga",
                "UPDATE orders SET locked_until = $3 WHERE store_id = $1 AND id = $2 AND saga_state = 'running'",
                &[store, order, &until_ms],
            )
            .await?;
        Ok(())
    }

    async fn oldest_incomplete(&self) -> Result<Option<i64>, StoreError> {
        let row: Option<(i64,)> = self
            .db
            .query_opt(
                "SELECT created_at FROM orders WHERE saga_state = 'running' ORDER BY created_at LIMIT 1",
                &[],
            )
            .await?;
        Ok(row.map(|r| r.0))
    }
}
