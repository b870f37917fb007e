//! Return use cases: a return requested (by the customer for their own order, or by owner or
//! staff) for units that were sent, approved or rejected by staff, and received by staff with
//! each line sellable or not.
//!
//! Receiving is the part with effects elsewhere: its event (`return_received`, with the amount
//! from [`returned_amount`] and where the sellable units go back) reopens the order's saga, which
//! refunds under the key `return:<order>:<return>` and restocks each SKU and location under that
//! key and `:<sku>:<location>`, then records `return_completed` — resumed by the saga driver
//! after a crash like a checkout. Receiving a received return again answers the order and
//! changes nothing, so a retried receipt never refunds or restocks twice.

use crate::domain::fulfilment::{ReturnStatus, ReturnedLine, returned_amount};
use crate::domain::{EventData, Order};
use crate::events;
use crate::fulfilment::{is_a_sale, staff_only, units};
use crate::orders::{in_progress, key, order_id};
use crate::service::{OrdersService, store_id};
use crate::wire;
use mercato_proto::orders as pb;
use mercato_runtime::error::{ErrorCode, ServiceError};

/// The longest reason a return may give.
const MAX_REASON: usize = 500;

fn conflict(message: impl Into<String>) -> ServiceError {
    ServiceError::new(ErrorCode::ReturnStatusConflict, message)
}

/// The lines a receipt names, checked against the return's: every unit of the return exactly
/// once (a SKU's units may be split between sellable and not); none named: all, sellable.
fn received_lines(
    asked: &[pb::ReturnLine],
    returned: &[ReturnedLine],
) -> Result<Vec<ReturnedLine>, ServiceError> {
    if asked.is_empty() {
        return Ok(returned
            .iter()
            .map(|l| ReturnedLine {
                sellable: true,
                ..l.clone()
            })
            .collect());
    }
    let mut lines: Vec<ReturnedLine> = Vec::new();
    for a in asked {
        let sku = a.sku.trim();
        match lines
            .iter_mut()
            .find(|l| l.sku == sku && l.sellable == a.sellable)
        {
            Some(l) => l.quantity += a.quantity,
            None => lines.push(ReturnedLine {
                sku: sku.to_owned(),
                quantity: a.quantity,
                sellable: a.sellable,
            }),
        }
    }
    let units = |list: &[ReturnedLine], sku: &str| -> i64 {
        list.iter().filter(|l| l.sku == sku).map(|l| l.quantity).sum()
    };
    let every_unit = asked.iter().all(|a| a.quantity > 0)
        && lines.iter().all(|l| returned.iter().any(|r| r.sku == l.sku))
        && returned
            .iter()
            .all(|r| units(&lines, &r.sku) == units(returned, &r.sku));
    if !every_unit {
        return Err(ServiceError::invalid_field(
            "lines",
            "must name every unit of the return once, each line sellable or not",
        ));
    }
    Ok(lines)
}

fn same_units(a: &[ReturnedLine], b: &[ReturnedLine]) -> bool {
    let sorted = |l: &[ReturnedLine]| {
        let mut v: Vec<(String, bool, i64)> = l
            .iter()
            .map(|l| (l.sku.clone(), l.sellable, l.quantity))
            .collect();
        v.sort();
        v
    };
    sorted(a) == sorted(b)
}

impl OrdersService {
    pub(crate) async fn request_return(
        &self,
        req: pb::RequestReturnRequest,
    ) -> Result<pb::Order, ServiceError> {
        let store = store_id(&req.store_id)?;
        let id = order_id(&req.order_id)?;
        let caller = wire::caller(req.caller.as_ref())?;
        let key = key(&req.idempotency_key)?;
        let (events, order) = self.visible_history(&store, &id, &caller).await?;
        if order.returns.iter().any(|r| r.key == key) {
            return Ok(wire::order(&order));
        }
        let reason = req.reason.trim();
        if reason.chars().count() > MAX_REASON || reason.chars().any(char::is_control) {
            return Err(ServiceError::invalid_field(
                "reason",
                "must be at most 500 characters, none of them control characters",
            ));
        }
        if !order.settled() {
            return Err(in_progress(&events));
        }
        if !is_a_sale(&order) {
            return Err(conflict(format!(
                "a {} order has nothing to return",
                order.status.as_str()
            )));
        }
        let lines = units(
            &order,
            &req.lines,
            |sku| order.returnable_quantity(sku),
            "was sent and is in no other return",
        )?;
        if lines.is_empty() {
            return Err(conflict("no unit sent is left to return"));
        }
        let data = EventData::ReturnRequested {
            return_id: uuid::Uuid::now_v7().to_string(),
            key: key.clone(),
            lines,
            reason: reason.to_owned(),
            by_customer: !caller.is_staff(),
        };
        match self
            .after_sale(&store, order, data, events::RETURN_REQUESTED)
            .await
        {
            Err(e) if e.code == ErrorCode::ChangedConcurrently => match self.load_order(&store, &id).await? {
                Some(now) if now.returns.iter().any(|r| r.key == key) => Ok(wire::order(&now)),
                _ => Err(e),
            },
            result => result.map(|o| wire::order(&o)),
        }
    }

    pub(crate) async fn decide_return(
        &self,
        req: pb::DecideReturnRequest,
    ) -> Result<pb::Order, ServiceError> {
        let store = store_id(&req.store_id)?;
        let id = order_id(&req.order_id)?;
        let caller = wire::caller(req.caller.as_ref())?;
        let (events, order) = self.visible_history(&store, &id, &caller).await?;
        staff_only(&caller, "approve or reject returns")?;
        let ret = order
            .return_of(req.return_id.trim())
            .ok_or_else(|| ServiceError::not_found("return"))?;
        let (wanted, data, subject) = if req.approve {
            let data = EventData::ReturnApproved {
                return_id: ret.id.clone(),
            };
            (ReturnStatus::Approved, data, events::RETURN_APPROVED)
        } else {
            let data = EventData::ReturnRejected {
                return_id: ret.id.clone(),
            };
            (ReturnStatus::Rejected, data, events::RETURN_REJECTED)
        };
        match ret.status {
            s if s == wanted => return Ok(wire::order(&order)),
            ReturnStatus::Requested => {}
            other => {
                return Err(conflict(format!(
                    "a {} return cannot be {}",
                    other.as_str(),
                    wanted.as_str()
                )));
            }
        }
        if !order.settled() {
            return Err(in_progress(&events));
        }
        Ok(wire::order(&self.after_sale(&store, order, data, subject).await?))
    }

    pub(crate) async fn receive_return(
        &self,
        req: pb::ReceiveReturnRequest,
    ) -> Result<pb::Order, ServiceError> {
        let store = store_id(&req.store_id)?;
        let id = order_id(&req.order_id)?;
        let caller = wire::caller(req.caller.as_ref())?;
        let (events, order) = self.visible_history(&store, &id, &caller).await?;
        staff_only(&caller, "receive returns")?;
        let ret = order
            .return_of(req.return_id.trim())
            .ok_or_else(|| ServiceError::not_found("return"))?;
        match ret.status {
            ReturnStatus::Requested | ReturnStatus::Approved => {}
            ReturnStatus::Received | ReturnStatus::Completed => {
                // A retry: the same receipt answers the order (finishing its refund and restock
                // if they are still running); another one is a conflict.
                if !req.lines.is_empty() && !same_units(&received_lines(&req.lines, &ret.lines)?, &ret.lines)
                {
                    return Err(conflict("the return was received already, with other lines"));
                }
                return Ok(wire::order(&self.drive(&store, order, None).await?));
            }
            ReturnStatus::Rejected => return Err(conflict("a rejected return cannot be received")),
        }
        let lines = received_lines(&req.lines, &ret.lines)?;
        if !order.settled() {
            return Err(in_progress(&events));
        }
        let data = receipt(&order, &ret.id, lines);
        Ok(wire::order(
            &self
                .after_sale(&store, order, data, events::RETURN_RECEIVED)
                .await?,
        ))
    }
}

/// The event receiving `lines` of return `return_id` appends: what it refunds (under the
/// return's key) and where its sellable units go back.
fn receipt(order: &Order, return_id: &str, lines: Vec<ReturnedLine>) -> EventData {
    EventData::ReturnReceived {
        return_id: return_id.to_owned(),
        amount_minor: returned_amount(order, &lines),
        key: format!("return:{}:{return_id}", order.id),
        restock: order.restock_plan(&lines),
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(sku: &str, quantity: i64, sellable: bool) -> ReturnedLine {
        ReturnedLine {
            sku: sku.into(),
            quantity,
            sellable,
        }
    }

    fn asked(sku: &str, quantity: i64, sellable: bool) -> pb::ReturnLine {
        pb::ReturnLine {
            sku: sku.into(),
            quantity,
            sellable,
        }
    }

    #[test]
    fn a_receipt_names_every_unit_of_the_return_once_split_as_it_likes() {
        let returned = [line("A", 2, false), line("B", 1, false)];
        let all = received_lines(&[], &returned).unwrap();
        assert!(all.iter().all(|l| l.sellable));
        let split = received_lines(
            &[asked("A", 1, true), asked("A", 1, false), asked("B", 1, true)],
            &returned,
        )
        .unwrap();
        assert_eq!(split.len(), 3);
        for wrong in [
            vec![asked("A", 2, true)],
            vec![asked("A", 2, true), asked("B", 2, true)],
            vec![asked("A", 2, true), asked("B", 1, true), asked("C", 1, true)],
            vec![asked("A", 3, true), asked("A", -1, true), asked("B", 1, true)],
        ] {
            assert!(received_lines(&wrong, &returned).is_err(), "{wrong:?}");
        }
    }
}
