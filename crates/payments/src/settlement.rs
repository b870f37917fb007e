//! Settling an authorization: capture or void, at most one of them per intent whatever the
//! client keys. The settlement is claimed on the intent (kind, key, amount) before the provider
//! is called, so two clients cannot both settle it, and a retry repeats the claimed one.

use crate::domain::{Command, MoneyMovement, Status, transition};
use crate::events;
use crate::intents::{Attempt, MoveAttempt, provider_down, refusal, until_done};
use crate::requests;
use crate::service::PaymentsService;
use crate::store::{IntentRecord, Settlement, StoreError};
use mercato_proto::payments as pb;
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::time::now_ms;

impl PaymentsService {
    /// `Capture`: at most one capture per intent, whatever the client key.
    pub(crate) async fn capture(&self, req: pb::CaptureRequest) -> Result<pb::PaymentIntent, ServiceError> {
        self.until_moved(&requests::capture(&req)?, Self::try_capture)
            .await
    }

    /// One attempt at [`Self::capture`] on the intent as last read: claim its settlement for
    /// this key, then settle.
    async fn try_capture(&self, intent: IntentRecord, m: &MoneyMovement) -> MoveAttempt {
        match intent.settle_kind {
            Settlement::Capture if intent.settle_key == m.key => {
                let asked = match m.amount_minor {
                    0 => intent.state.authorized,
                    a => a,
                };
                if asked != intent.settle_minor {
                    return Err(ServiceError::new(
                        ErrorCode::IdempotencyKeyReused,
                        "idempotency_key was already used for a capture of a different amount",
                    ));
                }
                if intent.state.status == Status::Authorized {
                    return self.settle(intent).await.map(Attempt::Done);
                }
                return Ok(Attempt::Done(intent.to_proto()));
            }
            Settlement::Capture => {
                return Err(ServiceError::new(
                    ErrorCode::PaymentAlreadyCaptured,
                    "the payment is already captured (or being captured) under another idempotency_key",
                ));
            }
            Settlement::Void if intent.state.status == Status::Authorized => {
                return Err(ServiceError::new(
                    ErrorCode::PaymentStatusConflict,
                    "cannot capture a payment that is being voided",
                ));
            }
            Settlement::Void | Settlement::None => {}
        }
        let amount = m.amount_minor;
        let target = transition(intent.state, Command::Capture { amount }).map_err(refusal)?;
        self.claim_and_settle(&intent, Settlement::Capture, &m.key, target.captured)
            .await
    }

    /// `Void`: releases an authorization; voiding a voided intent returns it unchanged.
    pub(crate) async fn void(&self, req: pb::VoidRequest) -> Result<pb::PaymentIntent, ServiceError> {
        self.until_moved(&requests::void(&req)?, Self::try_void).await
    }

    /// One attempt at [`Self::void`] on the intent as last read: claim its settlement for a void,
    /// then settle.
    async fn try_void(&self, intent: IntentRecord, m: &MoneyMovement) -> MoveAttempt {
        match intent.settle_kind {
            Settlement::Void if intent.state.status == Status::Authorized => {
                return self.settle(intent).await.map(Attempt::Done);
            }
            Settlement::Void => return Ok(Attempt::Done(intent.to_proto())),
            Settlement::Capture if intent.state.status == Status::Authorized => {
                return Err(ServiceError::new(
                    ErrorCode::PaymentStatusConflict,
                    "cannot void a payment that is being captured",
                ));
            }
            Settlement::Capture | Settlement::None => {}
        }
        transition(intent.state, Command::Void).map_err(refusal)?;
        // A void claims no amount: the intent's stays (0, as only an unclaimed one gets here).
        self.claim_and_settle(&intent, Settlement::Void, &m.key, intent.settle_minor)
            .await
    }

    /// Claims `intent` (as last read) for a settlement of `kind` under the client's `key`, of
    /// `settle_minor`, then settles it. A concurrent change of the intent makes the claim stale:
    /// the caller reads it again and decides afresh.
    async fn claim_and_settle(
        &self,
        intent: &IntentRecord,
        kind: Settlement,
        key: &str,
        settle_minor: i64,
    ) -> MoveAttempt {
        let mut claimed = intent.next(intent.state, now_ms());
        claimed.settle_kind = kind;
        claimed.settle_key = key.to_owned();
        claimed.settle_minor = settle_minor;
        match self
            .store
            .update_intent(&intent.store_id, &claimed, intent.version, &[])
            .await
        {
            Ok(()) => self.settle(claimed).await.map(Attempt::Done),
            Err(StoreError::Stale) => Ok(Attempt::Again(())),
            Err(e) => Err(e.into()),
        }
    }

    /// Carries out the capture or void an intent is committed to, and records it.
    async fn settle(&self, intent: IntentRecord) -> Result<pb::PaymentIntent, ServiceError> {
        let (reply, kind) = match intent.settle_kind {
            Settlement::Capture => {
                let key = format!("capture:{}", intent.id);
                let reply = self
                    .provider
                    .capture(&key, &intent.provider_reference, intent.settle_minor)
                    .await;
                (reply, "capture")
            }
            Settlement::Void => {
                let key = format!("void:{}", intent.id);
                (self.provider.void(&key, &intent.provider_reference).await, "void")
            }
            Settlement::None => return Err(ServiceError::internal("settling an unclaimed intent")),
        };
        let reply = reply.map_err(provider_down)?;
        if let Some(code) = reply.decline {
            return Err(ServiceError::new(
                ErrorCode::ProviderRefused,
                format!("the provider refused the {kind}: {code}"),
            ));
        }
        let (command, subject) = match intent.settle_kind {
            Settlement::Capture => (
                Command::Capture {
                    amount: reply.amount_minor,
                },
                events::PAYMENT_CAPTURED,
            ),
            _ => (Command::Void, events::PAYMENT_VOIDED),
        };
        until_done(intent, move |intent| {
            self.record_settlement(intent, command, subject, kind)
        })
        .await
    }

    /// Records a capture or void the provider made on the intent as last read.
    async fn record_settlement(
        &self,
        intent: IntentRecord,
        command: Command,
        subject: &'static str,
        kind: &'static str,
    ) -> Result<Attempt<IntentRecord, pb::PaymentIntent>, ServiceError> {
        if intent.state.status != Status::Authorized {
            // A concurrent call with the same claim recorded it first.
            return Ok(Attempt::Done(intent.to_proto()));
        }
        let state = transition(intent.state, command).map_err(refusal)?;
        let next = intent.next(state, now_ms());
        let event = events::payment_changed(subject, &next);
        match self
            .store
            .update_intent(&intent.store_id, &next, intent.version, &[event])
            .await
        {
            Ok(()) => {
                self.committed();
                // Crash test: the capture is recorded, the reply not yet sent.
                if kind == "capture" {
                    mercato_runtime::failpoint::hit("payments.after_capture");
                }
                Ok(Attempt::Done(next.to_proto()))
            }
            Err(StoreError::Stale) => Ok(Attempt::Again(self.load(&intent.store_id, &intent.id).await?)),
            Err(e) => Err(e.into()),
        }
    }
}
