//! The inventory's domain: validated value types, stock levels and reservations, and the pure
//! rules (allocation across locations, reservation transitions, the low-stock crossing) that need
//! no IO.

pub mod allocation;
pub mod reservation;
pub mod stock;
pub mod validate;
pub mod values;

pub use reservation::{Action, Decision, LineRecord, ReservationRecord, Status};
pub use stock::{StockChange, StockLevel};
pub use values::{Location, ReservationId, Sku};
