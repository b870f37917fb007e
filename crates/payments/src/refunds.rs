//! Refunds: partial refunds add up to at most the captured amount. A refund is claimed (a
//! pending row, its amount reserved against the intent) before the provider is called, so two
//! concurrent refunds cannot exceed what was captured, and a retry with the same key repeats it.

use crate::domain::{Command, IntentState, MoneyMovement, transition};
use crate::events;
use crate::intents::{Attempt, MoveAttempt, provider_down, refusal, until_done};
use crate::requests;
use crate::service::PaymentsService;
use crate::store::{IntentRecord, RefundFinish, RefundRecord, RefundStatus, Refusal, StoreError};
use mercato_proto::payments as pb;
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::time::now_ms;

impl PaymentsService {
    /// `Refund`: partial refunds add up to at most the captured amount; 0 refunds the rest.
    pub(crate) async fn refund(&self, req: pb::RefundRequest) -> Result<pb::PaymentIntent, ServiceError> {
        self.until_moved(&requests::refund(&req)?, Self::try_refund).await
    }

    /// One attempt at [`Self::refund`] on the intent as last read: find the key's refund, or
    /// claim a new one, then complete it.
    async fn try_refund(&self, intent: IntentRecord, m: &MoneyMovement) -> MoveAttempt {
        match self.store.refund_by_key(&m.store, &m.intent, &m.key).await? {
            Some(refund) => self.replay_refund(intent, refund, m.amount_minor).await,
            None => self.claim_refund(intent, m).await,
        }
    }

    /// A retry of the refund the client key already names: its outcome, completed if it never was.
    async fn replay_refund(
        &self,
        intent: IntentRecord,
        refund: RefundRecord,
        amount_minor: i64,
    ) -> MoveAttempt {
        if amount_minor != 0 && amount_minor != refund.amount_minor {
            return Err(ServiceError::new(
                ErrorCode::IdempotencyKeyReused,
                "idempotency_key was already used for a refund of a different amount",
            ));
        }
        match refund.status {
            RefundStatus::Done => Ok(Attempt::Done(intent.to_proto())),
            RefundStatus::Pending => self.complete_refund(intent, refund).await.map(Attempt::Done),
            RefundStatus::Refused => Err(ServiceError::new(
                ErrorCode::ProviderRefused,
                "the provider refused this refund",
            )),
        }
    }

    /// Claims a new refund of `m` against `intent` (as last read), then completes it. Refunds
    /// still waiting for the provider are reserved, so that two concurrent refunds cannot
    /// together exceed the captured amount.
    async fn claim_refund(&self, intent: IntentRecord, m: &MoneyMovement) -> MoveAttempt {
        let pending = self.store.pending_refunds(&m.store, &m.intent).await?;
        let reserved = IntentState {
            refunded: intent.state.refunded + pending,
            ..intent.state
        };
        let amount = m.amount_minor;
        let after = transition(reserved, Command::Refund { amount }).map_err(refusal)?;
        let refund = pending_refund(m, after.refunded - reserved.refunded, now_ms());
        match self.store.claim_refund(&m.store, intent.version, &refund).await {
            Ok(()) => {
                let intent = self.load(&m.store, &m.intent).await?;
                self.complete_refund(intent, refund).await.map(Attempt::Done)
            }
            Err(StoreError::Stale | StoreError::Refused(Refusal::Duplicate)) => Ok(Attempt::Again(())),
            Err(e) => Err(e.into()),
        }
    }

    async fn complete_refund(
        &self,
        intent: IntentRecord,
        refund: RefundRecord,
    ) -> Result<pb::PaymentIntent, ServiceError> {
        let store = intent.store_id;
        let key = format!("refund:{}:{}", intent.id, refund.idempotency_key);
        let reply = self
            .provider
            .refund(&key, &intent.provider_reference, refund.amount_minor)
            .await
            .map_err(provider_down)?;
        if let Some(code) = reply.decline {
            self.store
                .finish_refund(&store, &refund.id, RefundStatus::Refused, None, &[])
                .await?;
            return Err(ServiceError::new(
                ErrorCode::ProviderRefused,
                format!("the provider refused the refund: {code}"),
            ));
        }
        let refund = &refund;
        until_done(intent, move |intent| {
            self.record_refund(intent, refund, reply.amount_minor)
        })
        .await
    }

    /// Records a refund the provider made on the intent as last read.
    async fn record_refund(
        &self,
        intent: IntentRecord,
        refund: &RefundRecord,
        amount_minor: i64,
    ) -> Result<Attempt<IntentRecord, pb::PaymentIntent>, ServiceError> {
        let state = transition(intent.state, Command::Refund { amount: amount_minor }).map_err(refusal)?;
        let next = intent.next(state, now_ms());
        let event = events::payment_changed(events::PAYMENT_REFUNDED, &next);
        match self
            .store
            .finish_refund(
                &intent.store_id,
                &refund.id,
                RefundStatus::Done,
                Some((&next, intent.version)),
                &[event],
            )
            .await
        {
            Ok(RefundFinish::Recorded) => {
                self.committed();
                Ok(Attempt::Done(next.to_proto()))
            }
            Ok(RefundFinish::AlreadyFinished) => {
                return Ok(Attempt::Done(
                    self.load(&intent.store_id, &intent.id).await?.to_proto(),
                ));
            }
            Err(StoreError::Stale) => Ok(Attempt::Again(self.load(&intent.store_id, &intent.id).await?)),
            Err(e) => Err(e.into()),
        }
    }
}

/// A new refund of `amount_minor` for `m`, pending until the provider answers.
fn pending_refund(m: &MoneyMovement, amount_minor: i64, now: i64) -> RefundRecord {
    RefundRecord {
        id: uuid::Uuid::now_v7().to_string(),
        store_id: m.store,
        intent_id: m.intent,
        idempotency_key: m.key.clone(),
        amount_minor,
        status: RefundStatus::Pending,
        created_at: now,
        updated_at: now,
    }
}
