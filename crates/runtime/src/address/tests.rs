//! Tests of address validation: what is accepted in which form, and what is refused where.

use super::*;
use crate::error::ErrorCode;

fn german() -> common::Address {
    common::Address {
        name: "  Anna Schmidt ".into(),
        company: "".into(),
        line1: "Invalidenstraße 117".into(),
        line2: " ".into(),
        city: "Berlin".into(),
        region: "".into(),
        postal_code: "10115".into(),
        country: "de".into(),
        phone: "+49 30 1234567".into(),
    }
}

fn fields_of(e: ServiceError) -> Vec<String> {
    assert_eq!(e.code, ErrorCode::ValidationFailed);
    e.fields.into_iter().map(|f| f.field).collect()
}

#[test]
fn a_valid_address_is_trimmed_with_its_country_upper_cased_and_blanks_not_given() {
    let a = Address::parse("address", &german()).unwrap();
    assert_eq!(a.name(), "Anna Schmidt");
    assert_eq!(a.country().as_str(), "DE");
    assert_eq!(a.line2(), None);
    assert_eq!(a.company(), None);
    assert_eq!(a.phone(), Some("+49 30 1234567"));
    let wire = a.to_proto();
    assert_eq!(wire.country, "DE");
    assert_eq!(wire.line2, "");
    assert_eq!(Address::parse("address", &wire).unwrap(), a);
}

#[test]
fn every_bad_field_is_named_under_the_callers_path_at_once() {
    let raw = common::Address {
        name: "".into(),
        line1: "a\u{1b}[2J".into(),
        city: "x".repeat(MAX_LINE_CHARS + 1),
        postal_code: "1011".into(),
        phone: "call me".into(),
        ..german()
    };
    let fields = fields_of(Address::parse("shipping_address", &raw).unwrap_err());
    assert_eq!(
        fields,
        [
            "shipping_address.name",
            "shipping_address.line1",
            "shipping_address.city",
            "shipping_address.phone",
            "shipping_address.postal_code",
        ]
    );
    let top = fields_of(Address::parse("", &common::Address::default()).unwrap_err());
    assert!(top.contains(&"country".to_owned()), "{top:?}");
}

#[test]
fn an_unknown_country_is_refused_and_its_postal_code_not_judged() {
    let raw = common::Address {
        country: "Germany".into(),
        postal_code: "anything".into(),
        ..german()
    };
    assert_eq!(fields_of(Address::parse("a", &raw).unwrap_err()), ["a.country"]);
}

#[test]
fn the_us_canada_and_australia_require_a_region_code_and_japan_a_region() {
    let us = |region: &str| common::Address {
        country: "US".into(),
        region: region.into(),
        postal_code: "94105".into(),
        ..german()
    };
    assert_eq!(Address::parse("a", &us("ca")).unwrap().region(), Some("CA"));
    assert_eq!(fields_of(Address::parse("a", &us("")).unwrap_err()), ["a.region"]);
    assert_eq!(
        fields_of(Address::parse("a", &us("California")).unwrap_err()),
        ["a.region"]
    );
    let au = common::Address {
        country: "AU".into(),
        region: "nsw".into(),
        postal_code: "2000".into(),
        ..german()
    };
    assert_eq!(Address::parse("a", &au).unwrap().region(), Some("NSW"));
    let jp = common::Address {
        country: "JP".into(),
        postal_code: "1000001".into(),
        ..german()
    };
    assert_eq!(fields_of(Address::parse("a", &jp).unwrap_err()), ["a.region"]);
    let jp = common::Address {
        region: "Tokyo".into(),
        ..jp
    };
    assert_eq!(Address::parse("a", &jp).unwrap().postal_code(), Some("100-0001"));
}

#[test]
fn the_postal_code_is_required_where_the_country_has_a_shape_and_optional_elsewhere() {
    let without = |country: &str| common::Address {
        country: country.into(),
        region: "".into(),
        postal_code: "".into(),
        ..german()
    };
    for country in ["DE", "FR", "GB", "NL"] {
        let fields = fields_of(Address::parse("a", &without(country)).unwrap_err());
        assert_eq!(fields, ["a.postal_code"], "{country}");
    }
    for country in ["IE", "HK", "BR"] {
        assert_eq!(
            Address::parse("a", &without(country)).unwrap().postal_code(),
            None
        );
    }
    let gb = common::Address {
        country: "GB".into(),
        postal_code: "sw1a1aa".into(),
        ..german()
    };
    assert_eq!(Address::parse("a", &gb).unwrap().postal_code(), Some("SW1A 1AA"));
    let brazil = common::Address {
        country: "BR".into(),
        postal_code: "01310-100".into(),
        ..german()
    };
    assert_eq!(
        Address::parse("a", &brazil).unwrap().postal_code(),
        Some("01310-100")
    );
    let odd = common::Address {
        postal_code: "01310/100".into(),
        ..brazil
    };
    assert_eq!(
        fields_of(Address::parse("a", &odd).unwrap_err()),
        ["a.postal_code"]
    );
}

#[test]
fn phone_numbers_are_checked_loosely() {
    for ok in ["+1 (415) 555-0100", "030 1234567", "5550"] {
        assert_eq!(phone("phone", ok).unwrap().as_deref(), Some(ok));
    }
    assert_eq!(phone("phone", "  ").unwrap(), None);
    for bad in [
        "555",
        "+1 415 555 0100 0000 00",
        "call me",
        "++49 30 1",
        "12\n34",
        "1+234",
    ] {
        assert_eq!(phone("phone", bad).unwrap_err().field, "phone", "{bad:?}");
    }
}
