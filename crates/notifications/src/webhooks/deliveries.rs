//! The delivery log: a page of an endpoint's deliveries (newest first, by the jobs' cursor), one
//! delivery with its attempts and body, a redelivery (a new manual delivery of the same message,
//! so the same `webhook-id`) and test events.

use super::Webhooks;
use super::endpoint_row;
use super::fanout::{self, NewMessage};
use crate::event_types::TEST_EVENT;
use mercato_proto::notifications::*;
use mercato_runtime::db::{Param, Value};
use mercato_runtime::error::{ServiceError, Validator};
use mercato_runtime::jobs::{cursor_of, parse_cursor};
use mercato_runtime::time::now_ms;

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

const COLUMNS: &str = "id, store_id, endpoint_id, message_id, event_type, status, attempts, next_attempt_at, \
     manual, last_status_code, created_at, finished_at";

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    bool,
    i64,
    i64,
    i64,
);

fn status_name(status: DeliveryStatus) -> Option<&'static str> {
    match status {
        DeliveryStatus::Pending => Some("pending"),
        DeliveryStatus::Succeeded => Some("succeeded"),
        DeliveryStatus::Dead => Some("dead"),
        DeliveryStatus::Cancelled => Some("cancelled"),
        DeliveryStatus::Unspecified => None,
    }
}

fn status_of(name: &str) -> DeliveryStatus {
    match name {
        "pending" => DeliveryStatus::Pending,
        "succeeded" => DeliveryStatus::Succeeded,
        "dead" => DeliveryStatus::Dead,
        "cancelled" => DeliveryStatus::Cancelled,
        _ => DeliveryStatus::Unspecified,
    }
}

fn to_proto(r: Row) -> Delivery {
    let status = status_of(&r.5);
    Delivery {
        id: r.0,
        store_id: r.1,
        endpoint_id: r.2,
        event_id: r.3,
        event_type: r.4,
        status: status as i32,
        attempts: u32::try_from(r.6).unwrap_or(u32::MAX),
        next_attempt_at_ms: if status == DeliveryStatus::Pending { r.7 } else { 0 },
        manual: r.8,
        last_status_code: u32::try_from(r.9).unwrap_or(0),
        created_at_ms: r.10,
        finished_at_ms: r.11,
        attempt_log: Vec::new(),
        payload_json: String::new(),
    }
}

fn not_found() -> ServiceError {
    ServiceError::not_found("webhook delivery")
}

/// Adds a parameter; returns its placeholder.
fn bind(value: Value<'static>, params: &mut Vec<Value<'static>>) -> String {
    params.push(value);
    format!("${}", params.len())
}

/// The endpoint `id` of `store`, which must be enabled for anything to be sent to it by hand: not
/// found (404) otherwise, or a conflict (409) while it is disabled or failing.
fn enabled_endpoint(
    tx: &mut mercato_runtime::db::Tx<'_>,
    store: &str,
    id: &str,
) -> Result<endpoint_row::EndpointRow, ServiceError> {
    let endpoint = endpoint_row::load(tx, store, id, false)?
        .ok_or_else(|| ServiceError::not_found("webhook endpoint"))?;
    if endpoint.status != endpoint_row::status::ENABLED {
        return Err(ServiceError::conflict(format!(
            "the endpoint is {}: enable it first",
            endpoint.status
        )));
    }
    Ok(endpoint)
}

impl Webhooks {
    pub async fn list_deliveries(
        &self,
        r: ListDeliveriesRequest,
    ) -> Result<ListDeliveriesResponse, ServiceError> {
        let mut v = Validator::new();
        if r.limit > MAX_LIMIT {
            v.add("limit", "must be between 1 and 200 (0 means 50)");
        }
        let mut statuses = Vec::new();
        for s in &r.statuses {
            match DeliveryStatus::try_from(*s).ok().and_then(status_name) {
                Some(name) => statuses.push(name),
                None => v.add("statuses", "must be pending, succeeded, dead or cancelled"),
            }
        }
        let after = match r.after.as_str() {
            "" => None,
            cursor => {
                let parsed = parse_cursor(cursor);
                if parsed.is_none() {
                    v.add("after", "is not a cursor this service gave");
                }
                parsed
            }
        };
        v.finish()?;
        if !r.endpoint_id.is_empty() {
            let (store, endpoint) = (r.store_id.clone(), r.endpoint_id.clone());
            self.db
                .read("webhooks_endpoint_exists", move |tx| {
                    endpoint_row::load(tx, &store, &endpoint, false)
                })
                .await?
                .ok_or_else(|| ServiceError::not_found("webhook endpoint"))?;
        }
        let limit = if r.limit == 0 { DEFAULT_LIMIT } else { r.limit };
        let mut params: Vec<Value<'static>> = Vec::new();
        let mut conditions = vec![format!(
            "store_id = {}",
            bind(Value::Text(r.store_id.clone().into()), &mut params)
        )];
        if !r.endpoint_id.is_empty() {
            conditions.push(format!(
                "endpoint_id = {}",
                bind(Value::Text(r.endpoint_id.clone().into()), &mut params)
            ));
        }
        if !statuses.is_empty() {
            let list: Vec<String> = statuses
                .iter()
                .map(|s| bind(Value::Text((*s).into()), &mut params))
                .collect();
            conditions.push(format!("status IN ({})", list.join(", ")));
        }
        if !r.event_type.is_empty() {
            conditions.push(format!(
                "event_type = {}",
                bind(Value::Text(r.event_type.clone().into()), &mut params)
            ));
        }
        if let Some((at, id)) = after {
            let at = bind(Value::Int(at), &mut params);
            let id = bind(Value::Text(id.into()), &mut params);
            conditions.push(format!(
                "(created_at < {at} OR (created_at = {at} AND id < {id}))"
            ));
        }
        let limit_p = bind(Value::Int(i64::from(limit) + 1), &mut params);
        let sql = format!(
            "SELECT {COLUMNS} FROM webhook_deliveries WHERE {} ORDER BY created_at DESC, id DESC LIMIT {limit_p}",
            conditions.join(" AND ")
        );
        let refs: Vec<&dyn Param> = params.iter().map(|p| p as &dyn Param).collect();
        let mut rows: Vec<Row> = self.db.query_all(&sql, &refs).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next = match rows.last() {
            Some(last) if more => cursor_of(last.10, &last.0),
            _ => String::new(),
        };
        Ok(ListDeliveriesResponse {
            deliveries: rows.into_iter().map(to_proto).collect(),
            next,
        })
    }

    pub async fn get_delivery(&self, r: DeliveryRequest) -> Result<Delivery, ServiceError> {
        self.delivery(r.store_id, r.delivery_id).await
    }

    /// One delivery of `store` with its attempts and body.
    async fn delivery(&self, store: String, id: String) -> Result<Delivery, ServiceError> {
        self.db
            .read("webhooks_get_delivery", move |tx| {
                let row: Row = tx
                    .query_opt(
                        &format!("SELECT {COLUMNS} FROM webhook_deliveries WHERE store_id = $1 AND id = $2"),
                        &[&store, &id],
                    )?
                    .ok_or_else(not_found)?;
                let message = row.3.clone();
                let mut delivery = to_proto(row);
                let attempts: Vec<(i64, i64, i64, i64, String, String)> = tx.query_all(
                    "SELECT number, at, status_code, latency_ms, error, response_excerpt FROM webhook_attempts \
                     WHERE store_id = $1 AND delivery_id = $2 ORDER BY number",
                    &[&store, &id],
                )?;
                delivery.attempt_log = attempts
                    .into_iter()
                    .map(|a| DeliveryAttempt {
                        number: u32::try_from(a.0).unwrap_or(0),
                        at_ms: a.1,
                        status_code: u32::try_from(a.2).unwrap_or(0),
                        latency_ms: a.3,
                        error: a.4,
                        response_excerpt: a.5,
                    })
                    .collect();
                let body: Option<(String,)> = tx.query_opt(
                    "SELECT body FROM webhook_messages WHERE store_id = $1 AND id = $2",
                    &[&store, &message],
                )?;
                delivery.payload_json = body.map(|(b,)| b).unwrap_or_default();
                Ok::<_, ServiceError>(delivery)
            })
            .await
    }

    pub async fn redeliver(&self, r: DeliveryRequest) -> Result<Delivery, ServiceError> {
        let now = now_ms();
        let store = r.store_id.clone();
        let id = self
            .db
            .write("webhooks_redeliver", move |tx| {
                let found: Option<(String, String, String)> = tx.query_opt(
                    "SELECT endpoint_id, message_id, event_type FROM webhook_deliveries WHERE store_id = $1 AND id = $2",
                    &[&r.store_id, &r.delivery_id],
                )?;
                let (endpoint, message, event_type) = found.ok_or_else(not_found)?;
                enabled_endpoint(tx, &r.store_id, &endpoint)?;
                let m = NewMessage {
                    id: &message,
                    store_id: &r.store_id,
                    event_type: &event_type,
                    body: "",
                };
                let ids = fanout::add_deliveries(tx, &m, &[endpoint], true, now)?;
                ids.into_iter().next().ok_or_else(|| ServiceError::internal("no delivery was added"))
            })
            .await?;
        self.wake();
        self.delivery(store, id).await
    }

    pub async fn send_test_event(&self, r: EndpointRequest) -> Result<Delivery, ServiceError> {
        let now = now_ms();
        let store = r.store_id.clone();
        let id = self
            .db
            .write("webhooks_send_test_event", move |tx| {
                enabled_endpoint(tx, &r.store_id, &r.endpoint_id)?;
                let message_id = uuid::Uuid::now_v7().to_string();
                let body = fanout::body(
                    TEST_EVENT,
                    now,
                    serde_json::json!({ "endpoint_id": r.endpoint_id }),
                );
                let m = NewMessage {
                    id: &message_id,
                    store_id: &r.store_id,
                    event_type: TEST_EVENT,
                    body: &body,
                };
                fanout::store_message(tx, &m, now)?;
                let ids = fanout::add_deliveries(tx, &m, std::slice::from_ref(&r.endpoint_id), true, now)?;
                ids.into_iter()
                    .next()
                    .ok_or_else(|| ServiceError::internal("no delivery was added"))
            })
            .await?;
        self.wake();
        self.delivery(store, id).await
    }
}
