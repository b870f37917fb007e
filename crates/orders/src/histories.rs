//! `ListOrderHistories`: every order's whole history, a page at a time, oldest first by
//! `(created_at, id)` — what analytics rebuilds its figures from and checks them against.
//! Internal: the gateway never routes it, and it takes no caller (the internal token admits the
//! analytics service).
//!
//! The cursor is opaque to clients: the last order of a page as `<created_at_ms>.<id>`, in
//! base64url. `total` is counted on the first page only (a page with a cursor answers 0).

use crate::domain::OrderId;
use crate::service::{OrdersService, store_id};
use crate::store::HistoryPage;
use crate::wire;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mercato_proto::orders as pb;
use mercato_runtime::error::{ServiceError, Validator};

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 500;

fn cursor_of(created_at_ms: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{created_at_ms}.{id}"))
}

fn parse_cursor(cursor: &str) -> Option<(i64, String)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (at, id) = text.split_once('.')?;
    let id: OrderId = id.parse().ok()?;
    Some((at.parse().ok()?, id.to_string()))
}

/// The request as a page to read, every bad field reported at once.
fn page_of(req: &pb::ListOrderHistoriesRequest) -> Result<HistoryPage, ServiceError> {
    let mut v = Validator::new();
    let store = match req.store_id.trim() {
        "" => None,
        id => v.check(store_id(id)),
    };
    if req.limit > MAX_LIMIT {
        v.add("limit", "must be between 1 and 500 (0 means 100)");
    }
    if req.created_from_ms < 0 || req.created_to_ms < 0 {
        v.add("created_from_ms", "must not be negative");
    }
    if req.created_to_ms != 0 && req.created_from_ms > req.created_to_ms {
        v.add("created_to_ms", "must not be before created_from_ms");
    }
    let after = match req.after.as_str() {
        "" => None,
        cursor => {
            let parsed = parse_cursor(cursor);
            if parsed.is_none() {
                v.add("after", "is not a cursor this service gave");
            }
            parsed
        }
    };
    v.finish()?;
    let limit = if req.limit == 0 { DEFAULT_LIMIT } else { req.limit };
    Ok(HistoryPage {
        store,
        created_from_ms: req.created_from_ms,
        created_to_ms: if req.created_to_ms == 0 {
            i64::MAX
        } else {
            req.created_to_ms
        },
        count: after.is_none(),
        after,
        // One more than asked: whether it comes says whether another page follows.
        limit: i64::from(limit) + 1,
    })
}

impl OrdersService {
    pub(crate) async fn list_order_histories(
        &self,
        req: pb::ListOrderHistoriesRequest,
    ) -> Result<pb::ListOrderHistoriesResponse, ServiceError> {
        let page = page_of(&req)?;
        let (mut histories, total) = self.store.histories(&page).await?;
        let more = histories.len() as i64 == page.limit;
        histories.truncate(page.limit as usize - 1);
        let next_cursor = match histories.last() {
            Some((_, last)) if more => cursor_of(last.created_at_ms, &last.id),
            _ => String::new(),
        };
        Ok(pb::ListOrderHistoriesResponse {
            orders: histories
                .iter()
                .map(|(events, order)| pb::OrderEvents {
                    events: events.iter().map(wire::event).collect(),
                    state: Some(wire::order(order)),
                })
                .collect(),
            next_cursor,
            total: total.unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_and_anything_else_is_refused() {
        let id = OrderId::new().to_string();
        assert_eq!(
            parse_cursor(&cursor_of(1_700_000_000_123, &id)),
            Some((1_700_000_000_123, id))
        );
        for bad in ["", "x", "MTIz", &URL_SAFE_NO_PAD.encode("12.not-an-id")] {
            assert_eq!(parse_cursor(bad), None, "{bad}");
        }
    }

    #[test]
    fn limits_default_to_100_and_stop_at_500() {
        let req = |limit| pb::ListOrderHistoriesRequest {
            limit,
            ..Default::default()
        };
        assert_eq!(
            page_of(&req(0)).unwrap().limit,
            101,
            "one more, to know if more follow"
        );
        assert_eq!(page_of(&req(500)).unwrap().limit, 501);
        assert_eq!(page_of(&req(501)).unwrap_err().fields[0].field, "limit");
        let backwards = pb::ListOrderHistoriesRequest {
            created_from_ms: 10,
            created_to_ms: 5,
            ..Default::default()
        };
        assert_eq!(page_of(&backwards).unwrap_err().fields[0].field, "created_to_ms");
    }
}
