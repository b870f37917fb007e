//! What webhooks record: attempts by outcome, their latency, and the due backlog.

use mercato_runtime::metric_family::Family;

mercato_runtime::metric_families! {
    /// Webhook delivery attempts by outcome: succeeded (2xx), failed (another status, a timeout,
    /// a broken connection; retried) and refused (the URL or address is not allowed).
    pub(crate) const WEBHOOK_ATTEMPTS: Counter(Count) = "notifications_webhook_attempts_total";
    /// Deliveries that ended, by status: succeeded, dead or cancelled.
    pub(crate) const WEBHOOK_DELIVERIES_FINISHED: Counter(Count) = "notifications_webhook_deliveries_finished_total";
    /// How long an attempt took, from sending to the response (or the failure), by outcome.
    pub(crate) const WEBHOOK_ATTEMPT_SECONDS: Histogram(Seconds) = "notifications_webhook_attempt_seconds";
    /// Deliveries waiting for their first or next attempt whose time has come (not yet taken by
    /// a dispatcher), sampled by the dispatcher.
    pub(crate) const WEBHOOK_DUE: Gauge(Count) = "notifications_webhook_due_deliveries";
    /// Deliveries being sent by this process.
    pub(crate) const WEBHOOK_IN_FLIGHT: Gauge(Count) = "notifications_webhook_in_flight";
}

/// Describes the webhook metrics.
pub fn describe_metrics() {
    Family::describe_all(&[
        WEBHOOK_ATTEMPTS,
        WEBHOOK_DELIVERIES_FINISHED,
        WEBHOOK_ATTEMPT_SECONDS,
        WEBHOOK_DUE,
        WEBHOOK_IN_FLIGHT,
    ]);
}

/// Records one attempt.
pub(crate) fn attempt(outcome: &'static str, took: std::time::Duration) {
    metrics::counter!(WEBHOOK_ATTEMPTS.name, "outcome" => outcome).increment(1);
    metrics::histogram!(WEBHOOK_ATTEMPT_SECONDS.name, "outcome" => outcome).record(took.as_secs_f64());
}

/// Records deliveries that ended with `status`.
pub(crate) fn finished(status: &'static str, count: u64) {
    if count > 0 {
        metrics::counter!(WEBHOOK_DELIVERIES_FINISHED.name, "status" => status).increment(count);
    }
}
