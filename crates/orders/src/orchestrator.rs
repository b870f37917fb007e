//! The saga orchestrator: executes the commands [`crate::domain::saga`] asks for against
//! inventory and payments (through their clients only), records each outcome in the order's
//! history, and the driver that resumes incomplete sagas.
//!
//! Every call carries a key derived from the order, so repeating a step is safe: the
//! reservation id is the order id; payment keys are `order:<id>` (authorize), `capture:<id>`,
//! `void:<id>` and `refund:<id>:<client key>`. An unavailable dependency (or a timeout) leaves
//! the saga where it is, with its lease shortened so that the driver retries it soon.

use crate::domain::order::HeldLine;
use crate::domain::{Command, EventData, Order, OrderEvent, OrderId, Terminal};
use crate::events;
use crate::service::OrdersService;
use crate::store::{Settle, StoreError};
use mercato_proto::{inventory as inv, payments as pay};
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::ids::StoreId;
use mercato_runtime::time::now_ms;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// How long a runner owns a saga before another replica's driver may take it over.
pub const LEASE_MS: i64 = 15_000;
/// When a step could not be made (a dependency down), the driver retries after this.
pub const RETRY_AFTER_MS: i64 = 2_000;
/// How long a checkout waits for stock that exists but is held by other checkouts: their
/// payments may fail and give it back. Long enough for an authorization, short of the request
/// timeout; a flash sale then sells every unit instead of turning buyers away while declined
/// checkouts still hold some.
const HOLD_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Reserves, and while the refusal is only because other checkouts hold the units (the SKUs'
/// on-hand stock would cover the request), waits and tries again until [`HOLD_WAIT`] runs out.
async fn reserve_waiting_for_holds(
    inventory: &mercato_runtime::clients::inventory::InventoryClient,
    request: inv::ReserveRequest,
) -> Result<inv::Reservation, ServiceError> {
    let deadline = tokio::time::Instant::now() + HOLD_WAIT;
    let mut pause = std::time::Duration::from_millis(20);
    loop {
        let refusal = match inventory.reserve(request.clone()).await {
            Err(e) if e.code == ErrorCode::Conflict => e,
            other => return other,
        };
        if tokio::time::Instant::now() + pause > deadline || !only_held(inventory, &request).await {
            return Err(refusal);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_millis(250));
    }
}

/// Whether every line's SKU has enough stock on hand, so that only reservations stand in the way.
async fn only_held(
    inventory: &mercato_runtime::clients::inventory::InventoryClient,
    request: &inv::ReserveRequest,
) -> bool {
    for line in &request.lines {
        let stock = inventory
            .get_stock(inv::GetStockRequest {
                store_id: request.store_id.clone(),
                sku: line.sku.clone(),
            })
            .await;
        let on_hand: i64 = match stock {
            Ok(levels) => levels.locations.iter().map(|l| l.on_hand).sum(),
            Err(_) => return false,
        };
        if on_hand < line.quantity {
            return false;
        }
    }
    true
}

/// How long the inventory holds the stock while the payment is authorized.
pub const RESERVATION_TTL_SECONDS: i64 = 600;
/// Sagas the driver picks up per pass.
const DRIVER_BATCH: i64 = 100;

/// The payment details the authorize step needs; kept on the order row only until its saga
/// ends.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Payment {
    pub card_number: String,
    pub email: String,
    pub billing_country: String,
    pub shipping_country: String,
    pub ip: String,
}

/// Failures worth retrying later: the dependency may come back.
fn transient(e: &ServiceError) -> bool {
    matches!(
        e.code,
        ErrorCode::Unavailable | ErrorCode::Timeout | ErrorCode::Internal | ErrorCode::RateLimited
    )
}

fn order_id(order: &Order) -> Result<OrderId, ServiceError> {
    order
        .id
        .parse()
        .map_err(|_| ServiceError::internal(format!("order id {:?}", order.id)))
}

impl OrdersService {
    /// Drives a saga as far as it goes now: to its end, or to a step that must wait. Returns
    /// the order as recorded.
    pub(crate) async fn drive(
        &self,
        store: &StoreId,
        mut order: Order,
        mut payment: Option<Payment>,
    ) -> Result<Order, ServiceError> {
        let id = order_id(&order)?;
        let mut commands = order.due();
        while let Some(command) = commands.first().cloned() {
            let outcome = match &command {
                Command::Finish { terminal } => terminal.event(),
                _ => {
                    if command == Command::Authorize && payment.is_none() {
                        let json = self.store.payment_json(store, &id).await?;
                        payment = serde_json::from_str(&json).ok();
                    }
                    let started = Instant::now();
                    let result = self.execute(store, &order, &command, payment.as_ref()).await;
                    metrics::histogram!("saga_step_duration_seconds", "step" => command.name())
                        .record(started.elapsed().as_secs_f64());
                    match result {
                        Ok(data) => data,
                        Err(e) => {
                            tracing::warn!(order = %id, step = command.name(), error = %e,
                                "saga step must wait; the driver will retry");
                            self.store.lease(store, &id, now_ms() + RETRY_AFTER_MS).await?;
                            return Ok(order);
                        }
                    }
                }
            };
            let mut next = order.clone();
            let mut recorded = Vec::new();
            let mut pending = vec![outcome];
            while let Some(data) = pending.pop() {
                let event = OrderEvent {
                    sequence: next.version + 1,
                    at_ms: now_ms(),
                    data,
                };
                let from = next.saga.name();
                commands = next.apply(&event).map_err(ServiceError::internal)?;
                metrics::counter!("saga_transitions_total", "from" => from, "to" => next.saga.name())
                    .increment(1);
                recorded.push(event);
                // An end with nothing left to undo is recorded with the outcome that caused it.
                if let [Command::Finish { terminal }] = commands.as_slice() {
                    pending.push(terminal.event());
                }
            }
            let written = if next.settled() {
                let terminal = next.heading_for().cloned();
                let outbox: Vec<_> = terminal
                    .iter()
                    .map(|t| events::order_changed(events::subject_of(t), &next))
                    .collect();
                let reopen_cart = match terminal {
                    Some(Terminal::Failed { .. }) => next.cart_id.parse().ok(),
                    _ => None,
                };
                self.store
                    .settle(
                        store,
                        &Settle {
                            order: &next,
                            events: &recorded,
                            outbox: &outbox,
                            locked_until_ms: 0,
                            reopen_cart,
                        },
                    )
                    .await
            } else {
                self.store.append(store, &id, &recorded).await
            };
            match written {
                Ok(()) => {}
                Err(StoreError::Stale) => {
                    // Another runner recorded this step first; its record stands.
                    tracing::info!(order = %id, "saga step recorded concurrently; yielding");
                    return self
                        .load_order(store, &id)
                        .await?
                        .ok_or_else(|| ServiceError::not_found("order"));
                }
                Err(e) => return Err(e.into()),
            }
            if next.settled() {
                self.committed();
            }
            order = next;
            if recorded.iter().any(|e| self.should_stop_after(e.data.kind())) {
                return Ok(order);
            }
        }
        Ok(order)
    }

    /// Executes one command and returns the event recording its outcome; `Err` when it must
    /// be retried later.
    async fn execute(
        &self,
        store: &StoreId,
        order: &Order,
        command: &Command,
        payment: Option<&Payment>,
    ) -> Result<EventData, ServiceError> {
        let store_id = store.to_string();
        let inventory = &self.deps.inventory;
        let payments = &self.deps.payments;
        let oid = order.id.clone();
        let settled_ok = |r: Result<(), ServiceError>, what: &str| match r {
            Err(e) if transient(&e) => Err(e),
            Err(e) => {
                // Refused for good (already done, expired, …): nothing more this step can do.
                tracing::warn!(order = %oid, step = what, error = %e, "compensation refused; treated as done");
                Ok(())
            }
            Ok(()) => Ok(()),
        };
        match command {
            Command::Reserve => {
                let request = inv::ReserveRequest {
                    store_id,
                    reservation_id: order.id.clone(),
                    lines: order
                        .lines
                        .iter()
                        .map(|l| inv::ReserveLine {
                            sku: l.sku.clone(),
                            quantity: l.quantity,
                        })
                        .collect(),
                    ttl_seconds: RESERVATION_TTL_SECONDS,
                };
                let reserved = reserve_waiting_for_holds(inventory, request).await;
                // Crash test: the stock is reserved, the reservation not yet recorded.
                if reserved.is_ok() {
                    mercato_runtime::failpoint::hit("orders.after_reserve");
                }
                match reserved {
                    Ok(r) => Ok(EventData::StockReserved {
                        lines: r
                            .lines
                            .into_iter()
                            .map(|l| HeldLine {
                                sku: l.sku,
                                location: l.location,
                                quantity: l.quantity,
                            })
                            .collect(),
                    }),
                    Err(e) if transient(&e) => Err(e),
                    Err(e) => Ok(EventData::StockUnavailable { message: e.message }),
                }
            }
            Command::Authorize => {
                let p = payment.cloned().unwrap_or_default();
                let request = pay::AuthorizeRequest {
                    store_id,
                    order_id: order.id.clone(),
                    idempotency_key: format!("order:{}", order.id),
                    amount_minor: order.total_minor,
                    currency: order.currency.clone(),
                    card_number: p.card_number,
                    customer_id: order.customer_id.clone(),
                    email: p.email,
                    billing_country: p.billing_country,
                    shipping_country: p.shipping_country,
                    ip: p.ip,
                };
                match payments.authorize(request).await {
                    Ok(intent) if intent.status == "declined" => {
                        let code = if intent.failure_code == "fraud_blocked" {
                            "fraud_blocked"
                        } else {
                            "payment_declined"
                        };
                        Ok(EventData::PaymentDeclined {
                            intent_id: intent.id,
                            code: code.to_owned(),
                        })
                    }
                    Ok(intent) if intent.status == "failed" => {
                        Err(ServiceError::unavailable("payment failed; retry"))
                    }
                    Ok(intent) => Ok(EventData::PaymentAuthorized { intent_id: intent.id }),
                    Err(e) if transient(&e) => Err(e),
                    Err(e) => Ok(EventData::PaymentDeclined {
                        intent_id: String::new(),
                        code: if e.code == ErrorCode::ValidationFailed {
                            "payment_invalid".to_owned()
                        } else {
                            "payment_failed".to_owned()
                        },
                    }),
                }
            }
            Command::CommitStock => {
                let request = inv::CommitRequest {
                    store_id,
                    reservation_id: order.id.clone(),
                };
                match inventory.commit(request).await {
                    Ok(_) => Ok(EventData::StockCommitted),
                    Err(e) if transient(&e) => Err(e),
                    Err(e) => Ok(EventData::StockCommitFailed { message: e.message }),
                }
            }
            Command::Capture => {
                let request = pay::CaptureRequest {
                    store_id,
                    intent_id: order.payment_intent_id.clone(),
                    idempotency_key: format!("capture:{}", order.id),
                    amount_minor: 0,
                };
                match payments.capture(request).await {
                    Ok(intent) => Ok(EventData::PaymentCaptured {
                        amount_minor: intent.captured_minor,
                    }),
                    Err(e) if transient(&e) => Err(e),
                    Err(e) => Ok(EventData::PaymentCaptureFailed { message: e.message }),
                }
            }
            Command::ReleaseStock => {
                let request = inv::ReleaseRequest {
                    store_id,
                    reservation_id: order.id.clone(),
                };
                let released = inventory.release(request).await.map(drop);
                // Crash test: the stock is released, the release not yet recorded.
                mercato_runtime::failpoint::hit("orders.during_compensation");
                settled_ok(released, "release_stock")?;
                Ok(EventData::StockReleased)
            }
            Command::VoidPayment => {
                if !order.payment_intent_id.is_empty() {
                    let request = pay::VoidRequest {
                        store_id,
                        intent_id: order.payment_intent_id.clone(),
                        idempotency_key: format!("void:{}", order.id),
                    };
                    let voided = payments.void(request).await.map(drop);
                    // Crash test: the payment is voided, the void not yet recorded.
                    mercato_runtime::failpoint::hit("orders.during_compensation");
                    settled_ok(voided, "void_payment")?;
                }
                Ok(EventData::PaymentVoided)
            }
            Command::RestockAll => {
                let request = inv::RestockRequest {
                    store_id,
                    reservation_id: order.id.clone(),
                };
                settled_ok(inventory.restock(request).await.map(drop), "restock")?;
                let lines = order
                    .lines
                    .iter()
                    .map(|l| crate::domain::order::RefundLine {
                        sku: l.sku.clone(),
                        quantity: l.quantity - l.refunded_quantity,
                    })
                    .collect();
                Ok(EventData::StockRestocked { lines })
            }
            Command::RestockLines { lines } => {
                // The contract restocks whole reservations only; some units go back as
                // adjustments at the locations they were taken from.
                for line in lines {
                    let mut left = line.quantity;
                    for held in order.held.iter().filter(|h| h.sku == line.sku) {
                        let take = left.min(held.quantity);
                        if take <= 0 {
                            break;
                        }
                        let request = inv::AdjustStockRequest {
                            store_id: store_id.clone(),
                            sku: held.sku.clone(),
                            location: held.location.clone(),
                            delta: take,
                            reason: format!("refund of order {}", order.id),
                        };
                        settled_ok(inventory.adjust_stock(request).await.map(drop), "restock_lines")?;
                        left -= take;
                    }
                }
                Ok(EventData::StockRestocked { lines: lines.clone() })
            }
            Command::RefundPayment { amount_minor, key } => {
                let request = pay::RefundRequest {
                    store_id,
                    intent_id: order.payment_intent_id.clone(),
                    idempotency_key: key.clone(),
                    amount_minor: *amount_minor,
                };
                // A refusal is not treated as done: money must not silently stay unrefunded.
                payments.refund(request).await?;
                Ok(EventData::PaymentRefunded {
                    amount_minor: *amount_minor,
                    key: key.clone(),
                })
            }
            Command::Finish { terminal } => Ok(terminal.event()),
        }
    }

    /// The order as its whole history says.
    pub(crate) async fn load_order(
        &self,
        store: &StoreId,
        id: &OrderId,
    ) -> Result<Option<Order>, ServiceError> {
        let events = self.store.events(store, id, None).await?;
        Order::fold(&id.to_string(), &store.to_string(), &events).map_err(ServiceError::internal)
    }

    /// One pass of the saga driver: claims every incomplete saga whose lease ended before
    /// `now_ms` and drives it. Safe in several replicas at once: a saga is claimed by one
    /// conditional update, and a step is recorded once (unique sequence). Returns how many
    /// sagas it drove.
    pub async fn drive_incomplete(&self, now_ms: i64) -> anyhow::Result<usize> {
        let due = self.store.due_sagas(now_ms, DRIVER_BATCH).await?;
        let mut driven = 0;
        for (store, id) in due {
            let Some(payment_json) = self.store.claim(&store, &id, now_ms, now_ms + LEASE_MS).await? else {
                continue;
            };
            let Some(order) = self.load_order(&store, &id).await? else {
                continue;
            };
            if order.settled() {
                // The history ended but the row was not updated (cannot happen through settle,
                // which does both in one transaction); repair the row.
                let repair = Settle {
                    order: &order,
                    events: &[],
                    outbox: &[],
                    locked_until_ms: 0,
                    reopen_cart: None,
                };
                self.store.settle(&store, &repair).await?;
                continue;
            }
            // The payment details came with the claim. When there are none (they are erased
            // when a saga ends, so a reopened saga has none), drive reads them itself if its
            // authorize step is due, as before.
            let payment = serde_json::from_str(&payment_json).ok();
            match self.drive(&store, order, payment).await {
                Ok(_) => driven += 1,
                Err(e) => tracing::warn!(order = %id, error = %e, "saga not driven; retrying later"),
            }
        }
        let oldest = self.store.oldest_incomplete().await?;
        let age = oldest.map_or(0.0, |created| {
            (mercato_runtime::time::now_ms() - created).max(0) as f64 / 1000.0
        });
        metrics::gauge!("saga_oldest_incomplete_seconds").set(age);
        Ok(driven)
    }
}
