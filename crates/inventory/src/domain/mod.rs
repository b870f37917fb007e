//! The inventory's domain: validated value types and inputs, stock levels and reservations, and
//! the pure rules (allocation across locations, reservation transitions, the low-stock crossing)
//! that need no IO. It knows no wire format: requests are checked in `crate::requests`, levels
//! and reservations become messages in `crate::wire`.

pub mod allocation;
pub mod reservation;
pub mod stock;
pub mod values;

pub use reservation::{Action, Decision, LineRecord, NewReservation, ReservationRecord, Status};
pub use stock::{StockChange, StockLevel, StockWrite};
pub use values::{Location, ReservationId, Sku};
