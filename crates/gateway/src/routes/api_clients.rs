//! A store's API clients, managed by its owner: create (the secret shown once), list, revoke,
//! and rotate the secret. Staff get 403: a client's token has the staff role, so letting staff
//! make clients would let them keep access after their own account is disabled.

use crate::access::{Owner, StoreScope};
use crate::dto_accounts::{ApiClientInfoView, ApiClientListView, ApiClientSecretView, NewApiClientBody};
use crate::extract::ApiJson;
use crate::state::GatewayState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use mercato_proto::identity::{
    CreateApiClientRequest, ListApiClientsRequest, RevokeApiClientRequest, RotateApiClientSecretRequest,
};
use mercato_runtime::error::ServiceError;

/// Create an API client (owner only).
#[utoipa::path(post, path = "/v1/stores/{store}/api-clients", tag = "stores", request_body = NewApiClientBody,
    params(("store" = String, Path, description = "store slug")),
    security(("bearer" = [])),
    responses((status = 201, body = ApiClientSecretView, description = "The new client with its secret, shown only here (the store keeps a hash); its `client_credentials` tokens have the staff role"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No store has this slug"),
              (status = 422, description = "`name` is empty, longer than 100 characters or holds control characters (`errors` names it)")))]
pub async fn create_api_client(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
    ApiJson(body): ApiJson<NewApiClientBody>,
) -> Result<(StatusCode, Json<ApiClientSecretView>), ServiceError> {
    let request = CreateApiClientRequest {
        store_id: scope.store.id,
        name: body.name,
    };
    let created = state.identity().create_api_client(request).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// The store's API clients (owner only), without their secrets.
#[utoipa::path(get, path = "/v1/stores/{store}/api-clients", tag = "stores",
    params(("store" = String, Path, description = "store slug")),
    security(("bearer" = [])),
    responses((status = 200, body = ApiClientListView, description = "Every client, newest first, revoked ones included; never a secret"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No store has this slug")))]
pub async fn list_api_clients(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
) -> Result<Json<ApiClientListView>, ServiceError> {
    let request = ListApiClientsRequest {
        store_id: scope.store.id,
    };
    let listed = state.identity().list_api_clients(request).await?;
    Ok(Json(ApiClientListView {
        api_clients: listed.api_clients.into_iter().map(Into::into).collect(),
    }))
}

/// Revoke an API client (owner only).
#[utoipa::path(post, path = "/v1/stores/{store}/api-clients/{client}/revoke", tag = "stores",
    params(("store" = String, Path, description = "store slug"), ("client" = String, Path, description = "client id")),
    security(("bearer" = [])),
    responses((status = 200, body = ApiClientInfoView, description = "The client, revoked since `revoked_at` (revoking it again changes nothing): its secret is refused from now on (`invalid_client`); access tokens it was already issued work until they expire (at most 15 minutes)"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No such store, or no such client in it")))]
pub async fn revoke_api_client(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
    Path((_store, client)): Path<(String, String)>,
) -> Result<Json<ApiClientInfoView>, ServiceError> {
    let request = RevokeApiClientRequest {
        store_id: scope.store.id,
        client_id: client,
    };
    let revoked = state.identity().revoke_api_client(request).await?;
    Ok(Json(revoked.into()))
}

/// Replace an API client's secret (owner only).
#[utoipa::path(post, path = "/v1/stores/{store}/api-clients/{client}/rotate-secret", tag = "stores",
    params(("store" = String, Path, description = "store slug"), ("client" = String, Path, description = "client id")),
    security(("bearer" = [])),
    responses((status = 200, body = ApiClientSecretView, description = "The client with its new secret, shown only here. The old secret is refused at once (no overlap); access tokens already issued with it work until they expire (at most 15 minutes), the window to roll the new one out"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No such store, or no such client in it"),
              (status = 409, description = "`conflict`: the client is revoked")))]
pub async fn rotate_api_client_secret(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
    Path((_store, client)): Path<(String, String)>,
) -> Result<Json<ApiClientSecretView>, ServiceError> {
    let request = RotateApiClientSecretRequest {
        store_id: scope.store.id,
        client_id: client,
    };
    let rotated = state.identity().rotate_api_client_secret(request).await?;
    Ok(Json(rotated.into()))
}
