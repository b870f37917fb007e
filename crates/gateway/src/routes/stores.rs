//! Stores: provisioning, the public store record, customer registration and staff accounts.

use crate::access::{Owner, Public, StoreScope};
use crate::dto::{
    ApiClientView, CredentialsBody, ProvisionStoreBody, ProvisionedStoreView, StoreView, UpdateStoreBody,
    UserView,
};
use crate::dto_customers::SignUpBody;
use crate::extract::ApiJson;
use crate::state::GatewayState;
use axum::extract::State;
use axum::http::StatusCode;
use mercato_proto::identity::{
    CreateStaffRequest, ProvisionStoreRequest, RegisterCustomerRequest, UpdateStoreRequest,
};
use mercato_runtime::error::ServiceError;

/// Provision a store: the store, its owner account and one API client.
#[utoipa::path(post, path = "/v1/stores", tag = "stores", request_body = ProvisionStoreBody,
    responses((status = 201, body = ProvisionedStoreView, description = "The store, its owner and an API client whose secret is shown only here"),
              (status = 409, description = "`slug_taken`: another store has the slug (the problem's `errors` name `slug`)"),
              (status = 422, description = "A field is invalid; `errors` names each one"),
              (status = 429, description = "This client address provisioned more stores per second than `http.sign_ups_per_second`, or exceeded its general allowance; retry after `Retry-After` seconds",
               headers(("Retry-After" = u64, description = "Seconds to wait")))))]
pub async fn provision_store(
    State(state): State<GatewayState>,
    ApiJson(body): ApiJson<ProvisionStoreBody>,
) -> Result<(StatusCode, axum::Json<ProvisionedStoreView>), ServiceError> {
    let created = state
        .identity()
        .provision_store(ProvisionStoreRequest {
            slug: body.slug,
            name: body.name,
            currency: body.currency,
            owner_email: body.owner.email,
            time_zone: body.time_zone.unwrap_or_default(),
            owner_password: body.owner.password,
        })
        .await
        .map_err(rest_field_names)?;
    let (Some(store), Some(owner), Some(client)) = (created.store, created.owner, created.api_client) else {
        return Err(ServiceError::internal("identity returned an incomplete store"));
    };
    let view = ProvisionedStoreView {
        store: store.into(),
        owner: owner.into(),
        api_client: ApiClientView {
            client_id: client.client_id,
            client_secret: client.client_secret,
            role: mercato_proto::names::role_value(client.role).to_owned(),
        },
    };
    Ok((StatusCode::CREATED, axum::Json(view)))
}

/// The public record of one store.
#[utoipa::path(get, path = "/v1/stores/{store}", tag = "stores",
    params(("store" = String, Path, description = "store slug")),
    responses((status = 200, body = StoreView, description = "The store"),
              (status = 404, description = "No store has this slug")))]
pub async fn get_store(scope: StoreScope<Public>) -> axum::Json<StoreView> {
    axum::Json(scope.store.into())
}

/// Rename a store or change its time zone (owner only).
#[utoipa::path(patch, path = "/v1/stores/{store}", tag = "stores", request_body = UpdateStoreBody,
    params(("store" = String, Path, description = "store slug")),
    security(("bearer" = [])),
    responses((status = 200, body = StoreView, description = "The changed store"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No store has this slug"),
              (status = 422, description = "A field is invalid (an unknown time zone names `time_zone`); `errors` names each one")))]
pub async fn update_store(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
    ApiJson(body): ApiJson<UpdateStoreBody>,
) -> Result<axum::Json<StoreView>, ServiceError> {
    let store = state
        .identity()
        .update_store(UpdateStoreRequest {
            store_id: scope.store.id,
            name: body.name,
            time_zone: body.time_zone,
        })
        .await?;
    // This gateway answers with the change at once; the others drop the slug when the
    // `store_changed` event reaches them (`GatewayState::follow_catalog`).
    state.forget_store(&store.slug).await;
    Ok(axum::Json(store.into()))
}

/// Customer self-registration.
#[utoipa::path(post, path = "/v1/stores/{store}/customers", tag = "stores", request_body = SignUpBody,
    params(("store" = String, Path, description = "store slug")),
    responses((status = 201, body = UserView, description = "The new customer account"),
              (status = 404, description = "No store has this slug"),
              (status = 409, description = "`email_taken`: the email is already registered in this store (the problem's `errors` name `email`)"),
              (status = 422, description = "A field is invalid; `errors` names each one"),
              (status = 429, description = "This client address signed up more customers per second than `http.sign_ups_per_second`, or exceeded its general allowance; retry after `Retry-After` seconds",
               headers(("Retry-After" = u64, description = "Seconds to wait")))))]
pub async fn register_customer(
    State(state): State<GatewayState>,
    scope: StoreScope<Public>,
    ApiJson(body): ApiJson<SignUpBody>,
) -> Result<(StatusCode, axum::Json<UserView>), ServiceError> {
    let user = state
        .identity()
        .register_customer(RegisterCustomerRequest {
            store_id: scope.store.id,
            email: body.email,
            password: body.password,
            first_name: body.first_name.unwrap_or_default(),
            last_name: body.last_name.unwrap_or_default(),
            marketing_consent: body.marketing_consent.unwrap_or(false),
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(user.into())))
}

/// Create a staff account (owner only).
#[utoipa::path(post, path = "/v1/stores/{store}/staff", tag = "stores", request_body = CredentialsBody,
    params(("store" = String, Path, description = "store slug")),
    security(("bearer" = [])),
    responses((status = 201, body = UserView, description = "The new staff account"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No store has this slug"),
              (status = 409, description = "`email_taken`: the email is already registered in this store (the problem's `errors` name `email`)"),
              (status = 422, description = "A field is invalid; `errors` names each one")))]
pub async fn create_staff(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
    ApiJson(body): ApiJson<CredentialsBody>,
) -> Result<(StatusCode, axum::Json<UserView>), ServiceError> {
    let user = state
        .identity()
        .create_staff(CreateStaffRequest {
            store_id: scope.store.id,
            email: body.email,
            password: body.password,
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(user.into())))
}

/// Names fields as the REST body does (`owner.email`), not as the contract does (`owner_email`).
fn rest_field_names(mut e: ServiceError) -> ServiceError {
    for f in &mut e.fields {
        if let Some(rest) = f.field.strip_prefix("owner_") {
            f.field = format!("owner.{rest}");
        }
    }
    e.message = e
        .message
        .replace("owner_email", "owner.email")
        .replace("owner_password", "owner.password");
    e
}
