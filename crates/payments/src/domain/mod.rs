//! The payments domain: card numbers, the intent state machine, fraud scoring and request
//! validation. Pure: no IO, no clock, no randomness beyond new ids.

pub mod fraud;
pub mod intent;
pub mod validate;

pub use intent::{Command, FailureCode, IntentState, Status, TransitionError, transition};
pub use mercato_runtime::payment_details::CardNumber;

mercato_runtime::define_id!(
    /// A payment intent of one store.
    IntentId
);
