//! Order use cases: read (one, a page, the history as of a time), cancel and refund.
//!
//! Customers see only their own orders; owners and staff see the store's. An order the caller
//! may not see is "not found". Cancel and refund append a request event that reopens the saga
//! with its compensations, then drive it like a checkout (and the driver resumes it after a
//! crash).

use crate::domain::order::RefundLine;
use crate::domain::{Caller, EventData, Order, OrderEvent, OrderId, OrderStatus, Terminal};
use crate::orchestrator::LEASE_MS;
use crate::service::{OrdersService, store_id};
use crate::store::{Settle, StoreError};
use crate::wire;
use mercato_proto::orders as pb;
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::idempotency::IdempotencyKey;
use mercato_runtime::ids::StoreId;
use mercato_runtime::time::now_ms;

pub(crate) fn order_id(s: &str) -> Result<OrderId, ServiceError> {
    OrderId::parse("order_id", s)
}

fn visible(order: &Order, caller: &Caller) -> bool {
    caller.is_staff() || (!caller.user_id.is_empty() && order.customer_id == caller.user_id)
}

pub(crate) fn key(s: &str) -> Result<String, ServiceError> {
    Ok(IdempotencyKey::parse("the Idempotency-Key", s)?.into_string())
}

impl OrdersService {
    /// The whole history and the order it folds to, if the caller may see it.
    pub(crate) async fn visible_history(
        &self,
        store: &StoreId,
        id: &OrderId,
        caller: &Caller,
    ) -> Result<(Vec<OrderEvent>, Order), ServiceError> {
        let events = self.store.events(store, id, None).await?;
        match Order::fold(&id.to_string(), &store.to_string(), &events).map_err(ServiceError::internal)? {
            Some(order) if visible(&order, caller) => Ok((events, order)),
            _ => Err(ServiceError::not_found("order")),
        }
    }

    pub(crate) async fn get_order(&self, req: pb::GetOrderRequest) -> Result<pb::Order, ServiceError> {
        let store = store_id(&req.store_id)?;
        let id = order_id(&req.order_id)?;
        let caller = wire::caller(req.caller.as_ref())?;
        Ok(wire::order(&self.visible_history(&store, &id, &caller).await?.1))
    }

    pub(crate) async fn get_order_events(
        &self,
        req: pb::GetOrderEventsRequest,
    ) -> Result<pb::OrderEvents, ServiceError> {
        let store = store_id(&req.store_id)?;
        let id = order_id(&req.order_id)?;
        let caller = wire::caller(req.caller.as_ref())?;
        let (mut events, order) = self.visible_history(&store, &id, &caller).await?;
        let state = match req.as_of_ms {
            None => Some(order),
            Some(as_of) => {
                events.retain(|e| e.at_ms <= as_of);
                Order::fold(&order.id, &order.store_id, &events).map_err(ServiceError::internal)?
            }
        };
        Ok(pb::OrderEvents {
            events: events.iter().map(wire::event).collect(),
            state: state.as_ref().map(wire::order),
        })
    }

    pub(crate) async fn cancel_order(&self, req: pb::CancelOrderRequest) -> Result<pb::Order, ServiceError> {
        let store = store_id(&req.store_id)?;
        let id = order_id(&req.order_id)?;
        let caller = wire::caller(req.caller.as_ref())?;
        let key = key(&req.idempotency_key)?;
        let (events, order) = self.visible_history(&store, &id, &caller).await?;
        if order.heading_for() == Some(&Terminal::Cancelled) {
            // Cancelled already (any key), or a cancellation to finish.
            return Ok(wire::order(&self.drive(&store, order, None).await?));
        }
        if !order.settled() {
            return Err(in_progress(&events));
        }
        if order.status != OrderStatus::Confirmed {
            return Err(ServiceError::new(
                ErrorCode::OrderNotCancellable,
                format!("a {} order cannot be cancelled", order.status.as_str()),
            ));
        }
        if !order.fulfilments.is_empty() {
            return Err(ServiceError::new(
                ErrorCode::OrderNotCancellable,
                "units of this order were sent: return them instead of cancelling",
            ));
        }
        let request = EventData::CancelRequested {
            key: format!("refund:{id}:{key}"),
            amount_minor: order.captured_minor - order.refunded_minor,
        };
        Ok(wire::order(&self.reopen(&store, order, request).await?))
    }

    pub(crate) async fn refund_order(&self, req: pb::RefundOrderRequest) -> Result<pb::Order, ServiceError> {
        let store = store_id(&req.store_id)?;
        let id = order_id(&req.order_id)?;
        let caller = wire::caller(req.caller.as_ref())?;
        let key = key(&req.idempotency_key)?;
        let (events, order) = self.visible_history(&store, &id, &caller).await?;
        if !caller.is_staff() {
            return Err(ServiceError::forbidden(
                "only the store's owner or staff may refund",
            ));
        }
        let refund_key = format!("refund:{id}:{key}");
        let earlier = events.iter().find_map(|e| match &e.data {
            EventData::RefundRequested { key, lines, .. } if *key == refund_key => Some(lines.clone()),
            _ => None,
        });
        if let Some(lines) = earlier {
            if !req.lines.is_empty() && !same_lines(&lines, &req.lines) {
                return Err(ServiceError::invalid_field(
                    "idempotency_key",
                    "was already used for a refund of other lines",
                ));
            }
            // The same refund again: finish it if it is still running, else answer the order.
            return Ok(wire::order(&self.drive(&store, order, None).await?));
        }
        if !order.settled() {
            return Err(in_progress(&events));
        }
        if !matches!(
            order.status,
            OrderStatus::Confirmed | OrderStatus::PartiallyRefunded
        ) {
            return Err(ServiceError::new(
                ErrorCode::OrderNotRefundable,
                format!("a {} order cannot be refunded", order.status.as_str()),
            ));
        }
        let lines = refund_lines(&order, &req.lines)?;
        let request = refund_request(&order, refund_key, lines);
        Ok(wire::order(&self.reopen(&store, order, request).await?))
    }

    /// Appends a cancel or refund request (which reopens the saga) with the order row in one
    /// transaction, then drives the saga.
    async fn reopen(
        &self,
        store: &StoreId,
        mut order: Order,
        request: EventData,
    ) -> Result<Order, ServiceError> {
        let now = now_ms();
        let event = OrderEvent {
            sequence: order.version + 1,
            at_ms: now,
            data: request,
        };
        let from = order.saga.name();
        order
            .apply(&event)
            .map_err(|e| ServiceError::new(ErrorCode::ChangedConcurrently, e.to_string()))?;
        metrics::counter!(crate::orchestrator::SAGA_TRANSITIONS.name, "from" => from, "to" => order.saga.name()).increment(1);
        let settle = Settle {
            order: &order,
            events: std::slice::from_ref(&event),
            outbox: &[],
            locked_until_ms: now + LEASE_MS,
            reopen_cart: None,
        };
        match self.store.settle(store, &settle).await {
            Ok(()) => {}
            Err(StoreError::Stale) => {
                return Err(ServiceError::new(
                    ErrorCode::ChangedConcurrently,
                    "the order changed meanwhile; retry",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        self.drive(store, order, None).await
    }
}

/// 409 `checkout_in_progress` for an order whose saga is still running, telling the client
/// when its lease ends (see [`crate::orchestrator::retry_after_secs`]).
pub(crate) fn in_progress(events: &[OrderEvent]) -> ServiceError {
    let last = events.last().map(|e| e.at_ms);
    ServiceError::in_progress(
        "the order's checkout, cancellation or refund is still running",
        crate::orchestrator::retry_after_secs(last, now_ms()),
    )
}

fn same_lines(recorded: &[RefundLine], asked: &[pb::RefundLine]) -> bool {
    let mut a: Vec<(String, i64)> = recorded.iter().map(|l| (l.sku.clone(), l.quantity)).collect();
    let mut b: Vec<(String, i64)> = asked
        .iter()
        .map(|l| (l.sku.trim().to_owned(), l.quantity))
        .collect();
    a.sort();
    b.sort();
    a == b
}

/// The lines to refund: every unit not yet refunded when none are named; otherwise the named
/// ones, each at most what was bought and not yet refunded.
fn refund_lines(order: &Order, asked: &[pb::RefundLine]) -> Result<Vec<RefundLine>, ServiceError> {
    let mut lines: Vec<RefundLine> = Vec::new();
    if asked.is_empty() {
        lines = order
            .lines
            .iter()
            .filter(|l| l.quantity > l.refunded_quantity)
            .map(|l| RefundLine {
                sku: l.sku.clone(),
                quantity: l.quantity - l.refunded_quantity,
            })
            .collect();
    } else {
        for a in asked {
            let sku = a.sku.trim();
            let Some(line) = order.lines.iter().find(|l| l.sku == sku) else {
                return Err(ServiceError::invalid_field(
                    "lines",
                    &format!("SKU {sku} is not in the order"),
                ));
            };
            match lines.iter_mut().find(|r| r.sku == sku) {
                Some(r) => r.quantity += a.quantity,
                None => lines.push(RefundLine {
                    sku: sku.to_owned(),
                    quantity: a.quantity,
                }),
            }
            let total = lines.iter().find(|r| r.sku == sku).map_or(0, |r| r.quantity);
            if a.quantity < 1 || total > line.quantity - line.refunded_quantity {
                return Err(ServiceError::invalid_field(
                    "lines",
                    &format!(
                        "quantity of {sku} must be between 1 and {} (bought less already refunded)",
                        line.quantity - line.refunded_quantity
                    ),
                ));
            }
        }
    }
    if lines.is_empty() {
        return Err(ServiceError::new(
            ErrorCode::OrderNotRefundable,
            "nothing is left to refund",
        ));
    }
    Ok(lines)
}

/// The refund of `lines`: their price at the sale, at most what is still captured; the whole
/// order's stock goes back at once when nothing was refunded before and every unit is.
fn refund_request(order: &Order, key: String, lines: Vec<RefundLine>) -> EventData {
    // Each unit returns what it paid (its share of the line's discount and tax included,
    // `OrderCharges::share`); the refund that leaves no unit unrefunded returns the rest of
    // what was captured, shipping included.
    let paid = |r: &RefundLine| {
        order.lines.iter().find(|l| l.sku == r.sku).map_or(0, |l| {
            order
                .charges
                .share(&r.sku, l.quantity, l.refunded_quantity, r.quantity)
                .map_or(r.quantity * l.unit_price_minor, |s| s.amount_minor)
        })
    };
    let last = order.lines.iter().all(|l| {
        l.refunded_quantity
            + lines
                .iter()
                .filter(|r| r.sku == l.sku)
                .map(|r| r.quantity)
                .sum::<i64>()
            >= l.quantity
    });
    let amount: i64 = if last {
        order.captured_minor - order.refunded_minor
    } else {
        lines.iter().map(paid).sum()
    };
    let untouched = order.lines.iter().all(|l| l.refunded_quantity == 0);
    let everything = order
        .lines
        .iter()
        .all(|l| lines.iter().find(|r| r.sku == l.sku).map_or(0, |r| r.quantity) == l.quantity);
    EventData::RefundRequested {
        key,
        amount_minor: amount.min(order.captured_minor - order.refunded_minor),
        restock_all: untouched && everything,
        lines,
    }
}
