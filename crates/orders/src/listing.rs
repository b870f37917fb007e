//! The `ListOrders` use case: who may list what, the filters a request names, and paging by
//! offset (as before) or by cursor (stable while orders are placed; see `store/listing.rs`).
//!
//! Customers list their own orders only (a customer filter they send is ignored); owners and
//! staff list the store's. The search `query` is an order number (`1001` or `#1001`) or, when it
//! is not one, the start of the e-mail given at checkout. Orders carry no other e-mail: the
//! caller's token has none, so an order checked out without one is found by its customer only.

use crate::domain::{Order, Role};
use crate::service::{OrdersService, store_id};
use crate::store::{OrderFilter, PageAt};
use crate::{wire, wire_after_sale};
use mercato_proto::orders as pb;
use mercato_runtime::error::{ServiceError, Validator};

const DEFAULT_PER_PAGE: u32 = 20;
const MAX_PER_PAGE: u32 = 100;
/// The longest search query taken.
const MAX_QUERY: usize = 200;

/// A cursor: the last order of a page as `<created_at_ms>.<id>`.
fn cursor_of(order: &Order) -> String {
    format!("{}.{}", order.created_at_ms, order.id)
}

fn parse_cursor(cursor: &str) -> Option<PageAt> {
    let (at, id) = cursor.split_once('.')?;
    let created_at_ms = at.parse().ok()?;
    let id: crate::domain::OrderId = id.parse().ok()?;
    Some(PageAt::After {
        created_at_ms,
        id: id.to_string(),
    })
}

/// The search query as a number or an e-mail prefix; `None` for an empty query.
fn search(query: &str) -> (Option<i64>, Option<String>) {
    let q = query.trim();
    if q.is_empty() {
        return (None, None);
    }
    let digits = q.strip_prefix('#').unwrap_or(q);
    if !digits.is_empty() && digits.len() <= 18 && digits.bytes().all(|b| b.is_ascii_digit()) {
        return (digits.parse().ok(), None);
    }
    (None, Some(q.to_lowercase()))
}

/// The request's filters, checked; `customer` is the customer a customer caller is.
fn filter(req: &pb::ListOrdersRequest, customer: Option<&str>) -> Result<OrderFilter, ServiceError> {
    let mut v = Validator::new();
    let status = wire_after_sale::order_status_filter(req.status);
    if status.is_none() && req.status != 0 {
        v.add("status", "is not an order status");
    }
    let fulfilment_status = wire_after_sale::fulfilment_status_filter(req.fulfilment_status);
    if fulfilment_status.is_none() && req.fulfilment_status != 0 {
        v.add("fulfilment_status", "is not a fulfilment status");
    }
    if let (Some(from), Some(to)) = (req.created_from_ms, req.created_to_ms)
        && from > to
    {
        v.add("created_to", "must not be before created_from");
    }
    if req.query.len() > MAX_QUERY {
        v.add("q", "must be at most 200 characters");
    }
    v.finish()?;
    let (number, email_prefix) = search(&req.query);
    let customer_id = match customer {
        Some(c) => Some(c.to_owned()),
        None => Some(req.customer_id.trim().to_owned()).filter(|c| !c.is_empty()),
    };
    Ok(OrderFilter {
        customer_id,
        status,
        fulfilment_status,
        created_from_ms: req.created_from_ms,
        created_to_ms: req.created_to_ms,
        number,
        email_prefix,
    })
}

impl OrdersService {
    pub(crate) async fn list_orders(
        &self,
        req: pb::ListOrdersRequest,
    ) -> Result<pb::ListOrdersResponse, ServiceError> {
        let store = store_id(&req.store_id)?;
        let caller = wire::caller(req.caller.as_ref())?;
        let customer = match caller.role {
            Role::Anonymous => {
                return Err(ServiceError::unauthenticated(
                    "listing orders needs a signed-in caller",
                ));
            }
            Role::Customer => Some(caller.user_id.as_str()),
            Role::Staff | Role::Owner => None,
        };
        let filter = filter(&req, customer)?;
        let per_page = match req.per_page {
            0 => DEFAULT_PER_PAGE,
            n => n.min(MAX_PER_PAGE),
        };
        let at = if req.cursor.is_empty() {
            PageAt::Offset(i64::from(req.page.max(1) - 1) * i64::from(per_page))
        } else {
            parse_cursor(&req.cursor)
                .ok_or_else(|| ServiceError::invalid_field("cursor", "is not a cursor this listing gave"))?
        };
        // One more than the page, to know whether another follows.
        let limit = i64::from(per_page) + 1;
        let (mut orders, total) = self.store.list(&store, &filter, &at, limit).await?;
        let more = orders.len() > per_page as usize;
        orders.truncate(per_page as usize);
        let next_cursor = match orders.last() {
            Some(last) if more => cursor_of(last),
            _ => String::new(),
        };
        Ok(pb::ListOrdersResponse {
            orders: orders.iter().map(wire::order).collect(),
            total: u64::try_from(total).unwrap_or_default(),
            next_cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_an_order_number_with_or_without_its_hash_or_else_an_email_prefix() {
        assert_eq!(search("#1001"), (Some(1001), None));
        assert_eq!(search(" 1002 "), (Some(1002), None));
        assert_eq!(search("Ann@Example"), (None, Some("ann@example".into())));
        assert_eq!(search("#"), (None, Some("#".into())));
        assert_eq!(search(""), (None, None));
    }

    #[test]
    fn a_cursor_reads_back_as_the_order_it_names_and_nothing_else_does() {
        let order = Order {
            id: crate::domain::OrderId::new().to_string(),
            created_at_ms: 1_700_000_000_000,
            ..Order::default()
        };
        assert_eq!(
            parse_cursor(&cursor_of(&order)),
            Some(PageAt::After {
                created_at_ms: order.created_at_ms,
                id: order.id.clone()
            })
        );
        assert_eq!(parse_cursor("abc"), None);
        assert_eq!(parse_cursor("12.not-an-id"), None);
    }
}
