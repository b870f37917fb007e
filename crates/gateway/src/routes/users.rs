//! A store's user accounts: the list of its owners and staff, and disabling and re-enabling
//! one (owner and staff; identity decides whose account each may change).

use crate::access::{Staff, StoreScope};
use crate::dto::UserView;
use crate::dto_accounts::StaffListView;
use crate::state::GatewayState;
use axum::extract::{Path, State};
use mercato_proto::identity::{ListStaffRequest, SetUserDisabledRequest};
use mercato_runtime::error::ServiceError;

/// The accounts that run this store: its owners and staff (owner and staff).
#[utoipa::path(get, path = "/v1/stores/{store}/staff", tag = "stores",
    params(("store" = String, Path, description = "store slug")),
    security(("bearer" = [])),
    responses((status = 200, body = StaffListView, description = "Owners and staff with their role, oldest first, disabled ones included (`disabled_at` set); customers are listed at `/customers`"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No store has this slug")))]
pub async fn list_staff(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
) -> Result<axum::Json<StaffListView>, ServiceError> {
    let request = ListStaffRequest {
        store_id: scope.store.id,
    };
    Ok(axum::Json(state.identity().list_staff(request).await?.into()))
}

/// Disable a customer or staff account of this store.
#[utoipa::path(post, path = "/v1/stores/{store}/users/{user}/disable", tag = "stores",
    params(("store" = String, Path, description = "store slug"), ("user" = String, Path, description = "user id")),
    security(("bearer" = [])),
    responses((status = 200, body = UserView, description = "The account, disabled since `disabled_at` (disabling it again changes nothing). It can no longer sign in: the password grant answers 400 `invalid_grant` with `code` `account_disabled`, and only to the right password. Its refresh tokens are revoked; access tokens already issued work until they expire (`expires_in`, at most 15 minutes)"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff, or is staff and the account is not a customer's (staff learn nothing of other staff or the owners)"),
              (status = 404, description = "No such store or user"),
              (status = 409, description = "`cannot_disable_self`: the account is the caller's own; `last_owner`: it is the store's last owner")))]
pub async fn disable_user(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, user)): Path<(String, String)>,
) -> Result<axum::Json<UserView>, ServiceError> {
    set_disabled(&state, &scope, user, true).await
}

/// Enable a disabled account of this store again.
#[utoipa::path(post, path = "/v1/stores/{store}/users/{user}/enable", tag = "stores",
    params(("store" = String, Path, description = "store slug"), ("user" = String, Path, description = "user id")),
    security(("bearer" = [])),
    responses((status = 200, body = UserView, description = "The account, enabled (`disabled_at` null; enabling an enabled account changes nothing); it can sign in again"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff, or is staff and the account is not a customer's (staff learn nothing of other staff or the owners)"),
              (status = 404, description = "No such store or user"),
              (status = 409, description = "`cannot_disable_self`: the account is the caller's own")))]
pub async fn enable_user(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, user)): Path<(String, String)>,
) -> Result<axum::Json<UserView>, ServiceError> {
    set_disabled(&state, &scope, user, false).await
}

/// Asks identity to set the account's state on behalf of the caller.
async fn set_disabled(
    state: &GatewayState,
    scope: &StoreScope<Staff>,
    user_id: String,
    disabled: bool,
) -> Result<axum::Json<UserView>, ServiceError> {
    let request = SetUserDisabledRequest {
        store_id: scope.store.id.clone(),
        user_id,
        disabled,
        actor_user_id: scope.caller.sub.clone(),
        actor_role: scope.caller.role.to_proto(),
    };
    let user = state.identity().set_user_disabled(request).await?;
    Ok(axum::Json(user.into()))
}
