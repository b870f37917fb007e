//! Recording attempts, many in one transaction: the attempt rows, each delivery's new state
//! (succeeded; or due again after the schedule's delay; or dead once older than `retry_for`),
//! and the endpoints' health. Each write checks the lease is still the claim's (a delivery taken
//! over after its lease lapsed is recorded by its new holder only).
//!
//! When a delivery dies and its endpoint has not succeeded since the delivery was made (every
//! delivery failed for `retry_for`), the endpoint becomes `failing`: its pending deliveries are
//! cancelled, its owners get an e-mail and `WebhookEndpointDisabled` goes to the outbox.

use super::Webhooks;
use super::claim::placeholders;
use super::endpoint_row::{self, EndpointRow, status};
use super::schedule;
use super::send::AttemptResult;
use mercato_proto::events::WebhookEndpointDisabled;
use mercato_proto::subjects;
use mercato_runtime::db::{DbError, Param, Tx};
use std::collections::{BTreeMap, BTreeSet};

/// Attempt rows per `INSERT`.
const INSERT_CHUNK: usize = 200;

/// What a recording did that someone must be told after the commit.
#[derive(Default)]
pub(crate) struct Recorded {
    pub disabled: usize,
}

impl Webhooks {
    /// Records `results` in one transaction.
    pub(crate) async fn record(&self, results: Vec<AttemptResult>) -> Result<Recorded, DbError> {
        let this = self.parts();
        let retried = results.iter().any(|r| !r.succeeded());
        let recorded = self
            .db
            .write("webhooks_record", move |tx| {
                let now = mercato_runtime::time::now_ms();
                this.record_in(tx, &results, now)
            })
            .await?;
        // Retries were scheduled: the dispatcher's sleep may be longer than their delay.
        if retried {
            self.wake();
        }
        if recorded.disabled > 0 {
            self.email.wake();
            self.outbox.notify_one();
        }
        Ok(recorded)
    }
}

/// What recording needs from [`Webhooks`], owned so it can move into the transaction.
pub(crate) struct RecordParts {
    pub settings: mercato_runtime::config::WebhookSettings,
    pub email: std::sync::Arc<crate::email::Email>,
}

impl RecordParts {
    fn record_in(&self, tx: &mut Tx<'_>, results: &[AttemptResult], now: i64) -> Result<Recorded, DbError> {
        let mut held = Vec::with_capacity(results.len());
        let succeeded = self.successes(tx, results, now, &mut held)?;
        let mut failed_endpoints = BTreeSet::new();
        let mut dead = Vec::new();
        for r in results.iter().filter(|r| !r.succeeded()) {
            let d = &r.delivery;
            let attempts = d.attempts + 1;
            let dies = schedule::is_dead(&self.settings, d.created_at, now);
            let n = if dies {
                tx.execute(
                    "UPDATE webhook_deliveries SET status = 'dead', attempts = $3, last_status_code = $4, \
                     finished_at = $5, next_attempt_at = 0, lease_owner = NULL, lease_until = 0 \
                     WHERE id = $1 AND lease_owner = $2 AND status = 'pending'",
                    &[&d.id, &d.token, &attempts, &i64::from(r.status_code), &now],
                )?
            } else {
                let next = schedule::next_attempt_at(
                    &self.settings,
                    u32::try_from(attempts).unwrap_or(u32::MAX),
                    now,
                );
                tx.execute(
                    "UPDATE webhook_deliveries SET attempts = $3, last_status_code = $4, next_attempt_at = $5, \
                     lease_owner = NULL, lease_until = 0 WHERE id = $1 AND lease_owner = $2 AND status = 'pending'",
                    &[&d.id, &d.token, &attempts, &i64::from(r.status_code), &next],
                )?
            };
            if n == 0 {
                continue;
            }
            held.push(r);
            failed_endpoints.insert((d.store_id.as_str(), d.endpoint_id.as_str()));
            if dies {
                dead.push(r);
            }
        }
        super::metrics::finished("succeeded", succeeded);
        super::metrics::finished("dead", dead.len() as u64);
        insert_attempts(tx, &held)?;
        for (store, endpoint) in &failed_endpoints {
            tx.execute(
                "UPDATE webhook_endpoints SET failing_since = $3 WHERE store_id = $1 AND id = $2 AND failing_since = 0",
                &[store, endpoint, &now],
            )?;
        }
        let mut recorded = Recorded::default();
        for r in dead.into_iter().filter(|r| !r.delivery.manual) {
            if self.disable_if_failing(tx, r, now)? {
                recorded.disabled += 1;
            }
        }
        Ok(recorded)
    }

    /// Marks the successful deliveries (grouped by lease and status code) and their endpoints
    /// healthy; returns how many were still held.
    fn successes<'r>(
        &self,
        tx: &mut Tx<'_>,
        results: &'r [AttemptResult],
        now: i64,
        held: &mut Vec<&'r AttemptResult>,
    ) -> Result<u64, DbError> {
        let mut groups: BTreeMap<(&str, u16), Vec<&AttemptResult>> = BTreeMap::new();
        for r in results.iter().filter(|r| r.succeeded()) {
            groups
                .entry((r.delivery.token.as_str(), r.status_code))
                .or_default()
                .push(r);
        }
        let mut count = 0;
        let mut healthy = BTreeSet::new();
        for ((token, code), group) in groups {
            let ids: Vec<&String> = group.iter().map(|r| &r.delivery.id).collect();
            let code = i64::from(code);
            let mut params: Vec<&dyn Param> = vec![&token, &code, &now];
            params.extend(ids.iter().map(|id| *id as &dyn Param));
            let returned: Vec<(String,)> = tx.query_all(
                &format!(
                    "UPDATE webhook_deliveries SET status = 'succeeded', attempts = attempts + 1, \
                     last_status_code = $2, finished_at = $3, next_attempt_at = 0, lease_owner = NULL, \
                     lease_until = 0 WHERE lease_owner = $1 AND status = 'pending' AND id IN ({}) RETURNING id",
                    placeholders(4, ids.len())
                ),
                &params,
            )?;
            let still: BTreeSet<String> = returned.into_iter().map(|(id,)| id).collect();
            for r in group.into_iter().filter(|r| still.contains(&r.delivery.id)) {
                count += 1;
                healthy.insert((r.delivery.store_id.as_str(), r.delivery.endpoint_id.as_str()));
                held.push(r);
            }
        }
        for (store, endpoint) in healthy {
            tx.execute(
                "UPDATE webhook_endpoints SET last_success_at = $3, failing_since = 0 WHERE store_id = $1 AND id = $2",
                &[&store, &endpoint, &now],
            )?;
        }
        Ok(count)
    }

    /// Disables the endpoint of a dead delivery if it had no success since the delivery was
    /// made; returns whether it did.
    fn disable_if_failing(&self, tx: &mut Tx<'_>, r: &AttemptResult, now: i64) -> Result<bool, DbError> {
        let d = &r.delivery;
        let Some(mut endpoint) = endpoint_row::load(tx, &d.store_id, &d.endpoint_id, true)? else {
            return Ok(false);
        };
        let failing = endpoint.status == status::ENABLED
            && endpoint.failing_since > 0
            && endpoint.last_success_at < d.created_at;
        if !failing {
            return Ok(false);
        }
        let reason = format!(
            "every delivery failed for {} (last: {})",
            humanize(self.settings.retry_for),
            if r.error.is_empty() {
                "no response"
            } else {
                &r.error
            }
        );
        disable(tx, &mut endpoint, &reason, now)?;
        let proto = endpoint.to_proto(now);
        self.email.endpoint_disabled(tx, &proto, now)?;
        let event = WebhookEndpointDisabled {
            endpoint: Some(proto),
        };
        let envelope = mercato_runtime::outbox::envelope(
            &endpoint.store_id,
            subjects::notifications::WEBHOOK_ENDPOINT_DISABLED,
            1,
            &event,
        );
        mercato_runtime::outbox::append(tx, &envelope)?;
        tracing::warn!(store = %endpoint.store_id, endpoint = %endpoint.id, "webhook endpoint disabled: {reason}");
        Ok(true)
    }
}

/// Sets the endpoint failing and cancels its pending deliveries.
fn disable(tx: &mut Tx<'_>, endpoint: &mut EndpointRow, reason: &str, now: i64) -> Result<(), DbError> {
    endpoint.status = status::FAILING.to_owned();
    endpoint.disabled_reason = reason.to_owned();
    endpoint.updated_at = now;
    tx.execute(
        "UPDATE webhook_endpoints SET status = $3, disabled_reason = $4, updated_at = $5 WHERE store_id = $1 AND id = $2",
        &[&endpoint.store_id, &endpoint.id, &endpoint.status, &endpoint.disabled_reason, &now],
    )?;
    endpoint_row::cancel_pending(tx, &endpoint.store_id, &endpoint.id, now)?;
    Ok(())
}

/// `3 days 1 hour`-style text of a duration.
fn humanize(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    let (days, hours, minutes) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    let mut parts = Vec::new();
    for (n, unit) in [(days, "day"), (hours, "hour"), (minutes, "minute")] {
        if n > 0 {
            parts.push(format!("{n} {unit}{}", if n == 1 { "" } else { "s" }));
        }
    }
    if parts.is_empty() {
        format!("{secs} seconds")
    } else {
        parts.join(" ")
    }
}

/// The attempt rows of the recorded results.
fn insert_attempts(tx: &mut Tx<'_>, results: &[&AttemptResult]) -> Result<(), DbError> {
    for chunk in results.chunks(INSERT_CHUNK) {
        let numbers: Vec<i64> = chunk.iter().map(|r| r.delivery.attempts + 1).collect();
        let codes: Vec<i64> = chunk.iter().map(|r| i64::from(r.status_code)).collect();
        let latencies: Vec<i64> = chunk
            .iter()
            .map(|r| i64::try_from(r.took.as_millis()).unwrap_or(i64::MAX))
            .collect();
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| format!("({})", placeholders(1 + 8 * i, 8)))
            .collect();
        let mut params: Vec<&dyn Param> = Vec::with_capacity(8 * chunk.len());
        for (i, r) in chunk.iter().enumerate() {
            params.extend([
                &r.delivery.id as &dyn Param,
                &numbers[i],
                &r.delivery.store_id,
                &r.at_ms,
                &codes[i],
                &latencies[i],
                &r.error,
                &r.excerpt,
            ]);
        }
        tx.execute(
            &format!(
                "INSERT INTO webhook_attempts (delivery_id, number, store_id, at, status_code, latency_ms, error, \
                 response_excerpt) VALUES {} ON CONFLICT DO NOTHING",
                rows.join(", ")
            ),
            &params,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_as_words() {
        assert_eq!(
            super::humanize(std::time::Duration::from_secs(3 * 86_400 + 3600)),
            "3 days 1 hour"
        );
        assert_eq!(
            super::humanize(std::time::Duration::from_millis(500)),
            "0 seconds"
        );
    }
}
