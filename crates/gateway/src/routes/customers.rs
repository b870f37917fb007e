//! Customers: a signed-in customer's own profile and address book (`/customers/me…`), and the
//! store's customers as its owner and staff see them (list, search, one customer with their
//! order count and total spent). A customer asking for another customer gets 404, as for one
//! that does not exist.

use crate::access::{Customer, Member, Staff, StoreScope};
use crate::dto_customers::{
    AddressBookView, AddressPatchBody, CustomerAddressView, CustomerPageView, CustomerView, CustomersQuery,
    NewAddressBody, ProfilePatchBody,
};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::GatewayState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use mercato_proto::identity::{
    AddCustomerAddressRequest, DeleteCustomerAddressRequest, GetCustomerRequest, ListCustomersRequest,
    UpdateCustomerRequest,
};
use mercato_runtime::auth::Role;
use mercato_runtime::error::ServiceError;

/// The caller's own customer record, with its address book.
async fn own(
    state: &GatewayState,
    scope: &StoreScope<Customer>,
) -> Result<mercato_proto::identity::Customer, ServiceError> {
    let request = GetCustomerRequest {
        store_id: scope.store.id.clone(),
        customer_id: scope.caller.sub.clone(),
    };
    state.identity().get_customer(request).await
}

/// Your customer profile.
#[utoipa::path(get, path = "/v1/stores/{store}/customers/me", tag = "customers",
    params(("store" = String, Path, description = "store slug")),
    security(("bearer" = [])),
    responses((status = 200, body = CustomerView, description = "Your profile, address book and order figures"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not a customer (staff and owners have no customer profile)"),
              (status = 404, description = "No store has this slug")))]
pub async fn get_me(
    State(state): State<GatewayState>,
    scope: StoreScope<Customer>,
) -> Result<Json<CustomerView>, ServiceError> {
    let me = own(&state, &scope).await?;
    Ok(Json(CustomerView::new(me, &scope.store.currency, true)))
}

/// Change your name, phone or marketing consent.
#[utoipa::path(patch, path = "/v1/stores/{store}/customers/me", tag = "customers", request_body = ProfilePatchBody,
    params(("store" = String, Path, description = "store slug")),
    security(("bearer" = [])),
    responses((status = 200, body = CustomerView, description = "Your profile as changed"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not a customer"),
              (status = 404, description = "No store has this slug"),
              (status = 409, description = "`changed_concurrently`: another change of your profile came in between; retry"),
              (status = 422, description = "A field is invalid (`errors` names each one); nothing was changed")))]
pub async fn update_me(
    State(state): State<GatewayState>,
    scope: StoreScope<Customer>,
    ApiJson(body): ApiJson<ProfilePatchBody>,
) -> Result<Json<CustomerView>, ServiceError> {
    let request = UpdateCustomerRequest {
        store_id: scope.store.id.clone(),
        customer_id: scope.caller.sub.clone(),
        first_name: body.first_name,
        last_name: body.last_name,
        phone: body.phone,
        marketing_consent: body.marketing_consent,
    };
    let me = state.identity().update_customer(request).await?;
    Ok(Json(CustomerView::new(me, &scope.store.currency, true)))
}

/// Your address book.
#[utoipa::path(get, path = "/v1/stores/{store}/customers/me/addresses", tag = "customers",
    params(("store" = String, Path, description = "store slug")),
    security(("bearer" = [])),
    responses((status = 200, body = AddressBookView, description = "Your addresses, oldest first, with which are the defaults"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not a customer"),
              (status = 404, description = "No store has this slug")))]
pub async fn list_my_addresses(
    State(state): State<GatewayState>,
    scope: StoreScope<Customer>,
) -> Result<Json<AddressBookView>, ServiceError> {
    let me = own(&state, &scope).await?;
    Ok(Json(AddressBookView {
        addresses: me.addresses.into_iter().map(Into::into).collect(),
    }))
}

/// Add an address to your book.
#[utoipa::path(post, path = "/v1/stores/{store}/customers/me/addresses", tag = "customers", request_body = NewAddressBody,
    params(("store" = String, Path, description = "store slug")),
    security(("bearer" = [])),
    responses((status = 201, body = CustomerAddressView, description = "The address as stored (trimmed, the postal code in its country's form); your first becomes the default for shipping and billing"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not a customer"),
              (status = 404, description = "No store has this slug"),
              (status = 409, description = "`conflict`: the book holds 50 addresses already"),
              (status = 422, description = "A field is invalid, such as a postal code of another shape than its country's (`errors` names each, as `address.postal_code`); nothing was stored")))]
pub async fn add_my_address(
    State(state): State<GatewayState>,
    scope: StoreScope<Customer>,
    ApiJson(body): ApiJson<NewAddressBody>,
) -> Result<(StatusCode, Json<CustomerAddressView>), ServiceError> {
    let request = AddCustomerAddressRequest {
        store_id: scope.store.id.clone(),
        customer_id: scope.caller.sub.clone(),
        address: Some(body.address.into()),
        default_shipping: body.default_shipping.unwrap_or(false),
        default_billing: body.default_billing.unwrap_or(false),
    };
    let added = state.identity().add_customer_address(request).await?;
    Ok((StatusCode::CREATED, Json(added.into())))
}

/// One address of your book.
#[utoipa::path(get, path = "/v1/stores/{store}/customers/me/addresses/{address}", tag = "customers",
    params(("store" = String, Path, description = "store slug"), ("address" = String, Path, description = "address id")),
    security(("bearer" = [])),
    responses((status = 200, body = CustomerAddressView, description = "The address"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not a customer"),
              (status = 404, description = "No such store, or no such address in your book")))]
pub async fn get_my_address(
    State(state): State<GatewayState>,
    scope: StoreScope<Customer>,
    Path((_store, address)): Path<(String, String)>,
) -> Result<Json<CustomerAddressView>, ServiceError> {
    let me = own(&state, &scope).await?;
    let found = me.addresses.into_iter().find(|a| a.id == address);
    found
        .map(|a| Json(a.into()))
        .ok_or_else(|| ServiceError::not_found("address"))
}

/// Change an address of your book, or make it a default.
#[utoipa::path(patch, path = "/v1/stores/{store}/customers/me/addresses/{address}", tag = "customers", request_body = AddressPatchBody,
    params(("store" = String, Path, description = "store slug"), ("address" = String, Path, description = "address id")),
    security(("bearer" = [])),
    responses((status = 200, body = CustomerAddressView, description = "The address as changed"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not a customer"),
              (status = 404, description = "No such store, or no such address in your book"),
              (status = 409, description = "`changed_concurrently`: another change of the address came in between; retry"),
              (status = 422, description = "The changed address is invalid (`errors` names each field, as `address.postal_code`); nothing was changed")))]
pub async fn update_my_address(
    State(state): State<GatewayState>,
    scope: StoreScope<Customer>,
    Path((_store, address)): Path<(String, String)>,
    ApiJson(body): ApiJson<AddressPatchBody>,
) -> Result<Json<CustomerAddressView>, ServiceError> {
    let request = body.into_request(scope.store.id.clone(), scope.caller.sub.clone(), address);
    let changed = state.identity().update_customer_address(request).await?;
    Ok(Json(changed.into()))
}

/// Delete an address of your book (and the defaults it was).
#[utoipa::path(delete, path = "/v1/stores/{store}/customers/me/addresses/{address}", tag = "customers",
    params(("store" = String, Path, description = "store slug"), ("address" = String, Path, description = "address id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not a customer"),
              (status = 404, description = "No such store, or no such address in your book")))]
pub async fn delete_my_address(
    State(state): State<GatewayState>,
    scope: StoreScope<Customer>,
    Path((_store, address)): Path<(String, String)>,
) -> Result<StatusCode, ServiceError> {
    let request = DeleteCustomerAddressRequest {
        store_id: scope.store.id.clone(),
        customer_id: scope.caller.sub.clone(),
        address_id: address,
    };
    state.identity().delete_customer_address(request).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The store's customers (owner and staff), newest first; search by email or name.
#[utoipa::path(get, path = "/v1/stores/{store}/customers", tag = "customers",
    params(("store" = String, Path, description = "store slug"), CustomersQuery),
    security(("bearer" = [])),
    responses((status = 200, body = CustomerPageView, description = "A page of customers with their order count and total spent (without addresses); pages do not shift while customers sign up"),
              (status = 400, description = "An unknown query parameter or a limit that is not a number"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No store has this slug"),
              (status = 422, description = "`limit` is not 1–100, `after` is not a cursor this list gave, or `q` is longer than 254 characters")))]
pub async fn list_customers(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    ApiQuery(query): ApiQuery<CustomersQuery>,
) -> Result<Json<CustomerPageView>, ServiceError> {
    let request = ListCustomersRequest {
        store_id: scope.store.id.clone(),
        query: query.q.unwrap_or_default(),
        limit: match query.limit {
            Some(0) => return Err(ServiceError::invalid_field("limit", "must be 1-100")),
            Some(n) => n,
            None => 0,
        },
        after: query.after.unwrap_or_default(),
    };
    let page = state.identity().list_customers(request).await?;
    let currency = &scope.store.currency;
    Ok(Json(CustomerPageView {
        customers: page
            .customers
            .into_iter()
            .map(|c| CustomerView::new(c, currency, false))
            .collect(),
        next_cursor: (!page.next_cursor.is_empty()).then_some(page.next_cursor),
    }))
}

/// One customer with their address book and order figures: owner and staff see any of the
/// store's, a customer only themself.
#[utoipa::path(get, path = "/v1/stores/{store}/customers/{customer}", tag = "customers",
    params(("store" = String, Path, description = "store slug"), ("customer" = String, Path, description = "customer (user) id")),
    security(("bearer" = [])),
    responses((status = 200, body = CustomerView, description = "The customer"),
              (status = 401, description = "No valid bearer token"),
              (status = 404, description = "No such store or customer; also what a customer asking for anyone but themself gets, so that customers learn nothing of each other")))]
pub async fn get_customer(
    State(state): State<GatewayState>,
    scope: StoreScope<Member>,
    Path((_store, customer)): Path<(String, String)>,
) -> Result<Json<CustomerView>, ServiceError> {
    if scope.caller.role == Role::Customer && scope.caller.sub != customer {
        return Err(ServiceError::not_found("customer"));
    }
    let request = GetCustomerRequest {
        store_id: scope.store.id.clone(),
        customer_id: customer,
    };
    let found = state.identity().get_customer(request).await?;
    Ok(Json(CustomerView::new(found, &scope.store.currency, true)))
}
