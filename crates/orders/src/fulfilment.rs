//! Fulfilment use cases (owner and staff): send some or all of a confirmed order's units from a
//! location with the carrier's tracking, then mark the parcel shipped and delivered. Each step
//! is an event in the order's history and an `OrderChanged` on the bus (`fulfilment_*`), written
//! in one transaction; `after_sale` appends it, and `returns` uses it too.
//!
//! A fulfilment is idempotent by its key (kept in its event): the same key again answers the
//! order. Marking a parcel as it already is (or was: delivered, then shipped again) changes
//! nothing, so those calls are safe to repeat without a key.

use crate::domain::fulfilment::{ShipmentStatus, Tracking};
use crate::domain::order::RefundLine;
use crate::domain::{Caller, EventData, Order, OrderEvent, OrderStatus};
use crate::events;
use crate::orchestrator::LEASE_MS;
use crate::orders::{in_progress, key, order_id};
use crate::service::{OrdersService, store_id};
use crate::store::{Settle, StoreError};
use crate::wire;
use mercato_proto::orders as pb;
use mercato_runtime::error::{ErrorCode, ServiceError, Validator};
use mercato_runtime::ids::StoreId;
use mercato_runtime::time::now_ms;

/// The longest carrier name and tracking number taken.
const MAX_TRACKING: usize = 100;
/// The longest tracking URL taken.
const MAX_URL: usize = 500;

pub(crate) fn staff_only(caller: &Caller, what: &str) -> Result<(), ServiceError> {
    if caller.is_staff() {
        Ok(())
    } else {
        Err(ServiceError::forbidden(format!(
            "only the store's owner or staff may {what}"
        )))
    }
}

/// Whether the order stands as a sale whose goods may be sent or returned.
pub(crate) fn is_a_sale(order: &Order) -> bool {
    matches!(
        order.status,
        OrderStatus::Confirmed | OrderStatus::PartiallyRefunded
    )
}

/// A location name as inventory takes it (`[a-z0-9-]`, 1–40); empty is left for the default.
fn check_location(v: &mut Validator, location: &str) {
    let ok = location.len() <= 40
        && location
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        v.add("location", "must be 1-40 characters of a-z, 0-9 and -");
    }
}

/// The tracking a request gives, each field checked and trimmed.
fn tracking(v: &mut Validator, carrier: &str, number: &str, url: &str) -> Tracking {
    let (carrier, number, url) = (carrier.trim(), number.trim(), url.trim());
    let printable = |s: &str| !s.chars().any(char::is_control);
    if carrier.chars().count() > MAX_TRACKING || !printable(carrier) {
        v.add("carrier", "must be at most 100 printable characters");
    }
    if number.chars().count() > MAX_TRACKING || !printable(number) {
        v.add("tracking_number", "must be at most 100 printable characters");
    }
    let web = url.starts_with("https://") || url.starts_with("http://");
    if !url.is_empty() && (!web || url.len() > MAX_URL || !url.bytes().all(|b| b.is_ascii_graphic())) {
        v.add("tracking_url", "must be an http(s) URL of at most 500 characters");
    }
    Tracking {
        carrier: carrier.to_owned(),
        number: number.to_owned(),
        url: url.to_owned(),
    }
}

/// The units a request names, merged by SKU and each checked against `most(sku)` (what may still
/// be sent or returned); none named means every unit `most` allows.
pub(crate) fn units(
    order: &Order,
    asked: &[pb::ItemQuantity],
    most: impl Fn(&str) -> i64,
    what: &str,
) -> Result<Vec<RefundLine>, ServiceError> {
    if asked.is_empty() {
        return Ok(order
            .lines
            .iter()
            .map(|l| RefundLine {
                sku: l.sku.clone(),
                quantity: most(&l.sku),
            })
            .filter(|l| l.quantity > 0)
            .collect());
    }
    let mut v = Validator::new();
    let mut lines: Vec<RefundLine> = Vec::new();
    for (i, a) in asked.iter().enumerate() {
        let sku = a.sku.trim();
        if !order.lines.iter().any(|l| l.sku == sku) {
            v.add(&format!("lines[{i}].sku"), &format!("{sku} is not in the order"));
            continue;
        }
        let total = lines.iter().find(|r| r.sku == sku).map_or(0, |r| r.quantity) + a.quantity;
        if a.quantity < 1 || total > most(sku) {
            v.add(
                &format!("lines[{i}].quantity"),
                &format!("{sku}: must be between 1 and {} (what {what})", most(sku)),
            );
            continue;
        }
        match lines.iter_mut().find(|r| r.sku == sku) {
            Some(r) => r.quantity = total,
            None => lines.push(RefundLine {
                sku: sku.to_owned(),
                quantity: a.quantity,
            }),
        }
    }
    v.finish()?;
    Ok(lines)
}

impl OrdersService {
    /// Appends an after-sale event to a settled order with its `OrderChanged` under `subject`,
    /// in one transaction; an event that reopens the saga (a received return) is then driven.
    pub(crate) async fn after_sale(
        &self,
        store: &StoreId,
        mut order: Order,
        data: EventData,
        subject: &str,
    ) -> Result<Order, ServiceError> {
        let now = now_ms();
        let event = OrderEvent {
            sequence: order.version + 1,
            at_ms: now,
            data,
        };
        let from = order.saga.name();
        order
            .apply(&event)
            .map_err(|e| ServiceError::new(ErrorCode::ChangedConcurrently, e.to_string()))?;
        let outbox = [events::order_changed(subject, &order)];
        let settle = Settle {
            order: &order,
            events: std::slice::from_ref(&event),
            outbox: &outbox,
            locked_until_ms: now + LEASE_MS,
            reopen_cart: None,
        };
        match self.store.settle(store, &settle).await {
            Ok(()) => self.committed(),
            Err(StoreError::Stale) => {
                return Err(ServiceError::changed_concurrently(
                    "the order changed meanwhile; retry",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        if order.settled() {
            return Ok(order);
        }
        metrics::counter!(crate::orchestrator::SAGA_TRANSITIONS.name, "from" => from, "to" => order.saga.name())
            .increment(1);
        self.drive(store, order, None).await
    }

    pub(crate) async fn create_fulfilment(
        &self,
        req: pb::CreateFulfilmentRequest,
    ) -> Result<pb::Order, ServiceError> {
        let store = store_id(&req.store_id)?;
        let id = order_id(&req.order_id)?;
        let caller = wire::caller(req.caller.as_ref())?;
        let key = key(&req.idempotency_key)?;
        let (events, order) = self.visible_history(&store, &id, &caller).await?;
        staff_only(&caller, "fulfil orders")?;
        if order.fulfilments.iter().any(|f| f.key == key) {
            return Ok(wire::order(&order));
        }
        if !order.settled() {
            return Err(in_progress(&events));
        }
        if !is_a_sale(&order) {
            return Err(ServiceError::new(
                ErrorCode::OrderNotFulfillable,
                format!("a {} order cannot be fulfilled", order.status.as_str()),
            ));
        }
        let lines = units(
            &order,
            &req.lines,
            |sku| order.fulfillable_quantity(sku),
            "is bought and not yet sent",
        )?;
        if lines.is_empty() {
            return Err(ServiceError::new(
                ErrorCode::OrderNotFulfillable,
                "every unit of the order was sent already",
            ));
        }
        let mut v = Validator::new();
        let location = req.location.trim();
        if !location.is_empty() {
            check_location(&mut v, location);
        }
        let tracking = tracking(&mut v, &req.carrier, &req.tracking_number, &req.tracking_url);
        v.finish()?;
        let location = match location {
            "" => default_location(&order, &lines),
            given => given.to_owned(),
        };
        let data = EventData::FulfilmentCreated {
            fulfilment_id: uuid::Uuid::now_v7().to_string(),
            key: key.clone(),
            location,
            lines,
            tracking,
        };
        match self
            .after_sale(&store, order, data, events::FULFILMENT_CREATED)
            .await
        {
            // A concurrent request with this key may have recorded it first: its answer.
            Err(e) if e.code == ErrorCode::ChangedConcurrently => match self.load_order(&store, &id).await? {
                Some(now) if now.fulfilments.iter().any(|f| f.key == key) => Ok(wire::order(&now)),
                _ => Err(e),
            },
            result => result.map(|o| wire::order(&o)),
        }
    }

    pub(crate) async fn update_fulfilment(
        &self,
        req: pb::UpdateFulfilmentRequest,
    ) -> Result<pb::Order, ServiceError> {
        let store = store_id(&req.store_id)?;
        let id = order_id(&req.order_id)?;
        let caller = wire::caller(req.caller.as_ref())?;
        let (_, order) = self.visible_history(&store, &id, &caller).await?;
        staff_only(&caller, "update fulfilments")?;
        let fulfilment = order
            .fulfilment(req.fulfilment_id.trim())
            .ok_or_else(|| ServiceError::not_found("fulfilment"))?;
        let mut v = Validator::new();
        let tracking = tracking(&mut v, &req.carrier, &req.tracking_number, &req.tracking_url);
        let to = match pb::ShipmentStatus::try_from(req.status) {
            Ok(pb::ShipmentStatus::Shipped) => ShipmentStatus::Shipped,
            Ok(pb::ShipmentStatus::Delivered) => ShipmentStatus::Delivered,
            _ => {
                v.add("status", "must be shipped or delivered");
                ShipmentStatus::Pending
            }
        };
        v.finish()?;
        let fulfilment_id = fulfilment.id.clone();
        let (data, subject) = match (fulfilment.status, to) {
            // Already there (or further): nothing changes.
            (ShipmentStatus::Shipped | ShipmentStatus::Delivered, ShipmentStatus::Shipped)
            | (ShipmentStatus::Delivered, ShipmentStatus::Delivered) => return Ok(wire::order(&order)),
            (_, ShipmentStatus::Shipped) => (
                EventData::FulfilmentShipped {
                    fulfilment_id,
                    tracking,
                },
                events::FULFILMENT_SHIPPED,
            ),
            _ => (
                EventData::FulfilmentDelivered { fulfilment_id },
                events::FULFILMENT_DELIVERED,
            ),
        };
        if !order.settled() {
            return Err(in_progress(&self.store.events(&store, &id, None).await?));
        }
        Ok(wire::order(&self.after_sale(&store, order, data, subject).await?))
    }
}

/// Where the units were reserved: the location holding most of the fulfilment's first SKU.
fn default_location(order: &Order, lines: &[RefundLine]) -> String {
    lines
        .first()
        .and_then(|l| {
            order
                .held
                .iter()
                .filter(|h| h.sku == l.sku)
                .max_by_key(|h| h.quantity)
        })
        .map_or_else(|| "default".to_owned(), |h| h.location.clone())
}
