//! Payment intents: authorize and get, and what every money movement shares (the
//! retry-on-stale loop, the events of an outcome, the errors). Capture and void are in
//! `settlement`, refunds in `refunds`.
//!
//! Every money movement follows the same crash-safe shape: (1) record the intention in the
//! database (a `pending` intent, a settlement claim, a pending refund), (2) call the provider
//! with a key derived from that record, (3) record the outcome with its event. A crash or a
//! timeout between the steps leaves the record in place; a retry with the same client key finds
//! it and repeats step 2 with the same provider key, which the provider answers with its first
//! outcome, so money never moves twice.

use crate::domain::fraud::{Assessment, Decision, Reasons};
use crate::domain::{
    AuthorizeInput, Command, FailureCode, IntentId, IntentState, MoneyMovement, Status, TransitionError,
    transition,
};
use crate::events;
use crate::provider::{ProviderError, ProviderReply};
use crate::requests;
use crate::scoring::{self, Signals};
use crate::service::{PaymentsService, intent_id, store_id};
use crate::store::{Decide, IntentRecord, PaymentMethodRecord, Refusal, Settlement, StoreError};
use mercato_proto::events::EventEnvelope;
use mercato_proto::payments as pb;
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::ids::StoreId;
use mercato_runtime::money::Currency;
use mercato_runtime::time::now_ms;

/// Re-reads after a concurrent change before giving up.
const ATTEMPTS: usize = 8;

/// What one attempt at a conditional write came to.
pub(crate) enum Attempt<S, T> {
    Done(T),
    /// A concurrent writer got there first (a stale version, a taken key): try again from `S`,
    /// read afresh.
    Again(S),
}

/// What one attempt at a capture, void or refund came to.
pub(crate) type MoveAttempt = Result<Attempt<(), pb::PaymentIntent>, ServiceError>;

/// Makes attempts from `state` until one is done, at most [`ATTEMPTS`], then gives up as
/// contended. Every retry-on-stale loop of this module is this one.
pub(crate) async fn until_done<S, T, Fut>(
    mut state: S,
    mut attempt: impl FnMut(S) -> Fut,
) -> Result<T, ServiceError>
where
    Fut: std::future::Future<Output = Result<Attempt<S, T>, ServiceError>>,
{
    for _ in 0..ATTEMPTS {
        match attempt(state).await? {
            Attempt::Done(value) => return Ok(value),
            Attempt::Again(next) => state = next,
        }
    }
    Err(contended())
}

impl PaymentsService {
    /// `Authorize`: validate, score, record a pending intent, ask the provider, record the outcome.
    pub(crate) async fn authorize(
        &self,
        req: pb::AuthorizeRequest,
    ) -> Result<pb::PaymentIntent, ServiceError> {
        let store = store_id(&req.store_id)?;
        let input = requests::authorize(&req)?;
        let method = self
            .payment_method(&store, &input.payment_method, "payment_method")
            .await?;
        let (input, method) = (&input, &method);
        until_done(true, move |first| self.try_authorize(store, input, method, first)).await
    }

    /// One attempt at [`Self::authorize`]; only a later attempt looks the key up first.
    async fn try_authorize(
        &self,
        store: StoreId,
        input: &AuthorizeInput,
        method: &PaymentMethodRecord,
        first: bool,
    ) -> Result<Attempt<bool, pb::PaymentIntent>, ServiceError> {
        // The first attempt inserts without looking the key up: the (store, idempotency key)
        // unique index tells a new key from a known one, so a new payment (the common case)
        // saves that read. A known key comes back `Duplicate`, and the next attempt looks its
        // intent up and replays or resumes it (having scored for nothing, in the transaction
        // that the taken key rolled back).
        if !first && let Some(existing) = self.store.intent_by_key(&store, &input.idempotency_key).await? {
            return self
                .replay_authorization(existing, input, method)
                .await
                .map(Attempt::Done);
        }
        // Scored in the transaction that records the attempt, on counts read there (see
        // `PaymentsStore::insert_intent`), so that concurrent attempts count each other; only
        // the amount baseline (the store's last 100 authorizations, no velocity) is kept in
        // memory (`baseline`).
        let signals = Signals {
            amount_minor: input.amount_minor,
            currency: input.currency.as_str(),
            card_fingerprint: &method.fingerprint,
            shopper: &input.shopper,
        };
        let now = now_ms();
        let query = scoring::fraud_query(&signals, now);
        let amounts = self
            .baselines
            .amounts(store, query.currency, self.store.recent_amounts(&store, &query))
            .await?;
        let pending = pending_intent(store, input, method, now);
        let blocked =
            transition(pending.state, Command::Decline(FailureCode::FraudBlocked)).map_err(refusal)?;
        let (amount, shopper) = (input.amount_minor, input.shopper.clone());
        let decide: Decide = Box::new(move |counts| {
            let mut intent = pending;
            intent.fraud = scoring::score(amount, &shopper, counts, amounts);
            if intent.fraud.decision != Decision::Block {
                return (intent, Vec::new());
            }
            // Blocked: the provider is never asked, so the intent is final at once.
            intent.state = blocked;
            let events = outcome_events(&intent);
            (intent, events)
        });
        match self.store.insert_intent(&store, &query, decide).await {
            Ok(intent) if intent.fraud.decision == Decision::Block => {
                self.committed();
                decided(&intent);
                Ok(Attempt::Done(intent.to_proto()))
            }
            Ok(intent) => self
                .complete_authorization(intent, method)
                .await
                .map(Attempt::Done),
            // Another request with the key got there first: replay or resume its intent.
            Err(StoreError::Refused(Refusal::Duplicate)) => Ok(Attempt::Again(false)),
            Err(e) => Err(e.into()),
        }
    }

    /// A second request with a known key: the first intent, completed if it never was.
    async fn replay_authorization(
        &self,
        existing: IntentRecord,
        input: &AuthorizeInput,
        method: &PaymentMethodRecord,
    ) -> Result<pb::PaymentIntent, ServiceError> {
        let same = existing.order_id == input.order_id
            && existing.state.authorized == input.amount_minor
            && existing.currency == input.currency.as_str()
            && existing.card_fingerprint == method.fingerprint;
        if !same {
            return Err(ServiceError::new(
                ErrorCode::IdempotencyKeyReused,
                "idempotency_key was already used for a payment with different parameters",
            ));
        }
        if existing.state.status.awaits_authorization() {
            return self.complete_authorization(existing, method).await;
        }
        Ok(existing.to_proto())
    }

    /// Asks the provider about a pending (or failed) intent and records the answer.
    async fn complete_authorization(
        &self,
        intent: IntentRecord,
        method: &PaymentMethodRecord,
    ) -> Result<pb::PaymentIntent, ServiceError> {
        let key = format!("auth:{}", intent.idempotency_key);
        let currency = Currency::parse(&intent.currency)?;
        let outcome = self
            .provider
            .authorize(&key, &method.provider_token, intent.state.authorized, &currency)
            .await;
        // Crash test: the provider has answered, the intent's outcome is not yet recorded.
        mercato_runtime::failpoint::hit("payments.after_provider_authorize");
        let command = match &outcome {
            Ok(reply) => match reply.decline.as_deref() {
                None => Command::Approve,
                Some("insufficient_funds") => Command::Decline(FailureCode::InsufficientFunds),
                Some(_) => Command::Decline(FailureCode::CardDeclined),
            },
            Err(e) => {
                tracing::warn!(intent = %intent.id, error = %e, "authorization failed at the provider");
                Command::Fail
            }
        };
        let approved = matches!(command, Command::Approve);
        let (store, amount) = (intent.store_id, intent.state.authorized);
        let currency = intent.currency.clone();
        let outcome = &outcome;
        let recorded = until_done(intent, move |intent| {
            self.record_authorization(intent, command, outcome)
        })
        .await;
        if approved && recorded.is_ok() {
            self.baselines.approved(store, &currency, amount);
        }
        recorded
    }

    /// Records the provider's answer to an authorization on the intent as last read.
    async fn record_authorization(
        &self,
        intent: IntentRecord,
        command: Command,
        outcome: &Result<ProviderReply, ProviderError>,
    ) -> Result<Attempt<IntentRecord, pb::PaymentIntent>, ServiceError> {
        if !intent.state.status.awaits_authorization() {
            // A concurrent request with the same key recorded the (same) outcome first.
            return Ok(Attempt::Done(intent.to_proto()));
        }
        let state = transition(intent.state, command).map_err(refusal)?;
        let mut next = intent.next(state, now_ms());
        if let Ok(ProviderReply {
            entry_id,
            decline: None,
            ..
        }) = &outcome
        {
            next.provider_reference = entry_id.clone();
        }
        let events = outcome_events(&next);
        match self
            .store
            .update_intent(&intent.store_id, &next, intent.version, &events)
            .await
        {
            Ok(()) => {
                if !events.is_empty() {
                    self.committed();
                }
                decided(&next);
                match &outcome {
                    Err(_) => Err(ServiceError::unavailable(
                        "payment provider unavailable; retry with the same idempotency_key",
                    )),
                    Ok(_) => Ok(Attempt::Done(next.to_proto())),
                }
            }
            Err(StoreError::Stale) => Ok(Attempt::Again(self.load(&intent.store_id, &intent.id).await?)),
            Err(e) => Err(e.into()),
        }
    }

    /// `GetIntent`.
    pub(crate) async fn get_intent(
        &self,
        req: pb::GetIntentRequest,
    ) -> Result<pb::PaymentIntent, ServiceError> {
        let store = store_id(&req.store_id)?;
        let id = intent_id(&req.intent_id)?;
        Ok(self.load(&store, &id).await?.to_proto())
    }

    pub(crate) async fn load(&self, store: &StoreId, id: &IntentId) -> Result<IntentRecord, ServiceError> {
        self.store
            .intent(store, id)
            .await?
            .ok_or_else(|| ServiceError::not_found("payment intent"))
    }

    /// Makes attempts at a capture, void or refund `m` until one is done; each reads the intent
    /// afresh and hands it to `attempt` with `m`.
    pub(crate) async fn until_moved<'a, Fut>(
        &'a self,
        m: &'a MoneyMovement,
        attempt: impl Fn(&'a Self, IntentRecord, &'a MoneyMovement) -> Fut,
    ) -> Result<pb::PaymentIntent, ServiceError>
    where
        Fut: std::future::Future<Output = MoveAttempt>,
    {
        let attempt = &attempt;
        until_done((), move |()| async move {
            let intent = self.load(&m.store, &m.intent).await?;
            attempt(self, intent, m).await
        })
        .await
    }
}

/// A new intent for `input`, pending until the provider answers; its fraud assessment is a
/// placeholder until it is scored.
fn pending_intent(
    store: StoreId,
    input: &AuthorizeInput,
    method: &PaymentMethodRecord,
    now: i64,
) -> IntentRecord {
    IntentRecord {
        id: IntentId::new(),
        store_id: store,
        order_id: input.order_id.clone(),
        idempotency_key: input.idempotency_key.clone(),
        currency: input.currency.as_str().to_owned(),
        state: IntentState::pending(input.amount_minor),
        card_last4: method.last4.clone(),
        card_fingerprint: method.fingerprint.clone(),
        customer_id: input.shopper.customer_id.clone(),
        email: input.shopper.email.clone(),
        client_ip: input.shopper.client_ip.clone(),
        fraud: Assessment {
            score: 0,
            reasons: Reasons::default(),
            decision: Decision::Allow,
        },
        provider_reference: String::new(),
        settle_kind: Settlement::None,
        settle_key: String::new(),
        settle_minor: 0,
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

/// The events of a recorded authorization outcome: authorized or declined, plus flagged when
/// fraud scoring said so. A failure (provider unreachable) publishes nothing: it is not final.
fn outcome_events(intent: &IntentRecord) -> Vec<EventEnvelope> {
    let subject = match intent.state.status {
        Status::Authorized => events::PAYMENT_AUTHORIZED,
        Status::Declined => events::PAYMENT_DECLINED,
        _ => return Vec::new(),
    };
    let mut out = vec![events::payment_changed(subject, intent)];
    if intent.fraud.decision == Decision::Flag {
        out.push(events::payment_changed(events::PAYMENT_FLAGGED, intent));
    }
    out
}

/// Describes what [`decided`] counts.
pub(crate) fn describe_metrics() {
    mercato_runtime::metric_family::Family::describe_all(&[PAYMENTS_AUTHORIZATIONS, FRAUD_DECISIONS]);
}

mercato_runtime::metric_families! {
    /// Payment authorizations recorded, by result: authorized, declined, fraud_blocked or failed.
    pub(crate) const PAYMENTS_AUTHORIZATIONS: Counter(Count) = "payments_authorizations_total";
    /// Fraud scoring decisions of recorded authorizations, by decision: allow, flag or block.
    pub(crate) const FRAUD_DECISIONS: Counter(Count) = "fraud_decisions_total";
}

/// Counts a recorded authorization outcome and its fraud decision.
fn decided(intent: &IntentRecord) {
    let result = match (intent.state.status, intent.state.failure) {
        (Status::Authorized, _) => "authorized",
        (_, Some(FailureCode::FraudBlocked)) => "fraud_blocked",
        (Status::Failed, _) => "failed",
        _ => "declined",
    };
    metrics::counter!(PAYMENTS_AUTHORIZATIONS.name, "result" => result).increment(1);
    if intent.state.status != Status::Failed {
        metrics::counter!(FRAUD_DECISIONS.name, "decision" => intent.fraud.decision.as_str()).increment(1);
    }
}

/// A refused command: 409 `payment_status_conflict` for an illegal transition, 422 on the
/// amount for a limit.
pub(crate) fn refusal(e: TransitionError) -> ServiceError {
    match e {
        TransitionError::Illegal { .. } => ServiceError::new(ErrorCode::PaymentStatusConflict, e.to_string()),
        TransitionError::AmountExceeds { what, limit } => ServiceError::invalid_field(
            "amount_minor",
            &format!("exceeds the {what} amount of {limit} minor units"),
        ),
        TransitionError::NegativeAmount => {
            ServiceError::invalid_field("amount_minor", "must not be negative")
        }
    }
}

pub(crate) fn provider_down(e: ProviderError) -> ServiceError {
    tracing::warn!(error = %e, "payment provider call failed");
    ServiceError::unavailable("payment provider unavailable; retry with the same idempotency_key")
}

pub(crate) fn contended() -> ServiceError {
    ServiceError::unavailable("the payment is changing concurrently; retry")
}
