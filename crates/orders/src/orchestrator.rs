//! The saga orchestrator: runs the commands [`crate::domain::saga`] asks for (each a
//! [`crate::steps::Step`]), records each outcome in the order's history, and the driver that
//! resumes incomplete sagas.
//!
//! An unavailable dependency (or a timeout) leaves the saga where it is, with its lease
//! shortened so that the driver retries it soon.

use crate::domain::{Command, EventData, Order, OrderEvent, OrderId, Terminal};
use crate::events;
use crate::service::OrdersService;
use crate::steps::{Payment, Step};
use crate::store::{Settle, StoreError};
use mercato_runtime::error::ServiceError;
use mercato_runtime::ids::StoreId;
use mercato_runtime::time::now_ms;
use std::time::Instant;

/// How long a runner owns a saga before another replica's driver may take it over.
pub const LEASE_MS: i64 = 15_000;
/// When a step could not be made (a dependency down), the driver retries after this.
pub const RETRY_AFTER_MS: i64 = 2_000;
/// The seconds a client told "in progress" should wait: until the saga's lease (taken at or
/// after its last recorded event, `last_event_ms`) has ended and a driver pass has had the
/// chance to resume it — by then the running step has been recorded, or its runner is gone and
/// the saga resumed. At least 1, at most the lease and one driver interval.
pub fn retry_after_secs(last_event_ms: Option<i64>, now_ms: i64) -> u64 {
    let interval = crate::service::DRIVER_INTERVAL.as_millis() as i64;
    let most = LEASE_MS + interval;
    let left = last_event_ms
        .map_or(most, |at| at + most - now_ms)
        .clamp(1_000, most);
    // Whole seconds, rounded up.
    ((left + 999) / 1000) as u64
}

/// Sagas the driver picks up per pass.
const DRIVER_BATCH: i64 = 100;

/// Describes the saga's metrics: the step durations and oldest-incomplete age recorded here, and
/// the transitions counted here and where checkout and cancellation move an order.
pub(crate) fn describe_metrics() {
    mercato_runtime::metric_family::Family::describe_all(&[
        SAGA_TRANSITIONS,
        SAGA_STEP_DURATION,
        SAGA_OLDEST_INCOMPLETE,
    ]);
}

mercato_runtime::metric_families! {
    /// Checkout saga state changes, by state left (from; new for a checkout) and state entered
    /// (to).
    pub(crate) const SAGA_TRANSITIONS: Counter(Count) = "saga_transitions_total";
    /// Time for one saga command (a call to inventory or payments and its recorded outcome), by
    /// step.
    pub(crate) const SAGA_STEP_DURATION: Histogram(Seconds) = "saga_step_duration_seconds";
    /// Age of the oldest saga not yet finished, set by each driver pass (0 when none).
    pub(crate) const SAGA_OLDEST_INCOMPLETE: Gauge(Seconds) = "saga_oldest_incomplete_seconds";
}

fn order_id(order: &Order) -> Result<OrderId, ServiceError> {
    order
        .id
        .parse()
        .map_err(|_| ServiceError::internal(format!("order id {:?}", order.id)))
}

/// An outcome applied to an order: the order after it, the events to record (the outcome and,
/// when nothing is left to undo, the end it causes), and the commands now due.
struct Applied {
    next: Order,
    recorded: Vec<OrderEvent>,
    commands: Vec<Command>,
}

/// Applies `outcome` to `order` (pure: nothing is written).
fn apply_outcome(order: &Order, outcome: EventData) -> Result<Applied, ServiceError> {
    let mut next = order.clone();
    let mut recorded = Vec::new();
    let mut commands = Vec::new();
    let mut pending = vec![outcome];
    while let Some(data) = pending.pop() {
        let event = OrderEvent {
            sequence: next.version + 1,
            at_ms: now_ms(),
            data,
        };
        let from = next.saga.name();
        commands = next.apply(&event).map_err(ServiceError::internal)?;
        metrics::counter!(SAGA_TRANSITIONS.name, "from" => from, "to" => next.saga.name()).increment(1);
        recorded.push(event);
        // An end with nothing left to undo is recorded with the outcome that caused it.
        if let [Command::Finish { terminal }] = commands.as_slice() {
            pending.push(terminal.event());
        }
    }
    Ok(Applied {
        next,
        recorded,
        commands,
    })
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
            if command == Command::Authorize && payment.is_none() {
                let json = self.store.payment_json(store, &id).await?;
                payment = serde_json::from_str(&json).ok();
            }
            let Some(outcome) = self.run_step(store, &order, &command, payment.as_ref()).await? else {
                return Ok(order);
            };
            let applied = apply_outcome(&order, outcome)?;
            match self.record(store, &id, &applied).await {
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
            let stop = applied
                .recorded
                .iter()
                .any(|e| self.should_stop_after(e.data.kind()));
            (order, commands) = (applied.next, applied.commands);
            if stop {
                break;
            }
        }
        Ok(order)
    }

    /// Runs one command and returns the event recording its outcome, or `None` when it must
    /// wait (the saga's lease is then shortened so that the driver retries soon).
    async fn run_step(
        &self,
        store: &StoreId,
        order: &Order,
        command: &Command,
        payment: Option<&Payment>,
    ) -> Result<Option<EventData>, ServiceError> {
        if let Command::Finish { terminal } = command {
            return Ok(Some(terminal.event()));
        }
        let step = Step {
            deps: &self.deps,
            store,
            order,
        };
        let started = Instant::now();
        let result = step.execute(command, payment).await;
        metrics::histogram!(SAGA_STEP_DURATION.name, "step" => command.name())
            .record(started.elapsed().as_secs_f64());
        match result {
            Ok(data) => Ok(Some(data)),
            Err(e) => {
                let id = order_id(order)?;
                tracing::warn!(order = %id, step = command.name(), error = %e,
                    "saga step must wait; the driver will retry");
                self.store.lease(store, &id, now_ms() + RETRY_AFTER_MS).await?;
                Ok(None)
            }
        }
    }

    /// Writes what a step recorded: appended to the history, or, when the saga has ended, with
    /// the order row, its event for other services and a failed checkout's cart reopened, in one
    /// transaction. `Stale` when another runner recorded this step first.
    async fn record(&self, store: &StoreId, id: &OrderId, applied: &Applied) -> Result<(), StoreError> {
        let next = &applied.next;
        if !next.settled() {
            return self.store.append(store, id, &applied.recorded).await;
        }
        let terminal = next.heading_for().cloned();
        let outbox: Vec<_> = terminal
            .iter()
            .map(|t| events::order_changed(events::subject_of(t), next))
            .collect();
        let reopen_cart = match terminal {
            Some(Terminal::Failed { .. }) => next.cart_id.parse().ok(),
            _ => None,
        };
        let settle = Settle {
            order: next,
            events: &applied.recorded,
            outbox: &outbox,
            locked_until_ms: 0,
            reopen_cart,
        };
        self.store.settle(store, &settle).await?;
        self.committed();
        Ok(())
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
        metrics::gauge!(SAGA_OLDEST_INCOMPLETE.name).set(age);
        Ok(driven)
    }
}
