//! The pure rules of analytics, without IO: time zones and bucket keys (`zone`), the figures a
//! bucket holds (`counts`), ranges as the API gives them (`range`), the fold of order snapshots
//! into deltas and their application to a [`ledger::Ledger`] (`fold`, `ledger`), an order's
//! history replayed as the snapshots the live events carried (`history`), and the in-memory
//! ledger `verify` recomputes into (`memory`).

pub mod counts;
pub mod fold;
pub mod history;
pub mod ledger;
pub mod memory;
pub mod range;
pub mod sketch;
pub mod zone;
