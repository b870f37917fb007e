//! The SQL implementation of [`OrdersStore`], one text for SQLite and PostgreSQL.
//!
//! Writes that span rows run in `Db::begin_write` transactions (`BEGIN IMMEDIATE` on SQLite).
//! Carts are one row each, their lines a JSON array (at most 50), written with a version guard.

use super::{IdempotencyRecord, OrdersStore, Placement, Settle, StoreError};
use crate::domain::{Cart, CartId, CartLine, CartStatus, EventData, Order, OrderEvent, OrderId, SkuInfo};
use mercato_runtime::db::{Db, is_unique_violation};
use mercato_runtime::ids::StoreId;
use mercato_runtime::{inbox, outbox};
use sqlx::AnyConnection;

#[derive(Clone)]
pub struct SqlOrdersStore {
    db: Db,
}

impl SqlOrdersStore {
    pub fn new(db: Db) -> Self {
        SqlOrdersStore { db }
    }
}

type CartRow = (String, String, String, String, String, String, i64, i64, i64);

const CART_COLUMNS: &str =
    "id, customer_id, token_hash, currency, lines_json, status, created_at, updated_at, version";

fn cart(store: &StoreId, row: CartRow) -> Result<Cart, StoreError> {
    let (id, customer_id, token_hash, currency, lines_json, status, created_at, updated_at, version) = row;
    let lines: Vec<CartLine> =
        serde_json::from_str(&lines_json).map_err(|e| StoreError::Corrupt(format!("cart lines: {e}")))?;
    Ok(Cart {
        id: id
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("cart id {id:?}")))?,
        store_id: *store,
        customer_id,
        token_hash,
        currency,
        lines,
        status: CartStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("cart status {status:?}")))?,
        created_at_ms: created_at,
        updated_at_ms: updated_at,
        version,
    })
}

fn lines_json(cart: &Cart) -> String {
    serde_json::to_string(&cart.lines).unwrap_or_else(|_| "[]".to_owned())
}

async fn insert_cart(conn: &mut AnyConnection, c: &Cart) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO carts (store_id, id, customer_id, token_hash, currency, lines_json, status,
                            created_at, updated_at, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(c.store_id.to_string())
    .bind(c.id.to_string())
    .bind(&c.customer_id)
    .bind(&c.token_hash)
    .bind(&c.currency)
    .bind(lines_json(c))
    .bind(c.status.as_str())
    .bind(c.created_at_ms)
    .bind(c.updated_at_ms)
    .bind(c.version)
    .execute(conn)
    .await?;
    Ok(())
}

async fn update_cart(conn: &mut AnyConnection, c: &Cart, expected: i64) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE carts SET currency = $3, lines_json = $4, status = $5, updated_at = $6, version = $7
         WHERE store_id = $1 AND id = $2 AND version = $8",
    )
    .bind(c.store_id.to_string())
    .bind(c.id.to_string())
    .bind(&c.currency)
    .bind(lines_json(c))
    .bind(c.status.as_str())
    .bind(c.updated_at_ms)
    .bind(c.version)
    .bind(expected)
    .execute(conn)
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Stale)
    }
}

/// One multi-row insert; a taken sequence is [`StoreError::Stale`].
async fn append_events(
    conn: &mut AnyConnection,
    store: &StoreId,
    order: &str,
    events: &[OrderEvent],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let values = (0..events.len())
        .map(|i| {
            let b = i * 6;
            format!(
                "(${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO order_events (order_id, store_id, sequence, kind, at_ms, data_json) VALUES {values}"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for e in events {
        query = query
            .bind(order.to_owned())
            .bind(store.to_string())
            .bind(e.sequence)
            .bind(e.data.kind())
            .bind(e.at_ms)
            .bind(serde_json::to_string(&e.data).unwrap_or_default());
    }
    match query.execute(conn).await {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(StoreError::Stale),
        Err(e) => Err(e.into()),
    }
}

fn state_json(order: &Order) -> String {
    serde_json::to_string(order).unwrap_or_default()
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
        skus: &[SkuInfo],
        consumer: &str,
        event_id: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.db.begin_write().await?;
        if !inbox::first_delivery(&mut tx, consumer, event_id).await? {
            return Ok(false);
        }
        let known: Option<(i64,)> =
            sqlx::query_as("SELECT version FROM catalog_products WHERE store_id = $1 AND product_id = $2")
                .bind(store.to_string())
                .bind(product_id)
                .fetch_optional(&mut *tx)
                .await?;
        if known.is_some_and(|(v,)| v >= version) {
            tx.commit().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO catalog_products (store_id, product_id, version, deleted) VALUES ($1, $2, $3, 0)
             ON CONFLICT (store_id, product_id) DO UPDATE SET version = excluded.version, deleted = 0",
        )
        .bind(store.to_string())
        .bind(product_id)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM catalog_skus WHERE store_id = $1 AND product_id = $2")
            .bind(store.to_string())
            .bind(product_id)
            .execute(&mut *tx)
            .await?;
        for s in skus {
            sqlx::query(
                "INSERT INTO catalog_skus (store_id, sku, product_id, title, price_minor, currency)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (store_id, sku) DO UPDATE SET product_id = excluded.product_id,
                   title = excluded.title, price_minor = excluded.price_minor, currency = excluded.currency",
            )
            .bind(store.to_string())
            .bind(&s.sku)
            .bind(product_id)
            .bind(&s.title)
            .bind(s.price_minor)
            .bind(&s.currency)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn project_deletion(
        &self,
        store: &StoreId,
        product_id: &str,
        version: i64,
        consumer: &str,
        event_id: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.db.begin_write().await?;
        if !inbox::first_delivery(&mut tx, consumer, event_id).await? {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO catalog_products (store_id, product_id, version, deleted) VALUES ($1, $2, $3, 1)
             ON CONFLICT (store_id, product_id) DO UPDATE SET version = excluded.version, deleted = 1
             WHERE catalog_products.version <= excluded.version",
        )
        .bind(store.to_string())
        .bind(product_id)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM catalog_skus WHERE store_id = $1 AND product_id = $2")
            .bind(store.to_string())
            .bind(product_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn sku(&self, store: &StoreId, sku: &str) -> Result<Option<SkuInfo>, StoreError> {
        let row: Option<(String, String, i64, String)> = sqlx::query_as(
            "SELECT product_id, title, price_minor, currency FROM catalog_skus WHERE store_id = $1 AND sku = $2",
        )
        .bind(store.to_string())
        .bind(sku)
        .fetch_optional(self.db.pool())
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
        let mut conn = self.db.pool().acquire().await?;
        insert_cart(&mut conn, c).await
    }

    async fn cart(&self, store: &StoreId, id: &CartId) -> Result<Option<Cart>, StoreError> {
        let sql = format!("SELECT {CART_COLUMNS} FROM carts WHERE store_id = $1 AND id = $2");
        let row: Option<CartRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(store.to_string())
            .bind(id.to_string())
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|r| cart(store, r)).transpose()
    }

    async fn open_cart_of(&self, store: &StoreId, customer_id: &str) -> Result<Option<Cart>, StoreError> {
        let sql = format!(
            "SELECT {CART_COLUMNS} FROM carts WHERE store_id = $1 AND customer_id = $2 AND status = 'open'
             ORDER BY updated_at DESC, id DESC LIMIT 1"
        );
        let row: Option<CartRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(store.to_string())
            .bind(customer_id)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|r| cart(store, r)).transpose()
    }

    async fn update_cart(&self, c: &Cart, expected: i64) -> Result<(), StoreError> {
        let mut conn = self.db.pool().acquire().await?;
        update_cart(&mut conn, c, expected).await
    }

    async fn merge_carts(
        &self,
        target: &Cart,
        target_expected: Option<i64>,
        source: &Cart,
        source_expected: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write().await?;
        update_cart(&mut tx, source, source_expected).await?;
        match target_expected {
            Some(v) => update_cart(&mut tx, target, v).await?,
            None => insert_cart(&mut tx, target).await?,
        }
        tx.commit().await?;
        Ok(())
    }

    async fn idempotency(
        &self,
        store: &StoreId,
        scope: &str,
        key: &str,
        not_before_ms: i64,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let row: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT request_hash, order_id, created_at FROM idempotency_keys
             WHERE store_id = $1 AND scope = $2 AND idem_key = $3 AND created_at >= $4",
        )
        .bind(store.to_string())
        .bind(scope)
        .bind(key)
        .bind(not_before_ms)
        .fetch_optional(self.db.pool())
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

    async fn place(&self, store: &StoreId, p: &Placement<'_>) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write().await?;
        // Taken unless the row there has expired; the first of concurrent requests wins.
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (store_id, scope, idem_key, request_hash, order_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (store_id, scope, idem_key) DO UPDATE SET request_hash = excluded.request_hash,
               order_id = excluded.order_id, created_at = excluded.created_at
             WHERE idempotency_keys.created_at < $7",
        )
        .bind(store.to_string())
        .bind(&p.idempotency.scope)
        .bind(&p.idempotency.key)
        .bind(&p.idempotency.request_hash)
        .bind(p.idempotency.order_id.to_string())
        .bind(p.idempotency.created_at_ms)
        .bind(p.expired_before_ms)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() != 1 {
            return Err(StoreError::DuplicateKey);
        }
        update_cart(&mut tx, p.cart, p.cart.version - 1).await?;
        sqlx::query(
            "INSERT INTO orders (store_id, id, customer_id, cart_id, status, saga_state, state_json,
                                 payment_json, locked_until, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 'running', $6, $7, $8, $9, $9)",
        )
        .bind(store.to_string())
        .bind(&p.order.id)
        .bind(&p.order.customer_id)
        .bind(&p.order.cart_id)
        .bind(p.order.status.as_str())
        .bind(state_json(p.order))
        .bind(p.payment_json)
        .bind(p.locked_until_ms)
        .bind(p.order.created_at_ms)
        .execute(&mut *tx)
        .await?;
        append_events(&mut tx, store, &p.order.id, std::slice::from_ref(p.placed)).await?;
        outbox::append(&mut tx, p.event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn events(
        &self,
        store: &StoreId,
        order: &OrderId,
        as_of_ms: Option<i64>,
    ) -> Result<Vec<OrderEvent>, StoreError> {
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT sequence, at_ms, data_json FROM order_events
             WHERE order_id = $1 AND store_id = $2 AND at_ms <= $3 ORDER BY sequence",
        )
        .bind(order.to_string())
        .bind(store.to_string())
        .bind(as_of_ms.unwrap_or(i64::MAX))
        .fetch_all(self.db.pool())
        .await?;
        rows.into_iter()
            .map(|(sequence, at_ms, data)| {
                let data: EventData = serde_json::from_str(&data)
                    .map_err(|e| StoreError::Corrupt(format!("order event {sequence}: {e}")))?;
                Ok(OrderEvent {
                    sequence,
                    at_ms,
                    data,
                })
            })
            .collect()
    }

    async fn append(
        &self,
        store: &StoreId,
        order: &OrderId,
        events: &[OrderEvent],
    ) -> Result<(), StoreError> {
        let mut conn = self.db.pool().acquire().await?;
        append_events(&mut conn, store, &order.to_string(), events).await
    }

    async fn settle(&self, store: &StoreId, s: &Settle<'_>) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write().await?;
        append_events(&mut tx, store, &s.order.id, s.events).await?;
        let done = s.order.settled();
        sqlx::query(
            "UPDATE orders SET status = $3, saga_state = $4, state_json = $5, updated_at = $6,
                    locked_until = $7, payment_json = CASE WHEN $4 = 'done' THEN '' ELSE payment_json END
             WHERE store_id = $1 AND id = $2",
        )
        .bind(store.to_string())
        .bind(&s.order.id)
        .bind(s.order.status.as_str())
        .bind(if done { "done" } else { "running" })
        .bind(state_json(s.order))
        .bind(s.order.updated_at_ms)
        .bind(if done { 0 } else { s.locked_until_ms })
        .execute(&mut *tx)
        .await?;
        for e in s.outbox {
            outbox::append(&mut tx, e).await?;
        }
        if let Some(cart) = s.reopen_cart {
            sqlx::query(
                "UPDATE carts SET status = 'open', version = version + 1, updated_at = $3
                 WHERE store_id = $1 AND id = $2 AND status = 'checked_out'",
            )
            .bind(store.to_string())
            .bind(cart.to_string())
            .bind(s.order.updated_at_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn list(
        &self,
        store: &StoreId,
        customer_id: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<Order>, i64), StoreError> {
        // An empty customer filter never matches a customer's orders: anonymous orders have ''.
        let (filter, customer) = match customer_id {
            Some(c) => ("AND customer_id = $2", c),
            None => ("AND $2 = $2", ""),
        };
        let sql = format!(
            "SELECT state_json FROM orders WHERE store_id = $1 {filter} ORDER BY id DESC LIMIT $3 OFFSET $4"
        );
        let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(store.to_string())
            .bind(customer)
            .bind(limit)
            .bind(offset)
            .fetch_all(self.db.pool())
            .await?;
        let count = format!("SELECT COUNT(*) FROM orders WHERE store_id = $1 {filter}");
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count))
            .bind(store.to_string())
            .bind(customer)
            .fetch_one(self.db.pool())
            .await?;
        let orders = rows
            .into_iter()
            .map(|(json,)| {
                serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("order: {e}")))
            })
            .collect::<Result<Vec<Order>, _>>()?;
        Ok((orders, total))
    }

    async fn payment_json(&self, store: &StoreId, order: &OrderId) -> Result<String, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT payment_json FROM orders WHERE store_id = $1 AND id = $2")
                .bind(store.to_string())
                .bind(order.to_string())
                .fetch_optional(self.db.pool())
                .await?;
        Ok(row.map(|r| r.0).unwrap_or_default())
    }

    async fn due_sagas(&self, now_ms: i64, limit: i64) -> Result<Vec<(StoreId, OrderId)>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT store_id, id FROM orders WHERE saga_state = 'running' AND locked_until < $1
             ORDER BY locked_until LIMIT $2",
        )
        .bind(now_ms)
        .bind(limit)
        .fetch_all(self.db.pool())
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
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE orders SET locked_until = $3
             WHERE store_id = $1 AND id = $2 AND saga_state = 'running' AND locked_until < $4",
        )
        .bind(store.to_string())
        .bind(order.to_string())
        .bind(until_ms)
        .bind(now_ms)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn lease(&self, store: &StoreId, order: &OrderId, until_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE orders SET locked_until = $3 WHERE store_id = $1 AND id = $2 AND saga_state = 'running'",
        )
        .bind(store.to_string())
        .bind(order.to_string())
        .bind(until_ms)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn oldest_incomplete(&self) -> Result<Option<i64>, StoreError> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT created_at FROM orders WHERE saga_state = 'running' ORDER BY created_at LIMIT 1",
        )
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.map(|r| r.0))
    }
}
