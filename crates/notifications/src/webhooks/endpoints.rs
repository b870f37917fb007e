//! Registering endpoints: create, list, get, update (enabling one clears its failure; disabling
//! cancels its pending deliveries), delete, and secret rotation with an overlap in which both
//! secrets sign. The secret is returned only by create and rotate.

use super::Webhooks;
use super::endpoint_row::{self, COLUMNS, EndpointRow, status};
use super::secrets;
use crate::event_types;
use mercato_proto::notifications::*;
use mercato_runtime::error::{ServiceError, Validator};
use mercato_runtime::time::now_ms;
use std::time::Duration;

/// Endpoints a store may have.
pub(crate) const MAX_ENDPOINTS: i64 = 50;
/// The longest URL accepted.
const MAX_URL: usize = 2048;
const MAX_DESCRIPTION: usize = 500;
/// The longest overlap a rotation may ask for.
const MAX_OVERLAP: Duration = Duration::from_secs(7 * 24 * 3600);

fn not_found() -> ServiceError {
    ServiceError::not_found("webhook endpoint")
}

fn internal(e: anyhow::Error) -> ServiceError {
    ServiceError::internal(format!("{e:#}"))
}

/// The stored form of a valid type list: names in order, deduplicated, or `*`.
fn check_types(v: &mut Validator, types: &[String]) -> Option<String> {
    if types.is_empty() {
        v.add("event_types", "must name at least one event type (or \"*\")");
        return None;
    }
    let mut names: Vec<&str> = Vec::new();
    for t in types.iter().map(|t| t.trim()) {
        if t != "*" && event_types::named(t).is_none() {
            v.add(
                "event_types",
                &format!("\"{t}\" is not an event type (see ListEventTypes)"),
            );
            return None;
        }
        if !names.contains(&t) {
            names.push(t);
        }
    }
    if names.contains(&"*") {
        return Some("*".to_owned());
    }
    names.sort_unstable();
    Some(names.join(" "))
}

fn check_description(v: &mut Validator, description: &str) -> String {
    if description.chars().count() > MAX_DESCRIPTION {
        v.add("description", "must be at most 500 characters");
    }
    description.trim().to_owned()
}

impl Webhooks {
    /// A URL an endpoint may have: absolute, at most 2,048 characters, and allowed by the
    /// outbound rules (`https` unless `allow_http`; no forbidden address literal).
    fn check_url(&self, v: &mut Validator, url: &str) -> Option<String> {
        let url = url.trim();
        if url.is_empty() || url.len() > MAX_URL {
            v.add("url", "must be an absolute URL of at most 2048 characters");
            return None;
        }
        let parsed = match url::Url::parse(url) {
            Ok(u) if u.host().is_some() => u,
            _ => {
                v.add("url", "must be an absolute http(s) URL with a host");
                return None;
            }
        };
        if let Err(e) = self.outbound.check_url(&parsed) {
            v.add("url", &e.to_string());
            return None;
        }
        Some(parsed.to_string())
    }

    pub async fn create_endpoint(
        &self,
        r: CreateEndpointRequest,
    ) -> Result<EndpointWithSecret, ServiceError> {
        let mut v = Validator::new();
        if r.store_id.trim().is_empty() {
            v.add("store_id", "is required");
        }
        let url = self.check_url(&mut v, &r.url);
        let types = check_types(&mut v, &r.event_types);
        let description = check_description(&mut v, &r.description);
        v.finish()?;
        let (Some(url), Some(types)) = (url, types) else {
            return Err(ServiceError::validation("invalid endpoint"));
        };
        let id = uuid::Uuid::now_v7().to_string();
        let secret = secrets::generate();
        let sealed = secrets::seal(&self.kek, &id, 1, &secret).map_err(internal)?;
        let now = now_ms();
        let row = EndpointRow {
            id,
            store_id: r.store_id.trim().to_owned(),
            url,
            event_types: types,
            description,
            status: status::ENABLED.to_owned(),
            disabled_reason: String::new(),
            secret_generation: 1,
            secret_sealed: sealed,
            secret_hint: secrets::hint(&secret),
            previous_secret_sealed: None,
            previous_secret_expires_at: 0,
            failing_since: 0,
            last_success_at: 0,
            created_at: now,
            updated_at: now,
        };
        let stored = row.clone();
        self.db
            .write("webhooks_create_endpoint", move |tx| {
                let (count,): (i64,) = tx.query_one(
                    "SELECT COUNT(*) FROM webhook_endpoints WHERE store_id = $1",
                    &[&stored.store_id],
                )?;
                if count >= MAX_ENDPOINTS {
                    return Err(ServiceError::invalid_field(
                        "url",
                        "a store may have at most 50 webhook endpoints",
                    ));
                }
                tx.execute(
                    &format!(
                        "INSERT INTO webhook_endpoints ({COLUMNS}) VALUES \
                         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
                    ),
                    &[
                        &stored.id,
                        &stored.store_id,
                        &stored.url,
                        &stored.event_types,
                        &stored.description,
                        &stored.status,
                        &stored.disabled_reason,
                        &stored.secret_generation,
                        &stored.secret_sealed,
                        &stored.secret_hint,
                        &stored.previous_secret_sealed,
                        &stored.previous_secret_expires_at,
                        &stored.failing_since,
                        &stored.last_success_at,
                        &stored.created_at,
                        &stored.updated_at,
                    ],
                )?;
                Ok(())
            })
            .await?;
        Ok(EndpointWithSecret {
            endpoint: Some(row.to_proto(now)),
            secret,
        })
    }

    pub async fn list_endpoints(
        &self,
        r: ListEndpointsRequest,
    ) -> Result<ListEndpointsResponse, ServiceError> {
        let rows: Vec<EndpointRow> = self
            .db
            .query_all(
                &format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE store_id = $1 ORDER BY id"),
                &[&r.store_id],
            )
            .await?;
        let now = now_ms();
        Ok(ListEndpointsResponse {
            endpoints: rows.iter().map(|e| e.to_proto(now)).collect(),
        })
    }

    pub async fn get_endpoint(&self, r: EndpointRequest) -> Result<Endpoint, ServiceError> {
        let row: Option<EndpointRow> = self
            .db
            .query_opt(
                &format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE store_id = $1 AND id = $2"),
                &[&r.store_id, &r.endpoint_id],
            )
            .await?;
        Ok(row.ok_or_else(not_found)?.to_proto(now_ms()))
    }

    pub async fn update_endpoint(&self, r: UpdateEndpointRequest) -> Result<Endpoint, ServiceError> {
        let mut v = Validator::new();
        let url = r.url.as_deref().map(|u| self.check_url(&mut v, u));
        let types = r.set_event_types.then(|| check_types(&mut v, &r.event_types));
        let description = r.description.as_deref().map(|d| check_description(&mut v, d));
        v.finish()?;
        let (url, types) = (url.flatten(), types.flatten());
        let now = now_ms();
        let row = self
            .db
            .write("webhooks_update_endpoint", move |tx| {
                let mut row = endpoint_row::load(tx, &r.store_id, &r.endpoint_id, true)?.ok_or_else(not_found)?;
                if let Some(url) = url {
                    row.url = url;
                }
                if let Some(types) = types {
                    row.event_types = types;
                }
                if let Some(description) = description {
                    row.description = description;
                }
                match r.enabled {
                    Some(true) if row.status != status::ENABLED => {
                        row.status = status::ENABLED.to_owned();
                        row.disabled_reason.clear();
                        row.failing_since = 0;
                    }
                    Some(false) if row.status == status::ENABLED => {
                        row.status = status::DISABLED.to_owned();
                        row.disabled_reason = "disabled by the owner".to_owned();
                        endpoint_row::cancel_pending(tx, &row.store_id, &row.id, now)?;
                    }
                    _ => {}
                }
                row.updated_at = now;
                tx.execute(
                    "UPDATE webhook_endpoints SET url = $3, event_types = $4, description = $5, status = $6, \
                     disabled_reason = $7, failing_since = $8, updated_at = $9 WHERE store_id = $1 AND id = $2",
                    &[
                        &row.store_id,
                        &row.id,
                        &row.url,
                        &row.event_types,
                        &row.description,
                        &row.status,
                        &row.disabled_reason,
                        &row.failing_since,
                        &row.updated_at,
                    ],
                )?;
                Ok::<_, ServiceError>(row)
            })
            .await?;
        Ok(row.to_proto(now))
    }

    pub async fn delete_endpoint(&self, r: EndpointRequest) -> Result<Deleted, ServiceError> {
        let now = now_ms();
        self.db
            .write("webhooks_delete_endpoint", move |tx| {
                let deleted = tx.execute(
                    "DELETE FROM webhook_endpoints WHERE store_id = $1 AND id = $2",
                    &[&r.store_id, &r.endpoint_id],
                )?;
                if deleted == 0 {
                    return Err(not_found());
                }
                endpoint_row::cancel_pending(tx, &r.store_id, &r.endpoint_id, now)?;
                Ok(())
            })
            .await?;
        Ok(Deleted {})
    }

    pub async fn rotate_secret(&self, r: RotateSecretRequest) -> Result<EndpointWithSecret, ServiceError> {
        let overlap = match r.overlap_seconds {
            None => self.settings.secret_overlap,
            Some(s) if s < 0 || s.unsigned_abs() > MAX_OVERLAP.as_secs() => {
                return Err(ServiceError::invalid_field(
                    "overlap_seconds",
                    "must be between 0 and 604800 (7 days)",
                ));
            }
            Some(s) => Duration::from_secs(s.unsigned_abs()),
        };
        let overlap_ms = i64::try_from(overlap.min(MAX_OVERLAP).as_millis()).unwrap_or(0);
        let secret = secrets::generate();
        let kek = self.kek.clone();
        let now = now_ms();
        let hint = secrets::hint(&secret);
        let new_secret = secret.clone();
        let row = self
            .db
            .write("webhooks_rotate_secret", move |tx| {
                let mut row = endpoint_row::load(tx, &r.store_id, &r.endpoint_id, true)?.ok_or_else(not_found)?;
                let generation = row.secret_generation + 1;
                let sealed = secrets::seal(&kek, &row.id, generation, &new_secret).map_err(internal)?;
                let previous = std::mem::replace(&mut row.secret_sealed, sealed);
                // No overlap: the previous secret stops signing now.
                row.previous_secret_sealed = (overlap_ms > 0).then_some(previous);
                row.previous_secret_expires_at = if overlap_ms > 0 { now + overlap_ms } else { 0 };
                row.secret_generation = generation;
                row.secret_hint = hint;
                row.updated_at = now;
                tx.execute(
                    "UPDATE webhook_endpoints SET secret_generation = $3, secret_sealed = $4, secret_hint = $5, \
                     previous_secret_sealed = $6, previous_secret_expires_at = $7, updated_at = $8 \
                     WHERE store_id = $1 AND id = $2",
                    &[
                        &row.store_id,
                        &row.id,
                        &row.secret_generation,
                        &row.secret_sealed,
                        &row.secret_hint,
                        &row.previous_secret_sealed,
                        &row.previous_secret_expires_at,
                        &row.updated_at,
                    ],
                )?;
                Ok::<_, ServiceError>(row)
            })
            .await?;
        Ok(EndpointWithSecret {
            endpoint: Some(row.to_proto(now)),
            secret,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_checked_sorted_and_deduplicated() {
        let mut v = Validator::new();
        let types = |t: &[&str]| t.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            check_types(&mut v, &types(&["stock.low", "order.placed", "stock.low"])).as_deref(),
            Some("order.placed stock.low")
        );
        assert_eq!(
            check_types(&mut v, &types(&["order.placed", "*"])).as_deref(),
            Some("*")
        );
        assert!(v.finish().is_ok());
        let mut v = Validator::new();
        assert!(check_types(&mut v, &types(&["order.exploded"])).is_none());
        assert!(check_types(&mut v, &[]).is_none());
        assert!(v.finish().is_err());
    }
}
