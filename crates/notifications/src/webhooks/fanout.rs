//! The fan-out, inside the consumer's transaction: an event of a webhook type becomes one
//! message (its body, stored once) and one delivery, due now, per enabled endpoint of its store
//! subscribed to the type. Nothing is cached: one indexed read of the store's enabled endpoints
//! per event (a store has at most 50), so every replica sees an endpoint the moment it commits.

use super::Webhooks;
use super::endpoint_row::subscribes;
use crate::consumer::Effects;
use crate::event_types;
use mercato_proto::events::EventEnvelope;
use mercato_runtime::db::{DbError, Param, Tx};
use mercato_runtime::time::to_rfc3339;

/// A message to store: its id (the `webhook-id`), store, type and body.
pub(crate) struct NewMessage<'a> {
    pub id: &'a str,
    pub store_id: &'a str,
    pub event_type: &'a str,
    pub body: &'a str,
}

/// The body of every delivery: `{"type", "timestamp", "data"}`.
pub(crate) fn body(event_type: &str, at_ms: i64, data: serde_json::Value) -> String {
    serde_json::json!({
        "type": event_type,
        "timestamp": to_rfc3339(at_ms),
        "data": data,
    })
    .to_string()
}

/// Stores a message unless it is already stored.
pub(crate) fn store_message(tx: &mut Tx<'_>, m: &NewMessage<'_>, now: i64) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO webhook_messages (id, store_id, event_type, body, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        &[&m.id, &m.store_id, &m.event_type, &m.body, &now],
    )?;
    Ok(())
}

/// Adds one delivery of `m` per endpoint in `endpoints`, due at `now`; an automatic delivery
/// that exists already (a replay) is not added again. Returns the new deliveries' ids.
pub(crate) fn add_deliveries(
    tx: &mut Tx<'_>,
    m: &NewMessage<'_>,
    endpoints: &[String],
    manual: bool,
    now: i64,
) -> Result<Vec<String>, DbError> {
    if endpoints.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = endpoints
        .iter()
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    let rows: Vec<String> = (0..endpoints.len())
        .map(|i| {
            let p = 6 + 2 * i;
            format!("(${}, $1, ${}, $2, $3, 'pending', $4, $5, $4)", p, p + 1)
        })
        .collect();
    let sql = format!(
        "INSERT INTO webhook_deliveries (id, store_id, endpoint_id, message_id, event_type, status, \
         next_attempt_at, manual, created_at) VALUES {} ON CONFLICT DO NOTHING",
        rows.join(", ")
    );
    let mut params: Vec<&dyn Param> = vec![&m.store_id, &m.id, &m.event_type, &now, &manual];
    for (id, endpoint) in ids.iter().zip(endpoints) {
        params.push(id);
        params.push(endpoint);
    }
    tx.execute(&sql, &params)?;
    Ok(ids)
}

impl Webhooks {
    pub(crate) fn fan_out(
        &self,
        tx: &mut Tx<'_>,
        event: &EventEnvelope,
        now: i64,
    ) -> Result<Effects, DbError> {
        let Some(event_type) = event_types::for_subject(&event.subject) else {
            return Ok(Effects::default());
        };
        let enabled: Vec<(String, String)> = tx.query_all(
            "SELECT id, event_types FROM webhook_endpoints WHERE store_id = $1 AND status = 'enabled'",
            &[&event.store_id],
        )?;
        let endpoints: Vec<String> = enabled
            .into_iter()
            .filter(|(_, types)| subscribes(types, event_type.name))
            .map(|(id, _)| id)
            .collect();
        if endpoints.is_empty() {
            return Ok(Effects::default());
        }
        let Some(data) = mercato_gateway::event_payloads::webhook_data(event) else {
            tracing::warn!(subject = %event.subject, event = %event.id, "webhook event without a payload; not delivered");
            return Ok(Effects::default());
        };
        let at = if event.occurred_at_ms > 0 {
            event.occurred_at_ms
        } else {
            now
        };
        let body = body(event_type.name, at, data);
        let message = NewMessage {
            id: &event.id,
            store_id: &event.store_id,
            event_type: event_type.name,
            body: &body,
        };
        store_message(tx, &message, now)?;
        add_deliveries(tx, &message, &endpoints, false, now)?;
        Ok(Effects {
            emails: false,
            deliveries: true,
        })
    }
}
