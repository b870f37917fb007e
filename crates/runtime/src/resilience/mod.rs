//! Failing fast and recovering, for every call a client makes to another service: a circuit
//! breaker, a concurrency limit, retries with backoff inside a retry budget, and the caller's
//! deadline carried to the callee. One [`Upstream`] per client (its clones share it) owns them
//! all; `clients::service_client!` runs every method through [`Upstream::call`], and each
//! client's table of methods says which of them may be retried ([`Retry`]).
//!
//! - [`breaker`]: closed / open / half-open on `unavailable` and `timeout` answers.
//! - [`budget`]: retries at most a tenth of the requests (plus a small reserve) per window.
//! - [`backoff`]: exponential backoff with full jitter.
//! - [`deadline`]: the task-local deadline, `grpc-timeout`, and the gateway's request scope.
//!
//! Why these policies and numbers: `docs/adr/0005-failing-fast.md`.

pub mod backoff;
pub mod breaker;
pub mod budget;
pub mod deadline;
mod window;

use crate::error::{ErrorCode, FieldError, RETRY_AFTER_FIELD, ServiceError};
use backoff::RetrySettings;
use breaker::{Admission, Breaker, BreakerSettings, BreakerState, Outcome};
use budget::{BudgetSettings, RetryBudget};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Whether a method may be sent again after its upstream failed to answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// A read, or a write carrying a key that makes a repeat harmless.
    Idempotent,
    /// A write that a repeat could apply twice: sent once.
    Once,
}

/// The policies of one client; [`Default`] holds the platform's values (see the ADR).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResilienceSettings {
    pub breaker: BreakerSettings,
    pub budget: BudgetSettings,
    pub retry: RetrySettings,
    /// Calls in flight to the upstream at most; the gateway sheds at 4096 requests, so one slow
    /// upstream holds a quarter of them at most.
    pub max_in_flight: usize,
    /// How long a call waits for a slot before it is refused.
    pub queue_wait: Duration,
}

impl Default for ResilienceSettings {
    fn default() -> Self {
        ResilienceSettings {
            breaker: BreakerSettings::default(),
            budget: BudgetSettings::default(),
            retry: RetrySettings::default(),
            max_in_flight: 1024,
            queue_wait: Duration::from_millis(20),
        }
    }
}

/// A call's failure, as the retry loop sees it.
enum Failure {
    /// Refused here (breaker open, no slot): retrying now cannot help.
    Refused(ServiceError),
    /// The upstream answered with an error, or did not answer.
    Upstream(ServiceError),
}

/// The breaker, budget and concurrency limit of one client's upstream service.
pub struct Upstream {
    service: &'static str,
    settings: ResilienceSettings,
    breaker: Mutex<Breaker>,
    budget: Mutex<RetryBudget>,
    slots: Semaphore,
}

impl Upstream {
    pub fn new(service: &'static str, settings: ResilienceSettings) -> Arc<Self> {
        let now = Instant::now();
        metrics::gauge!(BREAKER_STATE.name, "service" => service).set(BreakerState::Closed.gauge_value());
        Arc::new(Upstream {
            service,
            settings,
            breaker: Mutex::new(Breaker::new(settings.breaker, now)),
            budget: Mutex::new(RetryBudget::new(settings.budget, now)),
            slots: Semaphore::new(settings.max_in_flight),
        })
    }

    pub fn service(&self) -> &'static str {
        self.service
    }

    /// The breaker's state now.
    pub fn breaker_state(&self) -> BreakerState {
        lock(&self.breaker).state()
    }

    /// Runs `attempt` (given the time left) until it answers, it may not be retried, the retry
    /// budget is spent, or the next try could not finish before the deadline — the sooner of
    /// `own_timeout` from now and the caller's deadline.
    pub async fn call<T, F, Fut>(
        &self,
        method: &'static str,
        retry: Retry,
        own_timeout: Duration,
        mut attempt: F,
    ) -> Result<T, ServiceError>
    where
        F: FnMut(Duration) -> Fut,
        Fut: Future<Output = Result<T, tonic::Status>>,
    {
        let deadline = deadline::for_call(own_timeout);
        lock(&self.budget).record_request(Instant::now());
        let mut retries = 0;
        loop {
            let error = match self.attempt(method, deadline, &mut attempt).await {
                Ok(answer) => return Ok(answer),
                Err(Failure::Refused(error)) => return Err(error),
                Err(Failure::Upstream(error)) => error,
            };
            let may_retry = retry == Retry::Idempotent
                && error.code == ErrorCode::Unavailable
                && retries + 1 < self.settings.retry.max_attempts;
            if !may_retry {
                return Err(error);
            }
            let wait = self.settings.retry.backoff(retries, &mut rand::thread_rng());
            if Instant::now() + wait >= deadline || !self.spend_retry(method) {
                return Err(error);
            }
            tokio::time::sleep(wait).await;
            retries += 1;
        }
    }

    /// Takes a retry from the budget, counting the outcome.
    fn spend_retry(&self, method: &'static str) -> bool {
        let granted = lock(&self.budget).try_retry(Instant::now());
        let result = if granted { "retried" } else { "budget_exhausted" };
        metrics::counter!(RETRIES.name, "service" => self.service, "method" => method, "result" => result)
            .increment(1);
        granted
    }

    /// One try: a slot, the breaker's admission, then the call under the deadline.
    async fn attempt<T, F, Fut>(
        &self,
        method: &'static str,
        deadline: Instant,
        attempt: &mut F,
    ) -> Result<T, Failure>
    where
        F: FnMut(Duration) -> Fut,
        Fut: Future<Output = Result<T, tonic::Status>>,
    {
        let _slot = self.slot(deadline).await?;
        let admission = self.admit()?;
        let mut probe = ProbeGuard {
            upstream: self,
            admission,
            settled: false,
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        let call = deadline::scope(deadline, attempt(remaining));
        let result = crate::clients::instrumented(self.service, method, deadline, call).await;
        let outcome = match &result {
            Err(e) if matches!(e.code, ErrorCode::Unavailable | ErrorCode::Timeout) => Outcome::Failed,
            _ => Outcome::Answered,
        };
        probe.settled = true;
        self.record(admission, outcome);
        result.map_err(Failure::Upstream)
    }

    /// A slot among `max_in_flight`, waiting `queue_wait` at most (and never past the deadline).
    async fn slot(&self, deadline: Instant) -> Result<tokio::sync::SemaphorePermit<'_>, Failure> {
        let until = deadline.min(Instant::now() + self.settings.queue_wait);
        match tokio::time::timeout_at(until.into(), self.slots.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(self.refuse(
                "concurrency_limit",
                format!("too many calls to {} in flight", self.service),
                Duration::from_secs(1),
            )),
        }
    }

    fn admit(&self) -> Result<Admission, Failure> {
        let (admission, state) = {
            let mut breaker = lock(&self.breaker);
            let before = breaker.state();
            (breaker.admit(Instant::now()), (before, breaker.state()))
        };
        self.note_transition(state.0, state.1);
        match admission {
            Admission::Refuse { retry_after } => Err(self.refuse(
                "breaker_open",
                format!("{} is failing; calls to it are suspended", self.service),
                retry_after,
            )),
            admitted => Ok(admitted),
        }
    }

    fn record(&self, admission: Admission, outcome: Outcome) {
        let (before, after) = {
            let mut breaker = lock(&self.breaker);
            let before = breaker.state();
            (before, breaker.record(Instant::now(), admission, outcome))
        };
        self.note_transition(before, after);
    }

    fn note_transition(&self, before: BreakerState, after: BreakerState) {
        if before == after {
            return;
        }
        tracing::warn!(
            service = self.service,
            from = before.as_str(),
            to = after.as_str(),
            "circuit breaker"
        );
        metrics::gauge!(BREAKER_STATE.name, "service" => self.service).set(after.gauge_value());
        metrics::counter!(BREAKER_TRANSITIONS.name, "service" => self.service, "to" => after.as_str())
            .increment(1);
    }

    /// An `unavailable` error telling the caller when to come back (whole seconds, at least 1).
    fn refuse(&self, reason: &'static str, message: String, retry_after: Duration) -> Failure {
        metrics::counter!(REJECTED_CALLS.name, "service" => self.service, "reason" => reason).increment(1);
        let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        let mut error = ServiceError::new(ErrorCode::Unavailable, message);
        error
            .fields
            .push(FieldError::new(RETRY_AFTER_FIELD, seconds.max(1).to_string()));
        Failure::Refused(error)
    }
}

/// Frees the half-open probe slot when a probe's future is dropped before it settled (its
/// caller gave up), so the breaker cannot stay half-open with a probe nobody runs.
struct ProbeGuard<'a> {
    upstream: &'a Upstream,
    admission: Admission,
    settled: bool,
}

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        if !self.settled {
            lock(&self.upstream.breaker).abandon(self.admission);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Describes what [`Upstream`] records.
pub(crate) fn describe_metrics() {
    crate::metric_family::Family::describe_all(&[
        BREAKER_STATE,
        BREAKER_TRANSITIONS,
        REJECTED_CALLS,
        RETRIES,
    ]);
}

crate::metric_families! {
    /// The circuit breaker of each upstream service a process calls: 0 closed, 1 open,
    /// 2 half-open.
    pub(crate) const BREAKER_STATE: Gauge(Count) = "rpc_client_breaker_state";
    /// Circuit breaker state changes, by upstream service and the state entered.
    pub(crate) const BREAKER_TRANSITIONS: Counter(Count) = "rpc_client_breaker_transitions_total";
    /// Calls refused without reaching the upstream, by service and reason (breaker_open,
    /// concurrency_limit); each is answered `unavailable` with a retry-after.
    pub(crate) const REJECTED_CALLS: Counter(Count) = "rpc_client_rejected_calls_total";
    /// Retries of idempotent calls, by service, method and result (retried, or
    /// budget_exhausted when the retry budget refused one).
    pub(crate) const RETRIES: Counter(Count) = "rpc_client_retries_total";
}
