//! The payments service's storage, behind one trait; [`sql::SqlPaymentsStore`] implements it on
//! SQLite and PostgreSQL alike.
//!
//! Every method takes the store (tenant) id first and every query filters on it. Writes take the
//! events describing them and append them to the outbox in the same transaction. Intents carry a
//! version: an update names the version it read and fails with [`StoreError::Stale`] when another
//! writer got there first, so the service re-reads and decides again.

mod fraud_sql;
pub mod migrations;
pub mod sql;

pub use migrations::MIGRATIONS;
pub use sql::SqlPaymentsStore;

use crate::domain::fraud::{Assessment, Decision, Reasons};
use crate::domain::{FailureCode, IntentId, IntentState, PaymentMethodId, Status};
use async_trait::async_trait;
use mercato_proto::events::EventEnvelope;
use mercato_proto::payments as pb;
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::ids::StoreId;

/// Which settlement an intent is committed to: at most one capture or one void, ever.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settlement {
    None,
    Capture,
    Void,
}

impl Settlement {
    pub fn as_str(self) -> &'static str {
        match self {
            Settlement::None => "",
            Settlement::Capture => "capture",
            Settlement::Void => "void",
        }
    }

    pub fn parse(s: &str) -> Option<Settlement> {
        Some(match s {
            "" => Settlement::None,
            "capture" => Settlement::Capture,
            "void" => Settlement::Void,
            _ => return None,
        })
    }
}

/// One payment intent, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntentRecord {
    pub id: IntentId,
    pub store_id: StoreId,
    pub order_id: String,
    pub idempotency_key: String,
    pub currency: String,
    pub state: IntentState,
    pub card_last4: String,
    /// The card's keyed fingerprint (HMAC-SHA256 hex; see `FingerprintKey`). Rows from before
    /// tokenization hold an unkeyed SHA-256 hash, which no fingerprint matches.
    pub card_fingerprint: String,
    pub customer_id: String,
    pub email: String,
    /// The shopper's public IP address, or empty.
    pub client_ip: String,
    pub fraud: Assessment,
    /// The provider's id of the authorization, once approved.
    pub provider_reference: String,
    /// The capture or void this intent is committed to, the client key that asked for it and
    /// the amount (captures). Set before the provider is called, so that two clients cannot
    /// both settle it.
    pub settle_kind: Settlement,
    pub settle_key: String,
    pub settle_minor: i64,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl IntentRecord {
    pub fn to_proto(&self) -> pb::PaymentIntent {
        pb::PaymentIntent {
            id: self.id.to_string(),
            store_id: self.store_id.to_string(),
            order_id: self.order_id.clone(),
            amount_minor: self.state.authorized,
            currency: self.currency.clone(),
            status: intent_status(self.state.status).into(),
            captured_minor: self.state.captured,
            refunded_minor: self.state.refunded,
            card_last4: self.card_last4.clone(),
            failure: self
                .state
                .failure
                .map_or(pb::PaymentFailure::None, payment_failure)
                .into(),
            fraud: Some(assessment_message(&self.fraud)),
            created_at_ms: self.created_at,
            updated_at_ms: self.updated_at,
        }
    }

    /// The same intent in a new state, one version on.
    pub fn next(&self, state: IntentState, now_ms: i64) -> IntentRecord {
        IntentRecord {
            state,
            version: self.version + 1,
            updated_at: now_ms,
            ..self.clone()
        }
    }
}

pub fn assessment_message(a: &Assessment) -> pb::FraudAssessment {
    pb::FraudAssessment {
        score: i32::from(a.score),
        reasons: a.reasons.iter().map(|r| r.as_str().to_owned()).collect(),
        decision: fraud_decision(a.decision).into(),
    }
}

fn intent_status(status: Status) -> pb::IntentStatus {
    match status {
        Status::Pending => pb::IntentStatus::Pending,
        Status::Authorized => pb::IntentStatus::Authorized,
        Status::Declined => pb::IntentStatus::Declined,
        Status::Failed => pb::IntentStatus::Failed,
        Status::Captured => pb::IntentStatus::Captured,
        Status::PartiallyRefunded => pb::IntentStatus::PartiallyRefunded,
        Status::Refunded => pb::IntentStatus::Refunded,
        Status::Voided => pb::IntentStatus::Voided,
    }
}

fn payment_failure(failure: FailureCode) -> pb::PaymentFailure {
    match failure {
        FailureCode::CardDeclined => pb::PaymentFailure::CardDeclined,
        FailureCode::InsufficientFunds => pb::PaymentFailure::InsufficientFunds,
        FailureCode::FraudBlocked => pb::PaymentFailure::FraudBlocked,
        FailureCode::ProviderUnavailable => pb::PaymentFailure::ProviderUnavailable,
    }
}

fn fraud_decision(decision: Decision) -> pb::FraudDecision {
    match decision {
        Decision::Allow => pb::FraudDecision::Allow,
        Decision::Flag => pb::FraudDecision::Flag,
        Decision::Block => pb::FraudDecision::Block,
    }
}

/// Where a refund is: `pending` from the claim until the provider answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundStatus {
    Pending,
    Done,
    /// The provider refused it; nothing was refunded.
    Refused,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Pending => "pending",
            RefundStatus::Done => "done",
            RefundStatus::Refused => "refused",
        }
    }

    pub fn parse(s: &str) -> Option<RefundStatus> {
        Some(match s {
            "pending" => RefundStatus::Pending,
            "done" => RefundStatus::Done,
            "refused" => RefundStatus::Refused,
            _ => return None,
        })
    }
}

/// One refund of an intent, keyed by the client's idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundRecord {
    pub id: String,
    pub store_id: StoreId,
    pub intent_id: IntentId,
    pub idempotency_key: String,
    pub amount_minor: i64,
    pub status: RefundStatus,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The raw signals fraud scoring needs, read in one go.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FraudHistory {
    pub counts: FraudCounts,
    /// Amounts of the store's most recent successful authorizations in the currency.
    pub recent_amounts: Vec<i64>,
}

/// The velocity counts and block-list hits of a [`FraudQuery`]: what an authorization must read
/// in the transaction that records it ([`PaymentsStore::insert_intent`]), so that concurrent
/// attempts count each other.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FraudCounts {
    pub customer_attempts: i64,
    pub card_attempts: i64,
    pub ip_attempts: i64,
    pub card_blocked: bool,
    pub email_blocked: bool,
}

/// Turns the counts read under the velocity locks into the intent to insert and its events.
pub type Decide = Box<dyn FnOnce(FraudCounts) -> (IntentRecord, Vec<EventEnvelope>) + Send>;

/// What the fraud history is asked about.
#[derive(Clone, Copy, Debug)]
pub struct FraudQuery<'a> {
    /// Empty: no customer signal.
    pub customer_id: &'a str,
    /// Empty: no card signal.
    pub card_fingerprint: &'a str,
    /// Empty: no address signal.
    pub client_ip: &'a str,
    pub email: &'a str,
    pub currency: &'a str,
    /// Attempts created at or after these instants count.
    pub customer_since: i64,
    pub card_since: i64,
    pub ip_since: i64,
    pub history_size: i64,
}

/// A block-list entry kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    /// Keyed by the card's keyed fingerprint.
    Card,
    /// Keyed by the lower-case email.
    Email,
}

impl BlockKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BlockKind::Card => "card",
            BlockKind::Email => "email",
        }
    }
}

/// How finishing a refund ended.
#[derive(Debug, PartialEq, Eq)]
pub enum RefundFinish {
    /// This call recorded it.
    Recorded,
    /// Another call had already finished the refund; nothing changed.
    AlreadyFinished,
}

/// The payments store's own refusals; everything else any store can run into is in
/// [`mercato_runtime::store_error::StoreError`].
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// A unique key (an idempotency key) is already taken.
    #[error("duplicate key")]
    Duplicate,
}

impl From<Refusal> for ServiceError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Duplicate => {
                ServiceError::new(ErrorCode::IdempotencyKeyReused, "idempotency key already used")
            }
        }
    }
}

/// What can go wrong in the payments store.
pub type StoreError = mercato_runtime::store_error::StoreError<Refusal>;

/// A tokenized card of one store, as stored: never its number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentMethodRecord {
    pub id: PaymentMethodId,
    pub store_id: StoreId,
    pub brand: String,
    pub last4: String,
    /// HMAC-SHA256 hex of the number under the fingerprint key.
    pub fingerprint: String,
    pub billing_country: String,
    /// The provider's token, which authorizations are made with.
    pub provider_token: String,
    pub created_at: i64,
}

impl PaymentMethodRecord {
    pub fn to_proto(&self) -> pb::PaymentMethod {
        pb::PaymentMethod {
            id: self.id.to_string(),
            store_id: self.store_id.to_string(),
            brand: self.brand.clone(),
            last4: self.last4.clone(),
            fingerprint: self.fingerprint.clone(),
            billing_country: self.billing_country.clone(),
            created_at_ms: self.created_at,
        }
    }
}

/// The payments service's storage. Every method takes the store id first (`insert_payment_method`
/// inside the record it writes).
#[async_trait]
pub trait PaymentsStore: Send + Sync + 'static {
    async fn ping(&self) -> bool;

    async fn insert_payment_method(&self, method: &PaymentMethodRecord) -> Result<(), StoreError>;

    /// The store's payment method `id`; another store's is `None`.
    async fn payment_method(
        &self,
        store: &StoreId,
        id: &PaymentMethodId,
    ) -> Result<Option<PaymentMethodRecord>, StoreError>;

    /// Records a new authorization attempt in one transaction: serialised with every other
    /// attempt sharing its card, customer or address (`q`'s velocity keys), it reads the
    /// [`FraudCounts`] of `q`, lets `decide` make the intent and its events from them, and
    /// inserts those. Returns the inserted intent; `Duplicate` (nothing inserted) when the store
    /// already has an intent with its idempotency key.
    async fn insert_intent(
        &self,
        store: &StoreId,
        q: &FraudQuery<'_>,
        decide: Decide,
    ) -> Result<IntentRecord, StoreError>;

    async fn intent(&self, store: &StoreId, id: &IntentId) -> Result<Option<IntentRecord>, StoreError>;

    async fn intent_by_key(&self, store: &StoreId, key: &str) -> Result<Option<IntentRecord>, StoreError>;

    /// Replaces an intent whose stored version is `expected` with `next` and appends the events;
    /// `Stale` when the version moved on.
    async fn update_intent(
        &self,
        store: &StoreId,
        next: &IntentRecord,
        expected: i64,
        events: &[EventEnvelope],
    ) -> Result<(), StoreError>;

    async fn refund_by_key(
        &self,
        store: &StoreId,
        intent: &IntentId,
        key: &str,
    ) -> Result<Option<RefundRecord>, StoreError>;

    /// The sum of an intent's refunds still waiting for the provider.
    async fn pending_refunds(&self, store: &StoreId, intent: &IntentId) -> Result<i64, StoreError>;

    /// Reserves a refund: bumps the intent's version from `expected` (so that concurrent claims
    /// serialise) and inserts the pending refund. `Stale` or `Duplicate` (its key) otherwise.
    async fn claim_refund(
        &self,
        store: &StoreId,
        expected: i64,
        refund: &RefundRecord,
    ) -> Result<(), StoreError>;

    /// Marks a pending refund `status` and, when given, replaces the intent (version
    /// `expected`) and appends the events, in one transaction.
    async fn finish_refund(
        &self,
        store: &StoreId,
        refund_id: &str,
        status: RefundStatus,
        intent: Option<(&IntentRecord, i64)>,
        events: &[EventEnvelope],
    ) -> Result<RefundFinish, StoreError>;

    async fn fraud_history(&self, store: &StoreId, q: &FraudQuery<'_>) -> Result<FraudHistory, StoreError>;

    /// [`FraudHistory::recent_amounts`] alone (an authorization reads its counts in
    /// [`Self::insert_intent`]).
    async fn recent_amounts(&self, store: &StoreId, q: &FraudQuery<'_>) -> Result<Vec<i64>, StoreError>;

    /// Adds a block-list entry; adding one twice is not an error.
    async fn block(
        &self,
        store: &StoreId,
        kind: BlockKind,
        value: &str,
        now_ms: i64,
    ) -> Result<(), StoreError>;
}

pub(crate) fn parse_status(s: &str) -> Result<Status, StoreError> {
    Status::parse(s).ok_or_else(|| StoreError::Corrupt(format!("status {s:?}")))
}

pub(crate) fn parse_failure(s: &str) -> Result<Option<FailureCode>, StoreError> {
    if s.is_empty() {
        return Ok(None);
    }
    FailureCode::parse(s)
        .map(Some)
        .ok_or_else(|| StoreError::Corrupt(format!("failure code {s:?}")))
}

pub(crate) fn parse_assessment(score: i64, reasons: &str, decision: &str) -> Result<Assessment, StoreError> {
    Ok(Assessment {
        score: u8::try_from(score).map_err(|_| StoreError::Corrupt(format!("fraud score {score}")))?,
        reasons: Reasons::from_csv(reasons),
        decision: Decision::parse(decision)
            .ok_or_else(|| StoreError::Corrupt(format!("fraud decision {decision:?}")))?,
    })
}
