//! The inventory contract at the edge: the domain's stock levels and reservations as
//! `inventory.proto` messages. The domain knows no wire format; its values get their
//! `to_proto` here.

use crate::domain::{ReservationRecord, Status, StockLevel};
use mercato_proto::inventory as pb;

impl StockLevel {
    pub fn to_proto(&self) -> pb::StockLevel {
        pb::StockLevel {
            sku: self.sku.clone(),
            location: self.location.clone(),
            on_hand: self.on_hand,
            reserved: self.reserved,
            available: self.available(),
            low_stock_threshold: self.low_stock_threshold,
            version: self.version,
        }
    }
}

impl Status {
    /// The status as the contract carries it.
    pub fn to_proto(self) -> pb::ReservationStatus {
        match self {
            Status::Held => pb::ReservationStatus::Held,
            Status::Committed => pb::ReservationStatus::Committed,
            Status::Released => pb::ReservationStatus::Released,
            Status::Expired => pb::ReservationStatus::Expired,
            Status::Restocked => pb::ReservationStatus::Restocked,
        }
    }
}

impl ReservationRecord {
    pub fn to_proto(&self) -> pb::Reservation {
        pb::Reservation {
            id: self.id.to_string(),
            store_id: self.store_id.to_string(),
            status: self.status.to_proto().into(),
            lines: self
                .lines
                .iter()
                .map(|l| pb::ReservationLine {
                    sku: l.sku.clone(),
                    location: l.location.clone(),
                    quantity: l.quantity,
                })
                .collect(),
            expires_at_ms: self.expires_at_ms,
        }
    }
}
