//! The events the payments service publishes, each carrying the whole intent after the change.

use crate::store::IntentRecord;
use mercato_proto::events::{EventEnvelope, PaymentChanged};
use mercato_runtime::outbox::envelope;

pub const PAYMENT_AUTHORIZED: &str = "mercato.payments.payment_authorized";
pub const PAYMENT_DECLINED: &str = "mercato.payments.payment_declined";
pub const PAYMENT_FLAGGED: &str = "mercato.payments.payment_flagged";
pub const PAYMENT_CAPTURED: &str = "mercato.payments.payment_captured";
pub const PAYMENT_VOIDED: &str = "mercato.payments.payment_voided";
pub const PAYMENT_REFUNDED: &str = "mercato.payments.payment_refunded";

/// `PaymentChanged` under `subject`.
pub fn payment_changed(subject: &str, intent: &IntentRecord) -> EventEnvelope {
    let event = PaymentChanged {
        intent: Some(intent.to_proto()),
    };
    envelope(&intent.store_id.to_string(), subject, 1, &event)
}
