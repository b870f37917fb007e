//! A store's webhook endpoints over REST (owner only): register one (its secret shown once),
//! list, read, change, enable or disable, delete, rotate the secret, send a test event; the
//! delivery log of each endpoint, one delivery with its attempts and body, redelivery; and the
//! event types there are (public). Staff get 403: an endpoint sends the store's orders and
//! customers to any URL, which only the owner may decide.

use crate::access::{Owner, StoreScope};
use crate::dto_notifications::{
    DeliveryAttemptView, DeliveryDetailView, DeliveryPageView, DeliveryView, MAX_OVERLAP_SECONDS,
    NewWebhookBody, RotateWebhookSecretBody, UpdateWebhookBody, WebhookEventTypeView, WebhookEventTypesView,
    WebhookListView, WebhookSecretView, WebhookView, check_webhook,
};
use crate::extract::{ApiJson, ApiQuery, json_object};
use crate::state::GatewayState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use mercato_proto::notifications::{
    CreateEndpointRequest, DeliveryRequest, DeliveryStatus, EndpointRequest, EventTypesRequest,
    ListDeliveriesRequest, ListEndpointsRequest, RotateSecretRequest, UpdateEndpointRequest,
};
use mercato_runtime::error::ServiceError;

/// Deliveries per page when `limit` is absent or 0, and the most a page holds.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

/// This module's routes.
pub(crate) fn routes() -> Router<GatewayState> {
    Router::new()
        .route("/v1/webhook-event-types", get(list_webhook_event_types))
        .route(
            "/v1/stores/{store}/webhooks",
            post(create_webhook).get(list_webhooks),
        )
        .route(
            "/v1/stores/{store}/webhooks/{id}",
            get(get_webhook).patch(update_webhook).delete(delete_webhook),
        )
        .route(
            "/v1/stores/{store}/webhooks/{id}/rotate-secret",
            post(rotate_webhook_secret),
        )
        .route("/v1/stores/{store}/webhooks/{id}/test", post(test_webhook))
        .route(
            "/v1/stores/{store}/webhooks/{id}/deliveries",
            get(list_webhook_deliveries),
        )
        .route(
            "/v1/stores/{store}/webhook-deliveries/{delivery}",
            get(get_webhook_delivery),
        )
        .route(
            "/v1/stores/{store}/webhook-deliveries/{delivery}/redeliver",
            post(redeliver_webhook_delivery),
        )
}

/// This module's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list_webhook_event_types, create_webhook, list_webhooks, get_webhook, update_webhook, delete_webhook,
          rotate_webhook_secret, test_webhook, list_webhook_deliveries, get_webhook_delivery,
          redeliver_webhook_delivery),
    components(schemas(NewWebhookBody, UpdateWebhookBody, RotateWebhookSecretBody, WebhookView, WebhookSecretView,
        WebhookListView, DeliveryView, DeliveryDetailView, DeliveryAttemptView, DeliveryPageView,
        WebhookEventTypeView, WebhookEventTypesView)),
    tags((name = "webhooks", description = "Signed webhooks (Standard Webhooks) to endpoints a store's owner registers"))
)]
pub(crate) struct ApiDoc;

fn endpoint_request(scope: &StoreScope<Owner>, id: String) -> EndpointRequest {
    EndpointRequest {
        store_id: scope.store.id.clone(),
        endpoint_id: id,
    }
}

/// The event types an endpoint may subscribe to.
#[utoipa::path(get, path = "/v1/webhook-event-types", tag = "webhooks",
    responses((status = 200, body = WebhookEventTypesView, description = "Every event type, with what it means")))]
pub(crate) async fn list_webhook_event_types(
    State(state): State<GatewayState>,
) -> Result<Json<WebhookEventTypesView>, ServiceError> {
    let types = state
        .notifications()
        .list_event_types(EventTypesRequest {})
        .await?;
    Ok(Json(types.into()))
}

/// Registers a webhook endpoint (owner only).
#[utoipa::path(post, path = "/v1/stores/{store}/webhooks", tag = "webhooks", request_body = NewWebhookBody,
    params(("store" = String, Path, description = "store slug")),
    security(("bearer" = [])),
    responses((status = 201, body = WebhookSecretView, description = "The endpoint, enabled, with its signing secret, shown only here"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No store has this slug"),
              (status = 422, description = "A wrong `url` (not https, or an address the deployment refuses), `event_types` or `description`; `errors` names it")))]
pub(crate) async fn create_webhook(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
    ApiJson(body): ApiJson<NewWebhookBody>,
) -> Result<(StatusCode, Json<WebhookSecretView>), ServiceError> {
    check_webhook(
        Some(&body.url),
        Some(&body.event_types),
        body.description.as_deref(),
    )?;
    let request = CreateEndpointRequest {
        store_id: scope.store.id,
        url: body.url,
        event_types: body.event_types,
        description: body.description.unwrap_or_default(),
    };
    let created = state.notifications().create_endpoint(request).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// The store's webhook endpoints (owner only), never with their secrets.
#[utoipa::path(get, path = "/v1/stores/{store}/webhooks", tag = "webhooks",
    params(("store" = String, Path, description = "store slug")),
    security(("bearer" = [])),
    responses((status = 200, body = WebhookListView, description = "Every endpoint, oldest first"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No store has this slug")))]
pub(crate) async fn list_webhooks(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
) -> Result<Json<WebhookListView>, ServiceError> {
    let request = ListEndpointsRequest {
        store_id: scope.store.id,
    };
    let listed = state.notifications().list_endpoints(request).await?;
    Ok(Json(WebhookListView {
        webhooks: listed.endpoints.into_iter().map(Into::into).collect(),
    }))
}

/// One webhook endpoint (owner only).
#[utoipa::path(get, path = "/v1/stores/{store}/webhooks/{id}", tag = "webhooks",
    params(("store" = String, Path, description = "store slug"), ("id" = String, Path, description = "endpoint id")),
    security(("bearer" = [])),
    responses((status = 200, body = WebhookView, description = "The endpoint"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No such store, or no such endpoint in it")))]
pub(crate) async fn get_webhook(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
    Path((_store, id)): Path<(String, String)>,
) -> Result<Json<WebhookView>, ServiceError> {
    let endpoint = state
        .notifications()
        .get_endpoint(endpoint_request(&scope, id))
        .await?;
    Ok(Json(endpoint.into()))
}

/// Changes an endpoint's URL, event types or description, or enables or disables it (owner only).
#[utoipa::path(patch, path = "/v1/stores/{store}/webhooks/{id}", tag = "webhooks", request_body = UpdateWebhookBody,
    params(("store" = String, Path, description = "store slug"), ("id" = String, Path, description = "endpoint id")),
    security(("bearer" = [])),
    responses((status = 200, body = WebhookView, description = "The endpoint as changed. Disabling cancels its pending deliveries; enabling one disabled for failing clears its failure record"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No such store, or no such endpoint in it"),
              (status = 422, description = "A wrong `url`, `event_types` or `description`; `errors` names it")))]
pub(crate) async fn update_webhook(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
    Path((_store, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<UpdateWebhookBody>,
) -> Result<Json<WebhookView>, ServiceError> {
    check_webhook(
        body.url.as_deref(),
        body.event_types.as_deref(),
        body.description.as_deref(),
    )?;
    let request = UpdateEndpointRequest {
        store_id: scope.store.id,
        endpoint_id: id,
        url: body.url,
        set_event_types: body.event_types.is_some(),
        event_types: body.event_types.unwrap_or_default(),
        description: body.description,
        enabled: body.enabled,
    };
    let endpoint = state.notifications().update_endpoint(request).await?;
    Ok(Json(endpoint.into()))
}

/// Deletes an endpoint (owner only); its pending deliveries are cancelled.
#[utoipa::path(delete, path = "/v1/stores/{store}/webhooks/{id}", tag = "webhooks",
    params(("store" = String, Path, description = "store slug"), ("id" = String, Path, description = "endpoint id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No such store, or no such endpoint in it")))]
pub(crate) async fn delete_webhook(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
    Path((_store, id)): Path<(String, String)>,
) -> Result<StatusCode, ServiceError> {
    state
        .notifications()
        .delete_endpoint(endpoint_request(&scope, id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces an endpoint's signing secret (owner only); the previous one keeps signing beside
/// it for the overlap, so receivers can switch without losing a delivery.
#[utoipa::path(post, path = "/v1/stores/{store}/webhooks/{id}/rotate-secret", tag = "webhooks",
    request_body = RotateWebhookSecretBody,
    params(("store" = String, Path, description = "store slug"), ("id" = String, Path, description = "endpoint id")),
    security(("bearer" = [])),
    responses((status = 200, body = WebhookSecretView, description = "The endpoint with its new secret, shown only here; `previous_secret_expires_at` says until when the old one signs too (the body may be empty: the default overlap, 24 hours; `overlap_seconds: 0` revokes the old secret at once)"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No such store, or no such endpoint in it"),
              (status = 422, description = "`overlap_seconds` is negative or over 7 days")))]
pub(crate) async fn rotate_webhook_secret(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
    Path((_store, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<WebhookSecretView>, ServiceError> {
    let body = optional_json::<RotateWebhookSecretBody>(&headers, &body)?;
    if body
        .overlap_seconds
        .is_some_and(|s| !(0..=MAX_OVERLAP_SECONDS).contains(&s))
    {
        return Err(ServiceError::invalid_field(
            "overlap_seconds",
            "must be from 0 to 604800 (7 days)",
        ));
    }
    let request = RotateSecretRequest {
        store_id: scope.store.id,
        endpoint_id: id,
        overlap_seconds: body.overlap_seconds,
    };
    let rotated = state.notifications().rotate_endpoint_secret(request).await?;
    Ok(Json(rotated.into()))
}

/// A JSON object body that may be left out (an empty body is the default).
fn optional_json<T: serde::de::DeserializeOwned + Default>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, ServiceError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .eq_ignore_ascii_case("application/json")
        });
    if !json {
        return Err(ServiceError::invalid_request(
            "expected a body with content-type application/json",
        ));
    }
    json_object(body)
}

/// Queues a `webhook.test` event for this endpoint alone (owner only).
#[utoipa::path(post, path = "/v1/stores/{store}/webhooks/{id}/test", tag = "webhooks",
    params(("store" = String, Path, description = "store slug"), ("id" = String, Path, description = "endpoint id")),
    security(("bearer" = [])),
    responses((status = 202, body = DeliveryDetailView, description = "The test delivery, pending; follow it in the delivery log"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No such store, or no such endpoint in it"),
              (status = 409, description = "The endpoint is not enabled")))]
pub(crate) async fn test_webhook(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
    Path((_store, id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<DeliveryDetailView>), ServiceError> {
    let delivery = state
        .notifications()
        .send_test_event(endpoint_request(&scope, id))
        .await?;
    Ok((StatusCode::ACCEPTED, Json(delivery.into())))
}

/// The list's filters, read by hand because `status` may repeat as well as be a comma list.
#[derive(Debug, Default, PartialEq)]
struct DeliveryFilters {
    statuses: Vec<DeliveryStatus>,
    event_type: String,
    after: String,
    limit: u32,
}

fn delivery_filters(pairs: Vec<(String, String)>) -> Result<DeliveryFilters, ServiceError> {
    let mut filters = DeliveryFilters {
        limit: DEFAULT_LIMIT,
        ..DeliveryFilters::default()
    };
    for (name, value) in pairs {
        match name.as_str() {
            "status" => {
                for status in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    filters.statuses.push(delivery_status(status)?);
                }
            }
            "event_type" => filters.event_type = value,
            "after" => filters.after = value,
            "limit" => {
                filters.limit = match value.parse::<u32>() {
                    Ok(0) => DEFAULT_LIMIT,
                    Ok(n) if n <= MAX_LIMIT => n,
                    _ => {
                        return Err(ServiceError::invalid_field(
                            "limit",
                            "must be a whole number from 0 to 200",
                        ));
                    }
                }
            }
            other => {
                return Err(ServiceError::invalid_request(format!(
                    "invalid query: unknown parameter `{other}` (expected status, event_type, after or limit)"
                )));
            }
        }
    }
    Ok(filters)
}

fn delivery_status(name: &str) -> Result<DeliveryStatus, ServiceError> {
    [
        DeliveryStatus::Pending,
        DeliveryStatus::Succeeded,
        DeliveryStatus::Dead,
        DeliveryStatus::Cancelled,
    ]
    .into_iter()
    .find(|s| mercato_proto::names::delivery_status(*s) == name)
    .ok_or_else(|| ServiceError::invalid_field("status", "must be pending, succeeded, dead or cancelled"))
}

/// An endpoint's delivery log, newest first (owner only).
#[utoipa::path(get, path = "/v1/stores/{store}/webhooks/{id}/deliveries", tag = "webhooks",
    params(("store" = String, Path, description = "store slug"), ("id" = String, Path, description = "endpoint id"),
           ("status" = Option<Vec<String>>, Query, description = "only these statuses (pending, succeeded, dead, cancelled): repeat the parameter or give a comma list"),
           ("event_type" = Option<String>, Query, description = "only this event type, e.g. `order.confirmed`"),
           ("after" = Option<String>, Query, description = "the previous page's `next`"),
           ("limit" = Option<u32>, Query, description = "deliveries per page: 50 when absent or 0, at most 200", maximum = 200)),
    security(("bearer" = [])),
    responses((status = 200, body = DeliveryPageView, description = "A page of deliveries, newest first"),
              (status = 400, description = "An unknown parameter or a malformed `after`"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No such store, or no such endpoint in it"),
              (status = 422, description = "An unknown status, or a limit over 200")))]
pub(crate) async fn list_webhook_deliveries(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
    Path((_store, id)): Path<(String, String)>,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Json<DeliveryPageView>, ServiceError> {
    let filters = delivery_filters(pairs)?;
    let request = ListDeliveriesRequest {
        store_id: scope.store.id,
        endpoint_id: id,
        statuses: filters.statuses.into_iter().map(i32::from).collect(),
        event_type: filters.event_type,
        after: filters.after,
        limit: filters.limit,
    };
    let page = state.notifications().list_deliveries(request).await?;
    Ok(Json(page.into()))
}

/// One delivery with its attempts (status code, latency, error, response excerpt) and body.
#[utoipa::path(get, path = "/v1/stores/{store}/webhook-deliveries/{delivery}", tag = "webhooks",
    params(("store" = String, Path, description = "store slug"), ("delivery" = String, Path, description = "delivery id")),
    security(("bearer" = [])),
    responses((status = 200, body = DeliveryDetailView, description = "The delivery"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No such store, or no such delivery in it")))]
pub(crate) async fn get_webhook_delivery(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
    Path((_store, delivery)): Path<(String, String)>,
) -> Result<Json<DeliveryDetailView>, ServiceError> {
    let request = DeliveryRequest {
        store_id: scope.store.id,
        delivery_id: delivery,
    };
    let delivery = state.notifications().get_delivery(request).await?;
    Ok(Json(delivery.into()))
}

/// Sends a delivery's event again, as a new delivery with the same `webhook-id`, whatever the
/// first one's state (owner only).
#[utoipa::path(post, path = "/v1/stores/{store}/webhook-deliveries/{delivery}/redeliver", tag = "webhooks",
    params(("store" = String, Path, description = "store slug"), ("delivery" = String, Path, description = "delivery id")),
    security(("bearer" = [])),
    responses((status = 202, body = DeliveryDetailView, description = "The new delivery, pending"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No such store, or no such delivery in it"),
              (status = 409, description = "Its endpoint is not enabled")))]
pub(crate) async fn redeliver_webhook_delivery(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
    Path((_store, delivery)): Path<(String, String)>,
) -> Result<(StatusCode, Json<DeliveryDetailView>), ServiceError> {
    let request = DeliveryRequest {
        store_id: scope.store.id,
        delivery_id: delivery,
    };
    let delivery = state.notifications().redeliver(request).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery.into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_statuses_repeat_or_come_as_a_comma_list_and_unknown_ones_are_refused() {
        let pairs = vec![
            ("status".to_owned(), "pending,dead".to_owned()),
            ("status".to_owned(), "succeeded".to_owned()),
            ("limit".to_owned(), "0".to_owned()),
        ];
        let filters = delivery_filters(pairs).expect("valid");
        assert_eq!(
            filters.statuses,
            [
                DeliveryStatus::Pending,
                DeliveryStatus::Dead,
                DeliveryStatus::Succeeded
            ]
        );
        assert_eq!(filters.limit, DEFAULT_LIMIT);
        assert!(delivery_filters(vec![("limit".into(), "201".into())]).is_err());
        assert!(delivery_filters(vec![("status".into(), "done".into())]).is_err());
        assert!(delivery_filters(vec![("page".into(), "2".into())]).is_err());
    }

    #[test]
    fn a_rotation_body_may_be_empty() {
        let empty = optional_json::<RotateWebhookSecretBody>(&HeaderMap::new(), b"").unwrap();
        assert_eq!(empty.overlap_seconds, None);
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        let given =
            optional_json::<RotateWebhookSecretBody>(&headers, br#"{"overlap_seconds": 60}"#).unwrap();
        assert_eq!(given.overlap_seconds, Some(60));
        assert!(optional_json::<RotateWebhookSecretBody>(&headers, br#"{"overlap": 60}"#).is_err());
        assert!(optional_json::<RotateWebhookSecretBody>(&HeaderMap::new(), b"{}").is_err());
    }
}
