//! Refunds: partial refunds add up to at most the captured amount. A refund is claimed (a
//! pending row, its amount reserved against the intent) before the provider is called, so two
//! concurrent refunds cannot exceed what was captured, and a retry with the same key repeats it.

use crate::domain::validate;
use crate::domain::{Command, IntentId, IntentState, transition};
use crate::events;
use crate::intents::{Attempt, provider_down, refusal, until_done};
use crate::service::{PaymentsService, intent_id, store_id};
use crate::store::{IntentRecord, RefundFinish, RefundRecord, RefundStatus, Refusal, StoreError};
use mercato_proto::payments as pb;
use mercato_runtime::error::{ServiceError, Validator};
use mercato_runtime::ids::StoreId;
use mercato_runtime::time::now_ms;

impl PaymentsService {
    /// `Refund`: partial refunds add up to at most the captured amount; 0 refunds the rest.
    pub(crate) async fn refund(&self, req: pb::RefundRequest) -> Result<pb::PaymentIntent, ServiceError> {
        let store = store_id(&req.store_id)?;
        let id = intent_id(&req.intent_id)?;
        let mut v = Validator::new();
        let key = validate::key(&mut v, &req.idempotency_key);
        validate::amount(&mut v, req.amount_minor, 0);
        v.finish()?;
        let (key, amount_minor) = (key.as_str(), req.amount_minor);
        until_done((), move |()| self.try_refund(store, id, key, amount_minor)).await
    }

    /// One attempt at [`Self::refund`]: find the key's refund, or claim a new one, then complete it.
    async fn try_refund(
        &self,
        store: StoreId,
        id: IntentId,
        key: &str,
        amount_minor: i64,
    ) -> Result<Attempt<(), pb::PaymentIntent>, ServiceError> {
        let intent = self.load(&store, &id).await?;
        if let Some(refund) = self.store.refund_by_key(&store, &id, key).await? {
            if amount_minor != 0 && amount_minor != refund.amount_minor {
                return Err(ServiceError::conflict(
                    "idempotency_key was already used for a refund of a different amount",
                ));
            }
            return match refund.status {
                RefundStatus::Done => Ok(Attempt::Done(intent.to_proto())),
                RefundStatus::Pending => self.complete_refund(intent, refund).await.map(Attempt::Done),
                RefundStatus::Refused => Err(ServiceError::conflict("the provider refused this refund")),
            };
        }
        // Refunds still waiting for the provider are reserved, so that two concurrent
        // refunds cannot together exceed the captured amount.
        let pending = self.store.pending_refunds(&store, &id).await?;
        let reserved = IntentState {
            refunded: intent.state.refunded + pending,
            ..intent.state
        };
        let after = transition(reserved, Command::Refund { amount: amount_minor }).map_err(refusal)?;
        let now = now_ms();
        let refund = RefundRecord {
            id: uuid::Uuid::now_v7().to_string(),
            store_id: store,
            intent_id: id,
            idempotency_key: key.to_owned(),
            amount_minor: after.refunded - reserved.refunded,
            status: RefundStatus::Pending,
            created_at: now,
            updated_at: now,
        };
        match self.store.claim_refund(&store, intent.version, &refund).await {
            Ok(()) => {
                let intent = self.load(&store, &id).await?;
                return self.complete_refund(intent, refund).await.map(Attempt::Done);
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
            return Err(ServiceError::conflict(format!(
                "the provider refused the refund: {code}"
            )));
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
