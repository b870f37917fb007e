//! The customers' storage: profiles on the users' rows, address books, and the order figures
//! learnt from the orders service's events; behind [`CustomerStore`], which
//! [`super::sql::SqlIdentityStore`] implements in `customers_sql`.
//!
//! Only accounts with the customer role are customers here: an owner's or staff member's id is
//! "no such customer", as an unknown one is.

use super::{StoreError, UserRecord};
use async_trait::async_trait;
use mercato_proto::common;
use mercato_runtime::ids::{StoreId, UserId};

/// A customer's profile as stored; the service validates it before writing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileRecord {
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub marketing_consent: bool,
    /// When consent was last given or withdrawn (epoch milliseconds).
    pub marketing_consent_at: Option<i64>,
}

/// A customer account: who, its profile, its default addresses and what it has bought.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerRecord {
    pub id: UserId,
    pub store_id: StoreId,
    pub email: String,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
    pub profile: ProfileRecord,
    /// Bumped by every profile write; a write naming an older one is refused.
    pub profile_version: i64,
    pub default_shipping_address_id: Option<String>,
    pub default_billing_address_id: Option<String>,
    /// Confirmed orders, as learnt from events.
    pub order_count: i64,
    /// Their totals minus refunds, in minor units.
    pub total_spent_minor: i64,
}

/// One address of a customer's book, as validated by `mercato_runtime::address` (optional
/// fields not given are empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressRecord {
    pub id: String,
    pub customer_id: UserId,
    pub address: common::Address,
    /// Bumped by every change; a write naming an older one is refused.
    pub version: i64,
    pub created_at: i64,
}

/// How a write changes one of the customer's default addresses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DefaultChange {
    /// Leave it as it is.
    #[default]
    Keep,
    /// Make this address the default.
    Set,
    /// Stop this address being the default, if it is.
    Unset,
}

/// The defaults an address write changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Defaults {
    pub shipping: DefaultChange,
    pub billing: DefaultChange,
}

/// Where a page of customers starts: after this `(created_at, id)`, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerCursor {
    pub created_at: i64,
    pub id: String,
}

/// One order's figures for its customer, from an orders event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderFigures {
    pub order_id: String,
    pub customer_id: String,
    pub total_minor: i64,
    pub refunded_minor: i64,
    /// The order's version; figures of an older version than the stored one are ignored.
    pub version: i64,
}

/// An order's figures and the event that carried them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarriedFigures {
    pub store_id: StoreId,
    pub event_id: String,
    pub figures: OrderFigures,
}

/// The customers' storage. Every method takes the store id first; a customer id of another
/// store, or of an account that is not a customer, finds nothing.
#[async_trait]
pub trait CustomerStore: Send + Sync + 'static {
    /// Adds a customer account with its profile in one transaction; the refusals of
    /// [`super::IdentityStore::create_user`].
    async fn create_customer(
        &self,
        store_id: StoreId,
        user: &UserRecord,
        profile: &ProfileRecord,
    ) -> Result<(), StoreError>;

    async fn customer(&self, store_id: StoreId, id: UserId) -> Result<Option<CustomerRecord>, StoreError>;

    /// Up to `limit` customers newest first, after `after`, whose email or lower-cased name
    /// contains `query` (already lower case) when given.
    async fn customers(
        &self,
        store_id: StoreId,
        query: Option<&str>,
        after: Option<&CustomerCursor>,
        limit: u32,
    ) -> Result<Vec<CustomerRecord>, StoreError>;

    /// Writes the profile if it is still at `expected_version`; `ChangedConcurrently` if it
    /// moved on, `None` when there is no such customer.
    async fn set_profile(
        &self,
        store_id: StoreId,
        id: UserId,
        expected_version: i64,
        profile: &ProfileRecord,
    ) -> Result<Option<()>, StoreError>;

    /// The customer's addresses, oldest first.
    async fn addresses(&self, store_id: StoreId, customer: UserId) -> Result<Vec<AddressRecord>, StoreError>;

    /// Adds an address and applies `defaults`; an address added to a book with no default
    /// becomes that default. `AddressBookFull` when the book holds `max` already, `None` when
    /// there is no such customer.
    async fn add_address(
        &self,
        store_id: StoreId,
        address: &AddressRecord,
        defaults: Defaults,
        max: i64,
    ) -> Result<Option<()>, StoreError>;

    /// Replaces the address if it is still at `expected_version` (storing `address.version`),
    /// and applies `defaults`; `ChangedConcurrently` if it moved on, `None` when the customer
    /// has no such address.
    async fn replace_address(
        &self,
        store_id: StoreId,
        address: &AddressRecord,
        expected_version: i64,
        defaults: Defaults,
    ) -> Result<Option<()>, StoreError>;

    /// Deletes the address and the defaults naming it; whether it existed.
    async fn delete_address(
        &self,
        store_id: StoreId,
        customer: UserId,
        address_id: &str,
    ) -> Result<bool, StoreError>;

    /// Records orders' figures with the events that carried them, in one transaction: each
    /// once per `(consumer, event_id)`, keeping the newest version per order; how many were
    /// applied.
    async fn record_orders(&self, consumer: &str, batch: Vec<CarriedFigures>) -> Result<usize, StoreError>;
}
