//! What a request to move money or to score one becomes once every field passed (the checks are
//! the edge's, in `crate::requests`): the facts an authorization or a score is decided on (the
//! amount, the card, the [`Shopper`]), and the four facts a capture, void or refund names.

use super::{CardNumber, IntentId, PaymentMethodId};
use mercato_runtime::ids::StoreId;
use mercato_runtime::money::Currency;

/// The largest amount accepted, in minor units (ten billion major units).
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000;

/// An authorization to ask for.
#[derive(Clone, Debug)]
pub struct AuthorizeInput {
    pub order_id: String,
    pub idempotency_key: String,
    pub amount_minor: i64,
    pub currency: Currency,
    pub payment_method: PaymentMethodId,
    pub shopper: Shopper,
}

/// A card to tokenize: its number (for the provider and the fingerprint only) and the billing
/// country given with it. Expiry and verification code are checked at the edge and dropped.
#[derive(Clone, Debug)]
pub struct NewPaymentMethod {
    pub card: CardNumber,
    pub billing_country: String,
}

/// The facts of a fraud score; the payment method is optional there.
#[derive(Clone, Debug)]
pub struct ScoreInput {
    pub amount_minor: i64,
    pub currency: Currency,
    pub payment_method: Option<PaymentMethodId>,
    pub shopper: Shopper,
}

/// Who pays, and from where: what fraud scoring looks at beyond the amount and the card.
#[derive(Clone, Debug)]
pub struct Shopper {
    pub customer_id: String,
    /// Trimmed, lower case; may be empty.
    pub email: String,
    /// Upper case ISO 3166 alpha-2, or empty.
    pub billing_country: String,
    pub shipping_country: String,
    /// The shopper's address when it is a public one (see
    /// [`super::fraud::counts_for_velocity`]), in canonical form; empty otherwise.
    pub client_ip: String,
}

/// A capture, void or refund of one intent: which intent, under which client key, how much.
#[derive(Clone, Debug)]
pub struct MoneyMovement {
    pub store: StoreId,
    pub intent: IntentId,
    pub key: String,
    /// Minor units; 0 moves all there is to move (a void always moves all).
    pub amount_minor: i64,
}
