//! The payment provider behind a trait, and the one implementation shipped: [`test::TestProvider`].
//!
//! Every call carries a provider idempotency key derived by the service
//! (`auth:<client key>`, `capture:<intent id>`, `void:<intent id>`,
//! `refund:<intent id>:<client key>`): a provider answers a repeated key with its first outcome
//! and moves no money twice. That is what makes retrying after a crash or a timeout safe.

pub mod test;

use crate::domain::CardNumber;
use async_trait::async_trait;
use mercato_runtime::money::Currency;

/// A provider's answer to one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderReply {
    /// The provider's id of this operation (for an authorization: what later calls reference).
    pub entry_id: String,
    /// `None` when approved, else the provider's decline code (`card_declined`,
    /// `insufficient_funds`, or a refusal of an inconsistent capture, void or refund).
    pub decline: Option<String>,
    /// The amount the provider recorded; for a repeated key, the first call's amount.
    pub amount_minor: i64,
}

impl ProviderReply {
    pub fn approved(&self) -> bool {
        self.decline.is_none()
    }
}

/// The provider could not be asked; nothing was recorded on its side, so the same key may be
/// retried.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
}

/// A card processor.
#[async_trait]
pub trait PaymentProvider: Send + Sync + 'static {
    /// Exchanges a card number for the provider's token of it; the number is not needed again.
    async fn tokenize(&self, card: &CardNumber) -> Result<String, ProviderError>;

    /// Reserves `amount_minor` on the card behind `token` (from [`PaymentProvider::tokenize`]).
    async fn authorize(
        &self,
        key: &str,
        token: &str,
        amount_minor: i64,
        currency: &Currency,
    ) -> Result<ProviderReply, ProviderError>;

    /// Takes `amount_minor` (at most the authorized amount) of an authorization.
    async fn capture(
        &self,
        key: &str,
        authorization: &str,
        amount_minor: i64,
    ) -> Result<ProviderReply, ProviderError>;

    /// Releases an authorization that was not captured.
    async fn void(&self, key: &str, authorization: &str) -> Result<ProviderReply, ProviderError>;

    /// Returns `amount_minor` of what was captured on an authorization.
    async fn refund(
        &self,
        key: &str,
        authorization: &str,
        amount_minor: i64,
    ) -> Result<ProviderReply, ProviderError>;
}
