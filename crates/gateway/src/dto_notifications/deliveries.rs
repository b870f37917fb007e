//! REST shapes of webhook deliveries: the delivery log of an endpoint, one delivery with its
//! attempts, and the event types an endpoint may subscribe to.

use super::*;

/// One delivery of one event to one endpoint.
#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: String,
    pub endpoint_id: String,
    /// The `webhook-id` header: the event's id, the same on every attempt and redelivery.
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `succeeded`, `dead` (retried for 3 days without a 2xx) or `cancelled` (its
    /// endpoint was disabled or deleted first).
    pub status: String,
    pub attempts: u32,
    /// The last attempt's HTTP status; null before any answer came.
    pub last_status_code: Option<u16>,
    /// A redelivery or test event asked for by the owner.
    pub manual: bool,
    pub created_at: String,
    /// When it is tried next; null unless pending.
    pub next_attempt_at: Option<String>,
    pub finished_at: Option<String>,
}

/// One HTTP attempt of a delivery.
#[derive(Serialize, ToSchema)]
pub struct DeliveryAttemptView {
    /// 1 for the first attempt.
    pub number: u32,
    pub at: String,
    /// The receiver's HTTP status; null when none came (refused, timed out, blocked address).
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    /// Why it failed, in words; null on success.
    pub error: Option<String>,
    /// The first 1 KiB of the response body, as text.
    pub response_excerpt: String,
}

/// A delivery with its attempts, oldest first, and the body it sends.
#[derive(Serialize, ToSchema)]
pub struct DeliveryDetailView {
    #[serde(flatten)]
    pub delivery: DeliveryView,
    pub attempt_log: Vec<DeliveryAttemptView>,
    /// The body POSTed: `{"type", "timestamp", "data"}` (Standard Webhooks).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

/// A page of an endpoint's deliveries, newest first.
#[derive(Serialize, ToSchema)]
pub struct DeliveryPageView {
    pub items: Vec<DeliveryView>,
    /// Pass as `after` for the next page; absent on the last.
    pub next: Option<String>,
}

fn status_code(code: u32) -> Option<u16> {
    u16::try_from(code).ok().filter(|c| *c != 0)
}

impl From<&proto::Delivery> for DeliveryView {
    fn from(d: &proto::Delivery) -> Self {
        DeliveryView {
            id: d.id.clone(),
            endpoint_id: d.endpoint_id.clone(),
            event_id: d.event_id.clone(),
            event_type: d.event_type.clone(),
            status: names::delivery_status(d.status()).to_owned(),
            attempts: d.attempts,
            last_status_code: status_code(d.last_status_code),
            manual: d.manual,
            created_at: to_rfc3339(d.created_at_ms),
            next_attempt_at: time(d.next_attempt_at_ms),
            finished_at: time(d.finished_at_ms),
        }
    }
}

impl From<proto::Delivery> for DeliveryDetailView {
    fn from(d: proto::Delivery) -> Self {
        DeliveryDetailView {
            delivery: DeliveryView::from(&d),
            payload: serde_json::from_str(&d.payload_json).unwrap_or(serde_json::Value::Null),
            attempt_log: d
                .attempt_log
                .into_iter()
                .map(|a| DeliveryAttemptView {
                    number: a.number,
                    at: to_rfc3339(a.at_ms),
                    status_code: status_code(a.status_code),
                    latency_ms: a.latency_ms,
                    error: non_empty(a.error),
                    response_excerpt: a.response_excerpt,
                })
                .collect(),
        }
    }
}

impl From<proto::ListDeliveriesResponse> for DeliveryPageView {
    fn from(r: proto::ListDeliveriesResponse) -> Self {
        DeliveryPageView {
            items: r.deliveries.iter().map(DeliveryView::from).collect(),
            next: non_empty(r.next),
        }
    }
}

/// An event type an endpoint may subscribe to.
#[derive(Serialize, ToSchema)]
pub struct WebhookEventTypeView {
    /// e.g. `order.confirmed`.
    pub name: String,
    pub description: String,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookEventTypesView {
    pub types: Vec<WebhookEventTypeView>,
}

impl From<proto::EventTypes> for WebhookEventTypesView {
    fn from(t: proto::EventTypes) -> Self {
        WebhookEventTypesView {
            types: t
                .types
                .into_iter()
                .map(|t| WebhookEventTypeView {
                    name: t.name,
                    description: t.description,
                })
                .collect(),
        }
    }
}
