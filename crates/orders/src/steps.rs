//! The saga's steps: one function per [`Command`], each making its call to inventory or
//! payments (through their clients only) and returning the event that records the outcome, or
//! `Err` when a dependency is unavailable and the step must be retried later.
//!
//! Every call carries a key derived from the order, so repeating a step is safe: the
//! reservation id is the order id; payment keys are `order:<id>` (authorize), `capture:<id>`,
//! `void:<id>` and `refund:<id>:<client key>`.

use crate::domain::order::{HeldLine, RefundLine};
use crate::domain::{Command, EventData, FailureCode, Order};
use crate::service::OrdersDeps;
use mercato_proto::inventory::reserve_response::Outcome;
use mercato_proto::payments::{IntentStatus, PaymentFailure};
use mercato_proto::{inventory as inv, payments as pay};
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::ids::StoreId;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How long the inventory holds the stock while the payment is authorized.
pub const RESERVATION_TTL_SECONDS: i64 = 600;
/// How long a checkout waits for stock that exists but is held by other checkouts: their
/// payments may fail and give it back. Long enough for an authorization, short of the request
/// timeout; a flash sale then sells every unit instead of turning buyers away while declined
/// checkouts still hold some.
const HOLD_WAIT: Duration = Duration::from_secs(2);

/// The payment details the authorize step needs; kept on the order row only until its saga
/// ends. The card is named by its payment method (`pm_…`), never by its number. A row written
/// before tokenization has no `payment_method` (its `card_number` is ignored): its authorization
/// is refused as invalid and the saga compensates.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Payment {
    #[serde(default)]
    pub payment_method: String,
    pub email: String,
    pub billing_country: String,
    pub shipping_country: String,
    pub ip: String,
}

/// Failures worth retrying later: the dependency may come back.
pub(crate) fn transient(e: &ServiceError) -> bool {
    matches!(
        e.code,
        ErrorCode::Unavailable | ErrorCode::Timeout | ErrorCode::Internal | ErrorCode::RateLimited
    )
}

/// One saga step for one order of one store.
pub(crate) struct Step<'a> {
    pub deps: &'a OrdersDeps,
    pub store: &'a StoreId,
    pub order: &'a Order,
}

impl Step<'_> {
    /// Executes `command` and returns the event recording its outcome.
    pub async fn execute(
        &self,
        command: &Command,
        payment: Option<&Payment>,
    ) -> Result<EventData, ServiceError> {
        match command {
            Command::Reserve => self.reserve().await,
            Command::Authorize => self.authorize(payment.cloned().unwrap_or_default()).await,
            Command::CommitStock => self.commit_stock().await,
            Command::Capture => self.capture().await,
            Command::ReleaseStock => self.release_stock().await,
            Command::VoidPayment => self.void_payment().await,
            Command::RestockAll => self.restock_all().await,
            Command::RestockLines { lines, key } => self.restock_lines(lines, key).await,
            Command::RestockAt { lines, key } => self.restock_at(lines, key).await,
            Command::RefundPayment { amount_minor, key } => self.refund(*amount_minor, key).await,
            Command::Finish { terminal } => Ok(terminal.event()),
        }
    }

    fn store_id(&self) -> String {
        self.store.to_string()
    }

    /// Holds the order's lines; a shortage ends the checkout as out of stock.
    async fn reserve(&self) -> Result<EventData, ServiceError> {
        let request = inv::ReserveRequest {
            store_id: self.store_id(),
            reservation_id: self.order.id.clone(),
            lines: self
                .order
                .lines
                .iter()
                .map(|l| inv::ReserveLine {
                    sku: l.sku.clone(),
                    quantity: l.quantity,
                })
                .collect(),
            ttl_seconds: RESERVATION_TTL_SECONDS,
        };
        match self.reserve_waiting_for_holds(request).await {
            Ok(Outcome::Reserved(r)) => {
                // Crash test: the stock is reserved, the reservation not yet recorded.
                mercato_runtime::failpoint::hit("orders.after_reserve");
                Ok(EventData::StockReserved {
                    lines: r
                        .lines
                        .into_iter()
                        .map(|l| HeldLine {
                            sku: l.sku,
                            location: l.location,
                            quantity: l.quantity,
                        })
                        .collect(),
                })
            }
            Ok(Outcome::Insufficient(short)) => Ok(EventData::StockUnavailable {
                message: format!("insufficient stock for SKU {}", short.sku),
            }),
            Err(e) if transient(&e) => Err(e),
            Err(e) => Ok(EventData::StockUnavailable { message: e.message }),
        }
    }

    /// Reserves, and while the refusal is only because other checkouts hold the units (the
    /// inventory says so in its answer), waits and tries again until [`HOLD_WAIT`] runs out.
    async fn reserve_waiting_for_holds(&self, request: inv::ReserveRequest) -> Result<Outcome, ServiceError> {
        let deadline = tokio::time::Instant::now() + HOLD_WAIT;
        let mut pause = Duration::from_millis(20);
        loop {
            let answer = self.deps.inventory.reserve(request.clone()).await?;
            match answer.outcome {
                Some(Outcome::Insufficient(short))
                    if short.available + short.held_by_others >= short.requested
                        && tokio::time::Instant::now() + pause <= deadline =>
                {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(250));
                }
                Some(outcome) => return Ok(outcome),
                None => return Err(ServiceError::internal("a reserve answer without an outcome")),
            }
        }
    }

    /// Authorizes the order's total; a decline (or fraud block) ends the checkout.
    async fn authorize(&self, payment: Payment) -> Result<EventData, ServiceError> {
        let request = pay::AuthorizeRequest {
            store_id: self.store_id(),
            order_id: self.order.id.clone(),
            idempotency_key: format!("order:{}", self.order.id),
            amount_minor: self.order.total_minor,
            currency: self.order.currency.clone(),
            payment_method: payment.payment_method,
            customer_id: self.order.customer_id.clone(),
            email: payment.email,
            billing_country: payment.billing_country,
            shipping_country: payment.shipping_country,
            ip: payment.ip,
        };
        let intent = match self.deps.payments.authorize(request).await {
            Ok(intent) => intent,
            Err(e) if transient(&e) => return Err(e),
            Err(e) => {
                let code = match e.code {
                    ErrorCode::ValidationFailed => FailureCode::PaymentInvalid,
                    _ => FailureCode::PaymentFailed,
                };
                return Ok(EventData::PaymentDeclined {
                    intent_id: String::new(),
                    code,
                });
            }
        };
        match intent.status() {
            IntentStatus::Declined => Ok(EventData::PaymentDeclined {
                code: match intent.failure() {
                    PaymentFailure::FraudBlocked => FailureCode::FraudBlocked,
                    PaymentFailure::CardDeclined
                    | PaymentFailure::InsufficientFunds
                    | PaymentFailure::ProviderUnavailable
                    | PaymentFailure::None => FailureCode::PaymentDeclined,
                },
                intent_id: intent.id,
            }),
            IntentStatus::Failed => Err(ServiceError::unavailable("payment failed; retry")),
            // A repeated authorize answers with the intent as it is now, possibly further on.
            IntentStatus::Authorized
            | IntentStatus::Captured
            | IntentStatus::PartiallyRefunded
            | IntentStatus::Refunded
            | IntentStatus::Voided => Ok(EventData::PaymentAuthorized { intent_id: intent.id }),
            IntentStatus::Pending | IntentStatus::Unspecified => Err(ServiceError::unavailable(format!(
                "payment intent {} answered as {}; retry",
                intent.id,
                mercato_proto::names::intent_status(intent.status())
            ))),
        }
    }

    /// Turns the reservation into a sale.
    async fn commit_stock(&self) -> Result<EventData, ServiceError> {
        let request = inv::CommitRequest {
            store_id: self.store_id(),
            reservation_id: self.order.id.clone(),
        };
        match self.deps.inventory.commit(request).await {
            Ok(_) => Ok(EventData::StockCommitted),
            Err(e) if transient(&e) => Err(e),
            Err(e) => Ok(EventData::StockCommitFailed { message: e.message }),
        }
    }

    /// Captures the authorized amount.
    async fn capture(&self) -> Result<EventData, ServiceError> {
        let request = pay::CaptureRequest {
            store_id: self.store_id(),
            intent_id: self.order.payment_intent_id.clone(),
            idempotency_key: format!("capture:{}", self.order.id),
            amount_minor: 0,
        };
        match self.deps.payments.capture(request).await {
            Ok(intent) => Ok(EventData::PaymentCaptured {
                amount_minor: intent.captured_minor,
            }),
            Err(e) if transient(&e) => Err(e),
            Err(e) => Ok(EventData::PaymentCaptureFailed { message: e.message }),
        }
    }

    /// Compensation: gives the held stock back.
    async fn release_stock(&self) -> Result<EventData, ServiceError> {
        let request = inv::ReleaseRequest {
            store_id: self.store_id(),
            reservation_id: self.order.id.clone(),
        };
        let released = self.deps.inventory.release(request).await.map(drop);
        // Crash test: the stock is released, the release not yet recorded.
        mercato_runtime::failpoint::hit("orders.during_compensation");
        self.compensated(released, "release_stock")?;
        Ok(EventData::StockReleased)
    }

    /// Compensation: voids the authorization, when there is one.
    async fn void_payment(&self) -> Result<EventData, ServiceError> {
        if !self.order.payment_intent_id.is_empty() {
            let request = pay::VoidRequest {
                store_id: self.store_id(),
                intent_id: self.order.payment_intent_id.clone(),
                idempotency_key: format!("void:{}", self.order.id),
            };
            let voided = self.deps.payments.void(request).await.map(drop);
            // Crash test: the payment is voided, the void not yet recorded.
            mercato_runtime::failpoint::hit("orders.during_compensation");
            self.compensated(voided, "void_payment")?;
        }
        Ok(EventData::PaymentVoided)
    }

    /// A cancellation puts every unit not yet refunded back on hand.
    async fn restock_all(&self) -> Result<EventData, ServiceError> {
        let request = inv::RestockRequest {
            store_id: self.store_id(),
            reservation_id: self.order.id.clone(),
        };
        self.compensated(self.deps.inventory.restock(request).await.map(drop), "restock")?;
        let lines = self
            .order
            .lines
            .iter()
            .map(|l| RefundLine {
                sku: l.sku.clone(),
                quantity: l.quantity - l.refunded_quantity,
            })
            .collect();
        Ok(EventData::StockRestocked { lines })
    }

    /// A partial refund puts some units back. The contract restocks whole reservations only,
    /// so these go back as adjustments at the locations they were taken from, each under a key
    /// derived from the refund's (`<refund key>:<sku>:<location>`): a step repeated after a crash
    /// or a failed call part-way does not put units back twice.
    async fn restock_lines(&self, lines: &[RefundLine], key: &str) -> Result<EventData, ServiceError> {
        for line in lines {
            let mut left = line.quantity;
            for held in self.order.held.iter().filter(|h| h.sku == line.sku) {
                let take = left.min(held.quantity);
                if take <= 0 {
                    break;
                }
                let request = inv::AdjustStockRequest {
                    store_id: self.store_id(),
                    sku: held.sku.clone(),
                    location: held.location.clone(),
                    delta: take,
                    reason: format!("refund of order {}", self.order.id),
                    idempotency_key: format!("{key}:{}:{}", held.sku, held.location),
                };
                self.compensated(
                    self.deps.inventory.adjust_stock(request).await.map(drop),
                    "restock_lines",
                )?;
                left -= take;
            }
        }
        Ok(EventData::StockRestocked {
            lines: lines.to_vec(),
        })
    }

    /// A received return puts its sellable units back where they were sent from, each
    /// adjustment keyed `<return key>:<sku>:<location>`, so a repeated step changes nothing.
    async fn restock_at(&self, lines: &[HeldLine], key: &str) -> Result<EventData, ServiceError> {
        for line in lines {
            let request = inv::AdjustStockRequest {
                store_id: self.store_id(),
                sku: line.sku.clone(),
                location: line.location.clone(),
                delta: line.quantity,
                reason: format!("return to stock, order {}", self.order.id),
                idempotency_key: format!("{key}:{}:{}", line.sku, line.location),
            };
            self.compensated(
                self.deps.inventory.adjust_stock(request).await.map(drop),
                "restock_returned",
            )?;
        }
        Ok(EventData::StockRestocked {
            lines: lines
                .iter()
                .map(|l| RefundLine {
                    sku: l.sku.clone(),
                    quantity: l.quantity,
                })
                .collect(),
        })
    }

    /// Refunds `amount_minor` under the refund's own key.
    async fn refund(&self, amount_minor: i64, key: &str) -> Result<EventData, ServiceError> {
        let request = pay::RefundRequest {
            store_id: self.store_id(),
            intent_id: self.order.payment_intent_id.clone(),
            idempotency_key: key.to_owned(),
            amount_minor,
        };
        // A refusal is not treated as done: money must not silently stay unrefunded.
        self.deps.payments.refund(request).await?;
        Ok(EventData::PaymentRefunded {
            amount_minor,
            key: key.to_owned(),
        })
    }

    /// A compensation refused for good (already done, expired, …) is done: nothing more the
    /// step can do. Only a transient failure makes it wait.
    fn compensated(&self, result: Result<(), ServiceError>, step: &str) -> Result<(), ServiceError> {
        match result {
            Err(e) if transient(&e) => Err(e),
            Err(e) => {
                tracing::warn!(order = %self.order.id, step, error = %e, "compensation refused; treated as done");
                Ok(())
            }
            Ok(()) => Ok(()),
        }
    }
}
