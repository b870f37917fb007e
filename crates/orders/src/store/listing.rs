//! Listing orders: filters (customer, status, fulfilment status, creation time, order number or
//! e-mail prefix) and paging, by offset or stably by keyset, in one SQL text for both backends.
//!
//! Pages run newest first by `(created_at, id)`. A keyset page starts strictly after the last
//! order of the previous one, so an order placed while a client pages (newer than every order
//! it has seen) shifts nothing: no order is skipped or shown twice, as offsets would. Every
//! filter is in the statement whatever is asked, as `(unset OR condition)`, so the statement
//! text is one and its parameters fixed.

use super::StoreError;
use super::rows::{EventRow, folded};
use crate::domain::fulfilment::FulfilmentStatus;
use crate::domain::{Order, OrderStatus};
use mercato_runtime::db::{Db, DbError};
use mercato_runtime::ids::StoreId;

/// Which orders a listing admits; `None` (or empty) admits every value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderFilter {
    pub customer_id: Option<String>,
    pub status: Option<OrderStatus>,
    pub fulfilment_status: Option<FulfilmentStatus>,
    /// Created at or after.
    pub created_from_ms: Option<i64>,
    /// Created before.
    pub created_to_ms: Option<i64>,
    pub number: Option<i64>,
    /// The start of the checkout e-mail, lower-case.
    pub email_prefix: Option<String>,
}

/// Where a page starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PageAt {
    /// After skipping this many orders (the older, unstable way).
    Offset(i64),
    /// Right after this order (the previous page's last).
    After { created_at_ms: i64, id: String },
}

const FILTERS: &str = "o.store_id = $1
    AND ($2 = '' OR o.customer_id = $2)
    AND ($3 = '' OR o.status = $3)
    AND ($4 = '' OR o.fulfilment_status = $4)
    AND o.created_at >= $5 AND o.created_at < $6
    AND ($7 = 0 OR o.number = $7)
    AND ($8 = '' OR o.email LIKE $8 ESCAPE '!')";

/// `LIKE` pattern for values starting with `prefix` (`!` escapes the wildcards).
fn starts_with(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '!') {
            pattern.push('!');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The filter's parameters $2–$8, owned.
struct FilterParams {
    customer: String,
    status: String,
    fulfilment: String,
    from: i64,
    to: i64,
    number: i64,
    email: String,
}

impl FilterParams {
    fn of(f: &OrderFilter) -> FilterParams {
        FilterParams {
            customer: f.customer_id.clone().unwrap_or_default(),
            status: f.status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
            fulfilment: f
                .fulfilment_status
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            from: f.created_from_ms.unwrap_or(i64::MIN),
            to: f.created_to_ms.unwrap_or(i64::MAX),
            number: f.number.unwrap_or(0),
            email: f.email_prefix.as_deref().map(starts_with).unwrap_or_default(),
        }
    }
}

/// One page of `filter`'s orders from `at`, each folded from its history, and the count of all.
pub(super) async fn list(
    db: &Db,
    store: &StoreId,
    filter: &OrderFilter,
    at: &PageAt,
    limit: i64,
) -> Result<(Vec<Order>, i64), StoreError> {
    let (offset, after_at, after_id) = match at {
        PageAt::Offset(n) => (*n, i64::MAX, String::new()),
        PageAt::After { created_at_ms, id } => (0, *created_at_ms, id.clone()),
    };
    // Before the cursor: older, or as old with a smaller id. With no cursor every order is
    // before (created_at < i64::MAX).
    let page_sql = format!(
        "SELECT page.id, e.sequence, e.at_ms, e.data_json
         FROM (SELECT o.id, o.created_at FROM orders o WHERE {FILTERS}
                 AND (o.created_at < $9 OR (o.created_at = $9 AND o.id < $10))
               ORDER BY o.created_at DESC, o.id DESC LIMIT $11 OFFSET $12) page
         JOIN order_events e ON e.order_id = page.id AND e.store_id = $1
         ORDER BY page.created_at DESC, page.id DESC, e.sequence"
    );
    let count_sql = format!("SELECT COUNT(*) FROM orders o WHERE {FILTERS}");
    let store = *store;
    let p = FilterParams::of(filter);
    let (rows, total) = db
        .read("list_orders", move |tx| {
            let filters: [&dyn mercato_runtime::db::Param; 8] = [
                &store,
                &p.customer,
                &p.status,
                &p.fulfilment,
                &p.from,
                &p.to,
                &p.number,
                &p.email,
            ];
            let mut page_params = filters.to_vec();
            page_params.extend_from_slice(&[&after_at, &after_id, &limit, &offset]);
            let rows: Vec<EventRow> = tx.query_all(&page_sql, &page_params)?;
            let (total,): (i64,) = tx.query_one(&count_sql, &filters)?;
            Ok::<_, DbError>((rows, total))
        })
        .await?;
    Ok((folded(&store, rows)?, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_prefix_matches_its_wildcards_literally() {
        assert_eq!(starts_with("ann@"), "ann@%");
        assert_eq!(starts_with("a_b%c!"), "a!_b!%c!!%");
    }
}
