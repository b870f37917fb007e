//! The REST shape of a postal address, the same in every resource that takes or shows one
//! (a customer's address book, a cart's shipping address, an order's). The services validate it
//! (`mercato_runtime::address`); here it is only carried to and from the contract's `Address`.

use mercato_proto::common;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A postal address in a request. Text is trimmed and may not hold control characters; the
/// region and postal code follow the country's rules (see the fields); a bad field is a 422
/// naming it (`shipping_address.postal_code`).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"name": "Anna Schmidt", "line1": "Invalidenstraße 117", "city": "Berlin",
    "postal_code": "10115", "country": "DE", "phone": "+49 30 1234567"})))]
pub struct AddressBody {
    /// The recipient; 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[schema(max_length = 100)]
    pub company: Option<String>,
    /// 1–120 characters.
    #[schema(min_length = 1, max_length = 120)]
    pub line1: String,
    #[schema(max_length = 120)]
    pub line2: Option<String>,
    /// 1–120 characters.
    #[schema(min_length = 1, max_length = 120)]
    pub city: String,
    /// State, province or prefecture: required as its code in the US (`CA`), Canada (`ON`) and
    /// Australia (`NSW`), required in Japan, optional elsewhere.
    #[schema(max_length = 60)]
    pub region: Option<String>,
    /// Required in US, CA, GB, DE, FR, NL, AU and JP in the country's shape (`94105`,
    /// `K1A 0B1`, `SW1A 1AA`, `10115`, `1012 AB`, `2000`, `100-0001`; stored in that canonical
    /// form); optional in Ireland (an Eircode) and elsewhere.
    #[schema(max_length = 16)]
    pub postal_code: Option<String>,
    #[schema(schema_with = country_schema)]
    pub country: String,
    /// Digits, spaces, `-`, parentheses and a leading `+`; 4–15 digits.
    #[schema(max_length = 32)]
    pub phone: Option<String>,
}

impl From<AddressBody> for common::Address {
    fn from(b: AddressBody) -> Self {
        common::Address {
            name: b.name,
            company: b.company.unwrap_or_default(),
            line1: b.line1,
            line2: b.line2.unwrap_or_default(),
            city: b.city,
            region: b.region.unwrap_or_default(),
            postal_code: b.postal_code.unwrap_or_default(),
            country: b.country,
            phone: b.phone.unwrap_or_default(),
        }
    }
}

/// A postal address in a response, as validated and stored: optional fields not given are
/// `null`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AddressView {
    pub name: String,
    pub company: Option<String>,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub phone: Option<String>,
}

impl From<common::Address> for AddressView {
    fn from(a: common::Address) -> Self {
        let given = |s: String| (!s.is_empty()).then_some(s);
        AddressView {
            name: a.name,
            company: given(a.company),
            line1: a.line1,
            line2: given(a.line2),
            city: a.city,
            region: given(a.region),
            postal_code: given(a.postal_code),
            country: a.country,
            phone: given(a.phone),
        }
    }
}

/// An assigned ISO 3166-1 alpha-2 code (any case in requests, upper case in responses).
pub fn country_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .description(Some("An ISO 3166-1 alpha-2 country code, such as `DE`."))
        .pattern(Some("^[A-Za-z]{2}$"))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_crosses_the_contract_with_blank_optionals_as_null() {
        let body: AddressBody = serde_json::from_value(serde_json::json!({"name": "Ann",
            "line1": "1 Main St", "city": "Springfield", "region": "IL", "postal_code": "62701",
            "country": "US"}))
        .unwrap();
        let wire = common::Address::from(body);
        assert_eq!(wire.company, "");
        let view = serde_json::to_value(AddressView::from(wire)).unwrap();
        assert_eq!(view["company"], serde_json::Value::Null);
        assert_eq!(view["postal_code"], "62701");
        let unknown = serde_json::json!({"name": "Ann", "line1": "x", "city": "y", "country": "US",
            "zip": "62701"});
        assert!(serde_json::from_value::<AddressBody>(unknown).is_err());
    }
}
