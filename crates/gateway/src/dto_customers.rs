//! REST shapes of customers: sign-up, the profile, the address book and the staff's list,
//! with their conversions from the identity contract.

use crate::dto_addresses::{AddressBody, AddressView, country_schema};
use mercato_proto::identity::{Customer, CustomerAddress, UpdateCustomerAddressRequest};
use mercato_runtime::time::to_rfc3339;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A customer's sign-up: credentials, and optionally names and marketing consent.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"email": "ann@example.com", "password": "another long password",
    "first_name": "Ann", "last_name": "Lee", "marketing_consent": true})))]
pub struct SignUpBody {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// 8–128 characters.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    #[schema(max_length = 80)]
    pub first_name: Option<String>,
    #[schema(max_length = 80)]
    pub last_name: Option<String>,
    /// Whether the customer agrees to marketing e-mail; false when absent.
    pub marketing_consent: Option<bool>,
}

/// Profile fields to change; those absent (or null) stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"first_name": "Ann", "phone": "+49 30 1234567", "marketing_consent": false})))]
pub struct ProfilePatchBody {
    #[schema(max_length = 80)]
    pub first_name: Option<String>,
    #[schema(max_length = 80)]
    pub last_name: Option<String>,
    /// Digits, spaces, `-`, parentheses and a leading `+`, 4–15 digits; `""` removes it.
    #[schema(max_length = 32)]
    pub phone: Option<String>,
    /// Giving or withdrawing consent records when (`marketing_consent_changed_at`).
    pub marketing_consent: Option<bool>,
}

/// A new address of the caller's book. The first address becomes the default for shipping
/// and billing whatever the flags say.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"address": {"name": "Ann Lee", "line1": "1 Infinite Loop",
    "city": "Cupertino", "region": "CA", "postal_code": "95014", "country": "US"},
    "default_shipping": true})))]
pub struct NewAddressBody {
    pub address: AddressBody,
    /// Make it the default shipping address.
    pub default_shipping: Option<bool>,
    /// Make it the default billing address.
    pub default_billing: Option<bool>,
}

/// Address fields to change; those absent stay, `""` clears an optional one. The address they
/// make is validated whole, as a new one is.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct AddressFieldsPatch {
    pub name: Option<String>,
    pub company: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    #[schema(schema_with = country_schema)]
    pub country: Option<String>,
    pub phone: Option<String>,
}

/// A change of one address and of the defaults it is.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"address": {"postal_code": "95014-2083"}, "default_billing": true})))]
pub struct AddressPatchBody {
    pub address: Option<AddressFieldsPatch>,
    /// `true` makes it the default shipping address; `false` stops it being that default.
    pub default_shipping: Option<bool>,
    /// `true` makes it the default billing address; `false` stops it being that default.
    pub default_billing: Option<bool>,
}

impl AddressPatchBody {
    /// The contract's request for the address `address_id` of `customer_id`.
    pub fn into_request(
        self,
        store_id: String,
        customer_id: String,
        address_id: String,
    ) -> UpdateCustomerAddressRequest {
        let a = self.address.unwrap_or_default();
        UpdateCustomerAddressRequest {
            store_id,
            customer_id,
            address_id,
            name: a.name,
            company: a.company,
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country: a.country,
            phone: a.phone,
            default_shipping: self.default_shipping,
            default_billing: self.default_billing,
        }
    }
}

/// One address of a customer's book.
#[derive(Serialize, ToSchema)]
pub struct CustomerAddressView {
    pub id: String,
    pub address: AddressView,
    pub default_shipping: bool,
    pub default_billing: bool,
    pub created_at: String,
}

impl From<CustomerAddress> for CustomerAddressView {
    fn from(a: CustomerAddress) -> Self {
        CustomerAddressView {
            id: a.id,
            address: a.address.unwrap_or_default().into(),
            default_shipping: a.default_shipping,
            default_billing: a.default_billing,
            created_at: to_rfc3339(a.created_at_ms),
        }
    }
}

/// The caller's address book.
#[derive(Serialize, ToSchema)]
pub struct AddressBookView {
    pub addresses: Vec<CustomerAddressView>,
}

/// A customer: profile, order figures and (except in lists) address book.
#[derive(Serialize, ToSchema)]
pub struct CustomerView {
    pub id: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub marketing_consent: bool,
    /// When consent was last given or withdrawn; null if never.
    pub marketing_consent_changed_at: Option<String>,
    /// Confirmed orders (later cancelled or refunded ones included). Learnt from the orders
    /// service's events, so a checkout shows here within moments, not at once.
    pub order_count: i64,
    /// Confirmed orders' totals minus refunds, in minor units of `currency`.
    pub total_spent_minor: i64,
    /// The store's currency.
    pub currency: String,
    /// Absent in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addresses: Option<Vec<CustomerAddressView>>,
    pub created_at: String,
    /// When the account was disabled; null while it is enabled.
    pub disabled_at: Option<String>,
}

impl CustomerView {
    /// The view of `c` in a store of `currency`, with its addresses when `with_addresses`.
    pub fn new(c: Customer, currency: &str, with_addresses: bool) -> Self {
        let given = |s: String| (!s.is_empty()).then_some(s);
        CustomerView {
            id: c.id,
            email: c.email,
            first_name: given(c.first_name),
            last_name: given(c.last_name),
            phone: given(c.phone),
            marketing_consent: c.marketing_consent,
            marketing_consent_changed_at: (c.marketing_consent_changed_at_ms != 0)
                .then(|| to_rfc3339(c.marketing_consent_changed_at_ms)),
            order_count: c.order_count,
            total_spent_minor: c.total_spent_minor,
            currency: currency.to_owned(),
            addresses: with_addresses.then(|| c.addresses.into_iter().map(Into::into).collect()),
            created_at: to_rfc3339(c.created_at_ms),
            disabled_at: (c.disabled_at_ms != 0).then(|| to_rfc3339(c.disabled_at_ms)),
        }
    }
}

/// A page of customers, newest first.
#[derive(Serialize, ToSchema)]
pub struct CustomerPageView {
    pub customers: Vec<CustomerView>,
    /// Pass as `after` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CustomersQuery {
    /// Part of an email or of a name, any case; absent lists every customer.
    pub q: Option<String>,
    /// Customers per page, 1–100; 20 when absent.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (empty: the first page).
    #[param(pattern = r"^([0-9]{1,15}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$")]
    pub after: Option<String>,
}
