//! The events the payments service publishes, each carrying the whole intent after the change.

use crate::store::IntentRecord;
use mercato_proto::events::{EventEnvelope, PaymentChanged};
use mercato_runtime::outbox::envelope;

pub use mercato_proto::subjects::payments::{
    PAYMENT_AUTHORIZED, PAYMENT_CAPTURED, PAYMENT_DECLINED, PAYMENT_FLAGGED, PAYMENT_REFUNDED, PAYMENT_VOIDED,
};

/// `PaymentChanged` under `subject`.
pub fn payment_changed(subject: &str, intent: &IntentRecord) -> EventEnvelope {
    let event = PaymentChanged {
        intent: Some(intent.to_proto()),
    };
    envelope(&intent.store_id.to_string(), subject, 1, &event)
}
