//! Customers: their profiles, address books and order figures, read and changed on behalf of
//! the caller the gateway admitted (the customer themself, or the store's staff).
//!
//! Only accounts with the customer role are customers: any other id, or an id of another
//! store, is "customer not found", so nobody learns whether it exists.

use crate::IdentityService;
use crate::domain::profile::ProfileChange;
use crate::store::customers::{AddressRecord, CustomerCursor, CustomerRecord, DefaultChange, Defaults};
use mercato_proto::common;
use mercato_proto::identity::{
    AddCustomerAddressRequest, Customer, CustomerAddress, DeleteCustomerAddressRequest, GetCustomerRequest,
    ListCustomersRequest, ListCustomersResponse, UpdateCustomerAddressRequest, UpdateCustomerRequest,
};
use mercato_runtime::address::Address;
use mercato_runtime::error::{FieldError, ServiceError};
use mercato_runtime::ids::{StoreId, UserId};
use mercato_runtime::time::now_ms;

/// The most addresses one customer's book holds.
pub const MAX_ADDRESSES: i64 = 50;
/// Customers per page unless the request asks for another number.
const DEFAULT_PAGE: u32 = 20;
/// The most customers per page.
const MAX_PAGE: u32 = 100;
/// The longest search query, in characters.
const MAX_QUERY_CHARS: usize = 254;

/// The store and customer a request names; an id that is not a UUID names no customer.
fn ids(store_id: &str, customer_id: &str) -> Result<(StoreId, UserId), ServiceError> {
    let store = StoreId::parse("store_id", store_id)?;
    let customer = UserId::parse("customer_id", customer_id).map_err(|_| not_found())?;
    Ok((store, customer))
}

fn not_found() -> ServiceError {
    ServiceError::not_found("customer")
}

fn address_not_found() -> ServiceError {
    ServiceError::not_found("address")
}

/// A request's `Option<bool>` as a change of a default.
fn default_change(flag: Option<bool>) -> DefaultChange {
    match flag {
        None => DefaultChange::Keep,
        Some(true) => DefaultChange::Set,
        Some(false) => DefaultChange::Unset,
    }
}

/// The wire form of a customer, with `addresses` (empty in lists).
pub(crate) fn customer_message(c: &CustomerRecord, addresses: &[AddressRecord]) -> Customer {
    Customer {
        id: c.id.to_string(),
        store_id: c.store_id.to_string(),
        email: c.email.clone(),
        first_name: c.profile.first_name.clone(),
        last_name: c.profile.last_name.clone(),
        phone: c.profile.phone.clone().unwrap_or_default(),
        marketing_consent: c.profile.marketing_consent,
        marketing_consent_changed_at_ms: c.profile.marketing_consent_at.unwrap_or(0),
        addresses: addresses.iter().map(|a| address_message(c, a)).collect(),
        order_count: c.order_count,
        total_spent_minor: c.total_spent_minor,
        created_at_ms: c.created_at,
        disabled_at_ms: c.disabled_at.unwrap_or(0),
    }
}

fn address_message(c: &CustomerRecord, a: &AddressRecord) -> CustomerAddress {
    let is = |default: &Option<String>| default.as_deref() == Some(a.id.as_str());
    CustomerAddress {
        id: a.id.clone(),
        address: Some(a.address.clone()),
        default_shipping: is(&c.default_shipping_address_id),
        default_billing: is(&c.default_billing_address_id),
        created_at_ms: a.created_at,
    }
}

/// `created_at.id`, the position of a page's last customer.
fn encode_cursor(c: &CustomerRecord) -> String {
    format!("{}.{}", c.created_at, c.id)
}

fn decode_cursor(s: &str) -> Result<Option<CustomerCursor>, ServiceError> {
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || ServiceError::invalid_field("after", "must be the next_cursor of a previous page");
    let (at, id) = s.split_once('.').ok_or_else(bad)?;
    let created_at = at.parse().map_err(|_| bad())?;
    let id = UserId::parse("after", id).map_err(|_| bad())?;
    Ok(Some(CustomerCursor {
        created_at,
        id: id.to_string(),
    }))
}

/// `existing` with the fields `req` gives replaced.
fn merged(existing: &common::Address, req: &UpdateCustomerAddressRequest) -> common::Address {
    let pick = |given: &Option<String>, old: &String| given.clone().unwrap_or_else(|| old.clone());
    common::Address {
        name: pick(&req.name, &existing.name),
        company: pick(&req.company, &existing.company),
        line1: pick(&req.line1, &existing.line1),
        line2: pick(&req.line2, &existing.line2),
        city: pick(&req.city, &existing.city),
        region: pick(&req.region, &existing.region),
        postal_code: pick(&req.postal_code, &existing.postal_code),
        country: pick(&req.country, &existing.country),
        phone: pick(&req.phone, &existing.phone),
    }
}

impl IdentityService {
    async fn customer_record(&self, store: StoreId, id: UserId) -> Result<CustomerRecord, ServiceError> {
        self.customers.customer(store, id).await?.ok_or_else(not_found)
    }

    /// A customer with its address book.
    async fn full_customer(&self, store: StoreId, id: UserId) -> Result<Customer, ServiceError> {
        let record = self.customer_record(store, id).await?;
        let addresses = self.customers.addresses(store, id).await?;
        Ok(customer_message(&record, &addresses))
    }

    pub(crate) async fn get_customer_profile(
        &self,
        req: &GetCustomerRequest,
    ) -> Result<Customer, ServiceError> {
        let (store, id) = ids(&req.store_id, &req.customer_id)?;
        self.full_customer(store, id).await
    }

    /// Applies the profile fields given; refused whole if any is invalid.
    pub(crate) async fn update_customer_profile(
        &self,
        req: &UpdateCustomerRequest,
    ) -> Result<Customer, ServiceError> {
        let (store, id) = ids(&req.store_id, &req.customer_id)?;
        let current = self.customer_record(store, id).await?;
        let change = ProfileChange {
            first_name: req.first_name.as_deref(),
            last_name: req.last_name.as_deref(),
            phone: req.phone.as_deref(),
            marketing_consent: req.marketing_consent,
        };
        let next = change.apply(&current.profile, now_ms())?;
        self.customers
            .set_profile(store, id, current.profile_version, &next)
            .await?
            .ok_or_else(not_found)?;
        self.full_customer(store, id).await
    }

    pub(crate) async fn list_customer_page(
        &self,
        req: &ListCustomersRequest,
    ) -> Result<ListCustomersResponse, ServiceError> {
        let store = StoreId::parse("store_id", &req.store_id)?;
        let query = req.query.trim().to_lowercase();
        if query.chars().count() > MAX_QUERY_CHARS {
            return Err(
                FieldError::new("query", format!("must be at most {MAX_QUERY_CHARS} characters")).into(),
            );
        }
        let limit = match req.limit {
            0 => DEFAULT_PAGE,
            n if n <= MAX_PAGE => n,
            _ => return Err(ServiceError::invalid_field("limit", "must be 1-100")),
        };
        let after = decode_cursor(&req.after)?;
        let query = (!query.is_empty()).then_some(query.as_str());
        // One more than asked tells whether another page follows.
        let mut page = self
            .customers
            .customers(store, query, after.as_ref(), limit + 1)
            .await?;
        let more = page.len() > limit as usize;
        page.truncate(limit as usize);
        let next_cursor = match page.last() {
            Some(last) if more => encode_cursor(last),
            _ => String::new(),
        };
        Ok(ListCustomersResponse {
            customers: page.iter().map(|c| customer_message(c, &[])).collect(),
            next_cursor,
        })
    }

    pub(crate) async fn add_address(
        &self,
        req: &AddCustomerAddressRequest,
    ) -> Result<CustomerAddress, ServiceError> {
        let (store, id) = ids(&req.store_id, &req.customer_id)?;
        let address = Address::parse("address", &req.address.clone().unwrap_or_default())?;
        let record = AddressRecord {
            id: uuid::Uuid::now_v7().to_string(),
            customer_id: id,
            address: address.to_proto(),
            version: 1,
            created_at: now_ms(),
        };
        let defaults = Defaults {
            shipping: if req.default_shipping {
                DefaultChange::Set
            } else {
                DefaultChange::Keep
            },
            billing: if req.default_billing {
                DefaultChange::Set
            } else {
                DefaultChange::Keep
            },
        };
        self.customers
            .add_address(store, &record, defaults, MAX_ADDRESSES)
            .await?
            .ok_or_else(not_found)?;
        tracing::info!(store_id = %store, customer_id = %id, address_id = %record.id, "customer address added");
        self.address_as_stored(store, id, &record.id).await
    }

    /// Changes the fields given, validating the address they make; refused whole if it is
    /// invalid.
    pub(crate) async fn update_address(
        &self,
        req: &UpdateCustomerAddressRequest,
    ) -> Result<CustomerAddress, ServiceError> {
        let (store, id) = ids(&req.store_id, &req.customer_id)?;
        let existing = self.address_record(store, id, &req.address_id).await?;
        let address = Address::parse("address", &merged(&existing.address, req))?;
        let record = AddressRecord {
            address: address.to_proto(),
            version: existing.version + 1,
            ..existing.clone()
        };
        let defaults = Defaults {
            shipping: default_change(req.default_shipping),
            billing: default_change(req.default_billing),
        };
        self.customers
            .replace_address(store, &record, existing.version, defaults)
            .await?
            .ok_or_else(address_not_found)?;
        self.address_as_stored(store, id, &record.id).await
    }

    pub(crate) async fn delete_address(
        &self,
        req: &DeleteCustomerAddressRequest,
    ) -> Result<(), ServiceError> {
        let (store, id) = ids(&req.store_id, &req.customer_id)?;
        self.customer_record(store, id).await?;
        if !self.customers.delete_address(store, id, &req.address_id).await? {
            return Err(address_not_found());
        }
        Ok(())
    }

    async fn address_record(
        &self,
        store: StoreId,
        id: UserId,
        address_id: &str,
    ) -> Result<AddressRecord, ServiceError> {
        self.customer_record(store, id).await?;
        let book = self.customers.addresses(store, id).await?;
        book.into_iter()
            .find(|a| a.id == address_id)
            .ok_or_else(address_not_found)
    }

    /// An address of the customer's book with its default flags, as stored now.
    async fn address_as_stored(
        &self,
        store: StoreId,
        id: UserId,
        address_id: &str,
    ) -> Result<CustomerAddress, ServiceError> {
        let customer = self.customer_record(store, id).await?;
        let address = self.address_record(store, id, address_id).await?;
        Ok(address_message(&customer, &address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_anything_else_is_a_422_naming_after() {
        let id = UserId::new();
        let cursor = decode_cursor(&format!("42.{id}")).unwrap().unwrap();
        assert_eq!((cursor.created_at, cursor.id), (42, id.to_string()));
        assert_eq!(decode_cursor("").unwrap(), None);
        for bad in ["42", "x.y", &format!("x.{id}"), "42.not-a-uuid"] {
            let e = decode_cursor(bad).unwrap_err();
            assert_eq!(e.fields[0].field, "after", "{bad}");
        }
    }

    #[test]
    fn an_update_replaces_only_the_fields_it_gives() {
        let old = common::Address {
            name: "Ann".into(),
            line2: "Flat 2".into(),
            postal_code: "10115".into(),
            country: "DE".into(),
            ..common::Address::default()
        };
        let req = UpdateCustomerAddressRequest {
            line2: Some(String::new()),
            postal_code: Some("10117".into()),
            ..UpdateCustomerAddressRequest::default()
        };
        let new = merged(&old, &req);
        assert_eq!((new.name.as_str(), new.line2.as_str()), ("Ann", ""));
        assert_eq!((new.postal_code.as_str(), new.country.as_str()), ("10117", "DE"));
    }
}
