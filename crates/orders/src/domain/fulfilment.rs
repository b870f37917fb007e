//! After the sale: an order's fulfilments (which units left from where, with which tracking,
//! and how far they got) and its returns, folded from the order's history, and the rules on how
//! many units each may name. No IO.
//!
//! Units of a line are *owed* until sent: bought, less those refunded without coming back (a
//! refund of unsent units). A fulfilment may name at most the units owed and not yet sent; a
//! return at most the units sent and not already in another return (a rejected one frees them).

use super::order::{HeldLine, Order, OrderEvent, RefundLine};

/// How far a fulfilment got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ShipmentStatus {
    /// Packed, not yet handed to the carrier.
    #[default]
    Pending,
    Shipped,
    Delivered,
}

impl ShipmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ShipmentStatus::Pending => "pending",
            ShipmentStatus::Shipped => "shipped",
            ShipmentStatus::Delivered => "delivered",
        }
    }
}

/// The carrier's reference for a parcel; empty fields are unknown.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tracking {
    pub carrier: String,
    pub number: String,
    pub url: String,
}

impl Tracking {
    /// This tracking with every field `newer` gives replaced.
    fn updated(&self, newer: &Tracking) -> Tracking {
        let pick = |new: &str, old: &str| if new.is_empty() { old } else { new }.to_owned();
        Tracking {
            carrier: pick(&newer.carrier, &self.carrier),
            number: pick(&newer.number, &self.number),
            url: pick(&newer.url, &self.url),
        }
    }
}

/// Units sent together from one location.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fulfilment {
    pub id: String,
    /// The idempotency key it was created under (a retry finds it).
    pub key: String,
    pub location: String,
    pub lines: Vec<RefundLine>,
    pub tracking: Tracking,
    pub status: ShipmentStatus,
    pub created_at_ms: i64,
    pub shipped_at_ms: i64,
    pub delivered_at_ms: i64,
}

/// An order's fulfilment state, a dimension apart from its payment state (`OrderStatus`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FulfilmentStatus {
    #[default]
    Unfulfilled,
    PartiallyFulfilled,
    /// Every unit owed is in a fulfilment; not every fulfilment has shipped.
    Fulfilled,
    Shipped,
    Delivered,
}

impl FulfilmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FulfilmentStatus::Unfulfilled => "unfulfilled",
            FulfilmentStatus::PartiallyFulfilled => "partially_fulfilled",
            FulfilmentStatus::Fulfilled => "fulfilled",
            FulfilmentStatus::Shipped => "shipped",
            FulfilmentStatus::Delivered => "delivered",
        }
    }

    /// Every status, for parsing filters.
    pub const ALL: [FulfilmentStatus; 5] = [
        FulfilmentStatus::Unfulfilled,
        FulfilmentStatus::PartiallyFulfilled,
        FulfilmentStatus::Fulfilled,
        FulfilmentStatus::Shipped,
        FulfilmentStatus::Delivered,
    ];
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnStatus {
    Requested,
    Approved,
    Rejected,
    /// Received; its refund and restock are under way.
    Received,
    /// Received, refunded and restocked.
    Completed,
}

impl ReturnStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnStatus::Requested => "requested",
            ReturnStatus::Approved => "approved",
            ReturnStatus::Rejected => "rejected",
            ReturnStatus::Received => "received",
            ReturnStatus::Completed => "completed",
        }
    }
}

/// Units of a SKU in a return; `sellable` is known once they are received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnedLine {
    pub sku: String,
    pub quantity: i64,
    pub sellable: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Return {
    pub id: String,
    /// The idempotency key it was requested under (a retry finds it).
    pub key: String,
    pub status: ReturnStatus,
    pub lines: Vec<ReturnedLine>,
    pub reason: String,
    pub by_customer: bool,
    /// What receiving it refunds; 0 until received.
    pub refund_minor: i64,
    pub requested_at_ms: i64,
    pub updated_at_ms: i64,
}

impl Return {
    /// Whether its units still count against what may be returned.
    fn holds_units(&self) -> bool {
        self.status != ReturnStatus::Rejected
    }
}

fn units(lines: &[RefundLine], sku: &str) -> i64 {
    lines.iter().filter(|l| l.sku == sku).map(|l| l.quantity).sum()
}

impl Order {
    /// Units of `sku` sent in fulfilments.
    pub fn fulfilled_quantity(&self, sku: &str) -> i64 {
        self.fulfilments.iter().map(|f| units(&f.lines, sku)).sum()
    }

    /// Units of `sku` received back by completed returns (and so refunded).
    pub fn returned_quantity(&self, sku: &str) -> i64 {
        self.returns
            .iter()
            .filter(|r| r.status == ReturnStatus::Completed)
            .flat_map(|r| r.lines.iter().filter(|l| l.sku == sku))
            .map(|l| l.quantity)
            .sum()
    }

    /// Units of `sku` owed to the buyer: bought, less those refunded without coming back.
    fn owed_quantity(&self, sku: &str) -> i64 {
        let Some(line) = self.lines.iter().find(|l| l.sku == sku) else {
            return 0;
        };
        line.quantity - (line.refunded_quantity - self.returned_quantity(sku))
    }

    /// Units of `sku` a new fulfilment may still send.
    pub fn fulfillable_quantity(&self, sku: &str) -> i64 {
        (self.owed_quantity(sku) - self.fulfilled_quantity(sku)).max(0)
    }

    /// Units of `sku` a new return may still name: sent, and in no other return.
    pub fn returnable_quantity(&self, sku: &str) -> i64 {
        let in_returns: i64 = self
            .returns
            .iter()
            .filter(|r| r.holds_units())
            .flat_map(|r| r.lines.iter().filter(|l| l.sku == sku))
            .map(|l| l.quantity)
            .sum();
        (self.fulfilled_quantity(sku) - in_returns).max(0)
    }

    /// Where the goods are: see [`FulfilmentStatus`].
    pub fn fulfilment_status(&self) -> FulfilmentStatus {
        if self.fulfilments.is_empty() {
            return FulfilmentStatus::Unfulfilled;
        }
        if self.lines.iter().any(|l| self.fulfillable_quantity(&l.sku) > 0) {
            return FulfilmentStatus::PartiallyFulfilled;
        }
        let all = |s: &[ShipmentStatus]| self.fulfilments.iter().all(|f| s.contains(&f.status));
        if all(&[ShipmentStatus::Delivered]) {
            FulfilmentStatus::Delivered
        } else if all(&[ShipmentStatus::Shipped, ShipmentStatus::Delivered]) {
            FulfilmentStatus::Shipped
        } else {
            FulfilmentStatus::Fulfilled
        }
    }

    pub fn fulfilment(&self, id: &str) -> Option<&Fulfilment> {
        self.fulfilments.iter().find(|f| f.id == id)
    }

    pub fn return_of(&self, id: &str) -> Option<&Return> {
        self.returns.iter().find(|r| r.id == id)
    }

    /// Where the sellable units of `lines` go back: the locations they were sent from, the
    /// earliest fulfilments first.
    pub fn restock_plan(&self, lines: &[ReturnedLine]) -> Vec<HeldLine> {
        let mut plan: Vec<HeldLine> = Vec::new();
        for line in lines.iter().filter(|l| l.sellable) {
            let mut left = line.quantity;
            for f in &self.fulfilments {
                let take = left.min(units(&f.lines, &line.sku));
                if take <= 0 {
                    continue;
                }
                match plan
                    .iter_mut()
                    .find(|p| p.sku == line.sku && p.location == f.location)
                {
                    Some(p) => p.quantity += take,
                    None => plan.push(HeldLine {
                        sku: line.sku.clone(),
                        location: f.location.clone(),
                        quantity: take,
                    }),
                }
                left -= take;
            }
        }
        plan
    }

    /// Applies an after-sale event to the fulfilments and returns (the saga's part of the
    /// event, if any, is [`super::saga::step`]'s).
    pub(super) fn apply_after_sale(&mut self, event: &OrderEvent) {
        use super::order::EventData as E;
        let at = event.at_ms;
        match &event.data {
            E::FulfilmentCreated {
                fulfilment_id,
                key,
                location,
                lines,
                tracking,
            } => self.fulfilments.push(Fulfilment {
                id: fulfilment_id.clone(),
                key: key.clone(),
                location: location.clone(),
                lines: lines.clone(),
                tracking: tracking.clone(),
                status: ShipmentStatus::Pending,
                created_at_ms: at,
                shipped_at_ms: 0,
                delivered_at_ms: 0,
            }),
            E::FulfilmentShipped {
                fulfilment_id,
                tracking,
            } => {
                if let Some(f) = self.fulfilments.iter_mut().find(|f| f.id == *fulfilment_id) {
                    f.status = ShipmentStatus::Shipped;
                    f.shipped_at_ms = at;
                    f.tracking = f.tracking.updated(tracking);
                }
            }
            E::FulfilmentDelivered { fulfilment_id } => {
                if let Some(f) = self.fulfilments.iter_mut().find(|f| f.id == *fulfilment_id) {
                    f.status = ShipmentStatus::Delivered;
                    f.delivered_at_ms = at;
                    if f.shipped_at_ms == 0 {
                        f.shipped_at_ms = at;
                    }
                }
            }
            E::ReturnRequested {
                return_id,
                key,
                lines,
                reason,
                by_customer,
            } => self.returns.push(Return {
                id: return_id.clone(),
                key: key.clone(),
                status: ReturnStatus::Requested,
                lines: lines
                    .iter()
                    .map(|l| ReturnedLine {
                        sku: l.sku.clone(),
                        quantity: l.quantity,
                        sellable: false,
                    })
                    .collect(),
                reason: reason.clone(),
                by_customer: *by_customer,
                refund_minor: 0,
                requested_at_ms: at,
                updated_at_ms: at,
            }),
            E::ReturnApproved { return_id } => self.move_return(return_id, ReturnStatus::Approved, at),
            E::ReturnRejected { return_id } => self.move_return(return_id, ReturnStatus::Rejected, at),
            E::ReturnReceived {
                return_id,
                lines,
                amount_minor,
                ..
            } => {
                self.move_return(return_id, ReturnStatus::Received, at);
                if let Some(r) = self.returns.iter_mut().find(|r| r.id == *return_id) {
                    r.lines = lines.clone();
                    r.refund_minor = *amount_minor;
                }
            }
            E::ReturnCompleted { return_id, lines, .. } => {
                self.move_return(return_id, ReturnStatus::Completed, at);
                self.count_refunded(lines);
            }
            _ => {}
        }
    }

    fn move_return(&mut self, id: &str, status: ReturnStatus, at_ms: i64) {
        if let Some(r) = self.returns.iter_mut().find(|r| r.id == id) {
            r.status = status;
            r.updated_at_ms = at_ms;
        }
    }
}

/// What returning `lines` gives back: what those units paid, their share of the line's
/// discount and tax included ([`super::charges::OrderCharges::share`], the units counted after
/// those of the line already refunded, so that unit-by-unit returns add up to what the line
/// paid). An order placed before pricing recorded no charges: its units paid their unit price.
/// Shipping is not returned with goods. The one place a return's refund is computed; never more
/// than is still captured.
pub fn returned_amount(order: &Order, lines: &[ReturnedLine]) -> i64 {
    let mut amount = 0;
    for (i, r) in lines.iter().enumerate() {
        let Some(line) = order.lines.iter().find(|l| l.sku == r.sku) else {
            continue;
        };
        // Units of this SKU earlier in this receipt come before these.
        let earlier: i64 = lines[..i]
            .iter()
            .filter(|l| l.sku == r.sku)
            .map(|l| l.quantity)
            .sum();
        let already = line.refunded_quantity + earlier;
        amount += order
            .charges
            .share(&r.sku, line.quantity, already, r.quantity)
            .map_or(r.quantity * line.unit_price_minor, |s| s.amount_minor);
    }
    amount.min(order.captured_minor - order.refunded_minor).max(0)
}

#[cfg(test)]
#[path = "fulfilment_tests.rs"]
mod tests;
