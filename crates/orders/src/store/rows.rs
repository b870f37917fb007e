//! The rows behind [`super::sql::SqlOrdersStore`]: how carts, order events, the SKU projection
//! and order states are written and read back, as statements a transaction closure runs.

use super::StoreError;
use crate::domain::{Cart, CartLine, CartStatus, Order, OrderEvent, SkuInfo};
use mercato_runtime::db::{DbError, Param, Statement, Tx};
use mercato_runtime::ids::StoreId;

pub(super) type CartRow = (String, String, String, String, String, String, i64, i64, i64, i64);

pub(super) const CART_COLUMNS: &str =
    "id, customer_id, token_hash, currency, lines_json, status, created_at, updated_at, version, started";

pub(super) fn cart(store: &StoreId, row: CartRow) -> Result<Cart, StoreError> {
    let (id, customer_id, token_hash, currency, lines_json, status, created_at, updated_at, version, started) =
        row;
    let stored: Vec<StoredLine> =
        serde_json::from_str(&lines_json).map_err(|e| StoreError::Corrupt(format!("cart lines: {e}")))?;
    let lines = stored.into_iter().map(CartLine::from).collect();
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
        started: started != 0,
    })
}

/// A value as the JSON of a stored column: one that does not serialize is an error, never an
/// empty string in the append-only history or an empty cart.
pub(super) fn stored_json(what: &str, value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Unserializable(format!("{what}: {e}")))
}

pub(super) fn lines_json(cart: &Cart) -> Result<String, StoreError> {
    let lines: Vec<StoredLine> = cart.lines.iter().map(StoredLine::from).collect();
    stored_json("cart lines", &lines)
}

/// A cart line as stored in `carts.lines_json`: the domain's `CartLine` can change without
/// changing what is on disk. Field names are the ones stored since the first release.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredLine {
    sku: String,
    product_id: String,
    title: String,
    quantity: i64,
    unit_price_minor: i64,
}

impl From<&CartLine> for StoredLine {
    fn from(l: &CartLine) -> Self {
        StoredLine {
            sku: l.sku.clone(),
            product_id: l.product_id.clone(),
            title: l.title.clone(),
            quantity: l.quantity,
            unit_price_minor: l.unit_price_minor,
        }
    }
}

impl From<StoredLine> for CartLine {
    fn from(l: StoredLine) -> Self {
        CartLine {
            sku: l.sku,
            product_id: l.product_id,
            title: l.title,
            quantity: l.quantity,
            unit_price_minor: l.unit_price_minor,
        }
    }
}

/// The statement that inserts a new cart.
pub(super) fn insert_cart(c: &Cart) -> Result<Statement, StoreError> {
    Ok(Statement::new(
        "INSERT INTO carts (store_id, id, customer_id, token_hash, currency, lines_json, status,
                            created_at, updated_at, version, started)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &c.store_id,
            &c.id,
            &c.customer_id,
            &c.token_hash,
            &c.currency,
            &lines_json(c)?,
            &c.status.as_str(),
            &c.created_at_ms,
            &c.updated_at_ms,
            &c.version,
            &i64::from(c.started),
        ],
    ))
}

/// The statement that writes a cart over the version `expected`; see [`cart_updated`].
pub(super) fn update_cart(c: &Cart, expected: i64) -> Result<Statement, StoreError> {
    Ok(Statement::new(
        "UPDATE carts SET currency = $3, lines_json = $4, status = $5, updated_at = $6, version = $7,
                          started = $9
         WHERE store_id = $1 AND id = $2 AND version = $8",
        &[
            &c.store_id,
            &c.id,
            &c.currency,
            &lines_json(c)?,
            &c.status.as_str(),
            &c.updated_at_ms,
            &c.version,
            &expected,
            &i64::from(c.started),
        ],
    ))
}

/// What [`update_cart`] changed: nothing means another writer got there first.
pub(super) fn cart_updated(changed: Result<u64, DbError>) -> Result<(), StoreError> {
    if changed? == 1 {
        Ok(())
    } else {
        Err(StoreError::Stale)
    }
}

/// One multi-row insert of the events (none for none); see [`events_appended`].
pub(super) fn append_events(
    store: &StoreId,
    order: &str,
    events: &[OrderEvent],
) -> Result<Option<Statement>, StoreError> {
    if events.is_empty() {
        return Ok(None);
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
    let kinds: Vec<&str> = events.iter().map(|e| e.data.kind()).collect();
    let data = events
        .iter()
        .map(|e| super::history::to_json(&e.data))
        .collect::<Result<Vec<String>, _>>()?;
    let mut params: Vec<&dyn Param> = Vec::with_capacity(events.len() * 6);
    for (i, e) in events.iter().enumerate() {
        params.extend_from_slice(&[&order, store, &e.sequence, &kinds[i], &e.at_ms, &data[i]]);
    }
    Ok(Some(Statement::new(sql, &params)))
}

/// What [`append_events`] did: a sequence already taken is [`StoreError::Stale`].
pub(super) fn events_appended(inserted: Result<u64, DbError>) -> Result<(), StoreError> {
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if e.is_unique_violation() => Err(StoreError::Stale),
        Err(e) => Err(e.into()),
    }
}

/// Appends the events inside a transaction.
pub(super) fn append_events_in(
    tx: &mut Tx<'_>,
    store: &StoreId,
    order: &str,
    events: &[OrderEvent],
) -> Result<(), StoreError> {
    match append_events(store, order, events)? {
        Some(statement) => events_appended(tx.run(&statement)),
        None => Ok(()),
    }
}

/// SKU rows per statement; the catalog allows 100 variants per product, so one statement.
pub(super) const SKUS_PER_INSERT: usize = 100;

/// Writes a product's SKUs with multi-row upserts (one statement per [`SKUS_PER_INSERT`]
/// rows) instead of one statement per SKU. A SKU listed twice keeps its last entry, as
/// consecutive single-row upserts would (and PostgreSQL refuses one statement that would update
/// a row twice).
pub(super) fn upsert_skus(
    tx: &mut Tx<'_>,
    store: &StoreId,
    product_id: &str,
    skus: &[SkuInfo],
) -> Result<(), StoreError> {
    let mut last: Vec<&SkuInfo> = Vec::with_capacity(skus.len());
    for (i, s) in skus.iter().enumerate() {
        if !skus[i + 1..].iter().any(|later| later.sku == s.sku) {
            last.push(s);
        }
    }
    for chunk in last.chunks(SKUS_PER_INSERT) {
        // $1 and $2 (store and product) are shared by every row.
        let values = (0..chunk.len())
            .map(|i| {
                let b = 2 + i * 4;
                format!("($1, ${}, $2, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4)
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO catalog_skus (store_id, sku, product_id, title, price_minor, currency)
             VALUES {values}
             ON CONFLICT (store_id, sku) DO UPDATE SET product_id = excluded.product_id,
               title = excluded.title, price_minor = excluded.price_minor, currency = excluded.currency"
        );
        let mut params: Vec<&dyn Param> = Vec::with_capacity(2 + chunk.len() * 4);
        params.extend_from_slice(&[store, &product_id]);
        for s in chunk {
            params.extend_from_slice(&[&s.sku, &s.title, &s.price_minor, &s.currency]);
        }
        tx.execute(&sql, &params)?;
    }
    Ok(())
}

/// One stored event of an order's history, as listed: (order id, sequence, at_ms, data_json).
pub(super) type EventRow = (String, i64, i64, String);

/// One stored event, read back through its versioned record.
pub(super) fn event(sequence: i64, at_ms: i64, data_json: &str) -> Result<OrderEvent, StoreError> {
    let data = super::history::from_json(sequence, data_json)?;
    Ok(OrderEvent {
        sequence,
        at_ms,
        data,
    })
}

/// The orders whose histories `rows` hold, grouped by order id (consecutive rows) and each in
/// sequence order, folded in the order they come.
pub(super) fn folded(store: &StoreId, rows: Vec<EventRow>) -> Result<Vec<Order>, StoreError> {
    let mut orders = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while let Some((id, sequence, at_ms, data)) = rows.next() {
        let mut history = vec![event(sequence, at_ms, &data)?];
        while let Some((_, sequence, at_ms, data)) = rows.next_if(|(next, ..)| *next == id) {
            history.push(event(sequence, at_ms, &data)?);
        }
        let order = Order::fold(&id, &store.to_string(), &history)
            .map_err(|e| StoreError::Corrupt(format!("order {id}: {e}")))?;
        orders.extend(order);
    }
    Ok(orders)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn a_value_that_does_not_serialize_is_an_error_not_an_empty_column() {
        // JSON object keys must be strings; a tuple key cannot be written.
        let unwritable = BTreeMap::from([((1, 2), "x")]);
        let written = stored_json("test value", &unwritable);
        assert!(matches!(written, Err(StoreError::Unserializable(ref m)) if m.starts_with("test value")));
        assert_eq!(stored_json("lines", &vec![1, 2]).unwrap(), "[1,2]");
    }
}
