//! The payments domain: card numbers and their tokenized payment methods (brand, keyed
//! fingerprint), the validated inputs of authorizations, scores and money
//! movements, the intent state machine and fraud scoring. Pure: no IO, no clock, no randomness
//! beyond new ids, and no wire format (requests are checked in `crate::requests`).

pub mod fraud;
pub mod inputs;
pub mod intent;
pub mod payment_method;

pub use inputs::{AuthorizeInput, MoneyMovement, ScoreInput, Shopper};
pub use intent::{Command, FailureCode, IntentState, Status, TransitionError, transition};
pub use mercato_runtime::payment_details::{CardNumber, PaymentMethodId};
pub use payment_method::{Brand, FingerprintKey};

mercato_runtime::define_id!(
    /// A payment intent of one store.
    IntentId
);
