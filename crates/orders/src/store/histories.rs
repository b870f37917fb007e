//! Every order's history a page at a time, oldest first by `(created_at, id)`, for
//! `ListOrderHistories` (analytics' backfill and verification).
//!
//! One statement reads a page's orders and all their events together (the page of orders is a
//! subquery joined to `order_events`), so a page costs one round trip however many orders it
//! holds; the count, asked on the first page only, is a second statement in the same read. One
//! store's pages walk `orders_created (store_id, created_at, id)`; every store's walk
//! `orders_created_all (created_at, id)`.
//!
//! A page starts strictly after the previous page's last order, so orders placed while a
//! client pages (newer than every order it has seen) shift nothing: none is skipped or repeated.
//! The cursor is also a plain range bound (`created_at >= $4`), so each page seeks in the index
//! instead of scanning from the first order (a backfill walks millions).

use super::StoreError;
use super::rows::event;
use crate::domain::{Order, OrderEvent};
use mercato_runtime::db::{Db, DbError, Param};
use mercato_runtime::ids::StoreId;

/// Which orders, and from where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryPage {
    /// One store's, or every store's.
    pub store: Option<StoreId>,
    /// Created at or after.
    pub created_from_ms: i64,
    /// Created before.
    pub created_to_ms: i64,
    /// The previous page's last order, `(created_at, id)`; `None` for the first page.
    pub after: Option<(i64, String)>,
    pub limit: i64,
    /// Whether to count every order the filters admit.
    pub count: bool,
}

/// An order's whole history and the state it folds to.
pub type History = (Vec<OrderEvent>, Order);

const PAGE_OF_ONE_STORE: &str = "SELECT o.store_id, o.id, o.created_at FROM orders o
    WHERE o.store_id = $1 AND o.created_at >= $2 AND o.created_at < $3
      AND o.created_at >= $4 AND (o.created_at > $4 OR o.id > $5)
    ORDER BY o.created_at, o.id LIMIT $6";
const PAGE_OF_ALL_STORES: &str = "SELECT o.store_id, o.id, o.created_at FROM orders o
    WHERE $1 = '' AND o.created_at >= $2 AND o.created_at < $3
      AND o.created_at >= $4 AND (o.created_at > $4 OR o.id > $5)
    ORDER BY o.created_at, o.id LIMIT $6";

type Row = (String, String, i64, i64, String);

/// One page of histories and, when asked, the count of all the filters admit.
pub(super) async fn page(db: &Db, p: &HistoryPage) -> Result<(Vec<History>, Option<i64>), StoreError> {
    let orders = if p.store.is_some() {
        PAGE_OF_ONE_STORE
    } else {
        PAGE_OF_ALL_STORES
    };
    let page_sql = format!(
        "SELECT page.store_id, page.id, e.sequence, e.at_ms, e.data_json
         FROM ({orders}) page
         JOIN order_events e ON e.order_id = page.id AND e.store_id = page.store_id
         ORDER BY page.created_at, page.id, e.sequence"
    );
    let count_sql = match p.store {
        Some(_) => "SELECT COUNT(*) FROM orders WHERE store_id = $1 AND created_at >= $2 AND created_at < $3",
        None => "SELECT COUNT(*) FROM orders WHERE $1 = '' AND created_at >= $2 AND created_at < $3",
    };
    let store = p.store.map(|s| s.to_string()).unwrap_or_default();
    let (after_at, after_id) = p.after.clone().unwrap_or((i64::MIN, String::new()));
    let (from, to, limit, count) = (p.created_from_ms, p.created_to_ms, p.limit, p.count);
    let (rows, total) = db
        .read("list_order_histories", move |tx| {
            let filters: [&dyn Param; 3] = [&store, &from, &to];
            let mut params = filters.to_vec();
            params.extend_from_slice(&[&after_at, &after_id, &limit]);
            let rows: Vec<Row> = tx.query_all(&page_sql, &params)?;
            let total = if count {
                let (n,): (i64,) = tx.query_one(count_sql, &filters)?;
                Some(n)
            } else {
                None
            };
            Ok::<_, DbError>((rows, total))
        })
        .await?;
    Ok((histories(rows)?, total))
}

/// The rows grouped by order (consecutive rows), each history folded.
fn histories(rows: Vec<Row>) -> Result<Vec<History>, StoreError> {
    let mut out = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while let Some((store, id, sequence, at_ms, data)) = rows.next() {
        let mut history = vec![event(sequence, at_ms, &data)?];
        while let Some((.., sequence, at_ms, data)) = rows.next_if(|(s, next, ..)| *next == id && *s == store)
        {
            history.push(event(sequence, at_ms, &data)?);
        }
        let order = Order::fold(&id, &store, &history)
            .map_err(|e| StoreError::Corrupt(format!("order {id}: {e}")))?;
        out.extend(order.map(|o| (history, o)));
    }
    Ok(out)
}
