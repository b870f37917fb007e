//! Request validation: every bad field reported at once, values normalised once.

use super::{CardNumber, fraud};
use mercato_proto::payments as pb;
use mercato_runtime::error::{ServiceError, Validator};
use mercato_runtime::idempotency::IdempotencyKey;
use mercato_runtime::money::Currency;
use mercato_runtime::payment_details::country_code;

/// The largest amount accepted, in minor units (ten billion major units).
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000;
const MAX_TEXT_LEN: usize = 320;

/// A validated authorization request.
#[derive(Clone, Debug)]
pub struct AuthorizeInput {
    pub order_id: String,
    pub idempotency_key: String,
    pub amount_minor: i64,
    pub currency: Currency,
    pub card: CardNumber,
    pub customer_id: String,
    /// Trimmed, lower case; may be empty.
    pub email: String,
    /// Upper case ISO 3166 alpha-2, or empty.
    pub billing_country: String,
    pub shipping_country: String,
    /// The shopper's address when it is a public one (see [`fraud::counts_for_velocity`]), in
    /// canonical form; empty otherwise.
    pub client_ip: String,
}

/// A validated fraud-scoring request; the card is optional there.
#[derive(Clone, Debug)]
pub struct ScoreInput {
    pub amount_minor: i64,
    pub currency: Currency,
    pub card: Option<CardNumber>,
    pub customer_id: String,
    pub email: String,
    pub billing_country: String,
    pub shipping_country: String,
    pub client_ip: String,
}

pub fn authorize(r: &pb::AuthorizeRequest) -> Result<AuthorizeInput, ServiceError> {
    let mut v = Validator::new();
    let order_id = required(&mut v, "order_id", &r.order_id);
    let idempotency_key = key(&mut v, &r.idempotency_key);
    let facts = facts(&mut v, &scored(r), AUTHORIZATION);
    v.finish()?;
    let Some(ScoreInput {
        amount_minor,
        currency,
        card: Some(card),
        customer_id,
        email,
        billing_country,
        shipping_country,
        client_ip,
    }) = facts
    else {
        return Err(incomplete());
    };
    Ok(AuthorizeInput {
        order_id,
        idempotency_key,
        amount_minor,
        currency,
        card,
        customer_id,
        email,
        billing_country,
        shipping_country,
        client_ip,
    })
}

pub fn score(r: &pb::FraudRequest) -> Result<ScoreInput, ServiceError> {
    let mut v = Validator::new();
    let facts = facts(&mut v, r, SCORE);
    v.finish()?;
    facts.ok_or_else(incomplete)
}

/// What a request must hold beyond what every scored request does.
#[derive(Clone, Copy)]
struct Needs {
    min_amount: i64,
    card: bool,
}

/// An authorization moves money, so it needs an amount and a card.
const AUTHORIZATION: Needs = Needs {
    min_amount: 1,
    card: true,
};
/// A score may be asked for before there is an amount or a card.
const SCORE: Needs = Needs {
    min_amount: 0,
    card: false,
};

/// The facts an authorization and a score share, checked in the order their errors are
/// listed; `None` when one failed (the validator says which).
fn facts(v: &mut Validator, r: &pb::FraudRequest, needs: Needs) -> Option<ScoreInput> {
    let amount_minor = amount(v, r.amount_minor, needs.min_amount);
    let currency = v.check(Currency::parse(&r.currency));
    let card = if !needs.card && r.card_number.trim().is_empty() {
        Some(None)
    } else {
        v.check(CardNumber::parse("card_number", &r.card_number))
            .map(Some)
    };
    let customer_id = text(v, "customer_id", &r.customer_id);
    let email = text(v, "email", &r.email).to_ascii_lowercase();
    let billing_country = country_code(v, "billing_country", &r.billing_country);
    let shipping_country = country_code(v, "shipping_country", &r.shipping_country);
    let client_ip = client_ip(v, &r.ip);
    Some(ScoreInput {
        amount_minor,
        currency: currency?,
        card: card?,
        customer_id,
        email,
        billing_country,
        shipping_country,
        client_ip,
    })
}

/// The facts of an authorization, as the fraud request that scores them.
fn scored(r: &pb::AuthorizeRequest) -> pb::FraudRequest {
    pb::FraudRequest {
        store_id: r.store_id.clone(),
        customer_id: r.customer_id.clone(),
        email: r.email.clone(),
        card_number: r.card_number.clone(),
        amount_minor: r.amount_minor,
        currency: r.currency.clone(),
        billing_country: r.billing_country.clone(),
        shipping_country: r.shipping_country.clone(),
        ip: r.ip.clone(),
    }
}

/// Reached only if a validator passed while a check returned nothing, which is a bug.
fn incomplete() -> ServiceError {
    ServiceError::validation("invalid request")
}

/// The `ip` field: empty, or an IP address (anything else is refused); kept only when it is
/// public, as the address signal counts only those.
fn client_ip(v: &mut Validator, ip: &str) -> String {
    let ip = ip.trim();
    if ip.is_empty() {
        return String::new();
    }
    match ip.parse::<std::net::IpAddr>() {
        Ok(address) if fraud::counts_for_velocity(address) => address.to_string(),
        Ok(_) => String::new(),
        Err(_) => {
            v.add("ip", "must be an IP address");
            String::new()
        }
    }
}

/// A client idempotency key, by the rule every service shares (reported against the field).
pub fn key(v: &mut Validator, s: &str) -> String {
    match IdempotencyKey::parse("idempotency_key", s) {
        Ok(key) => key.into_string(),
        Err(e) => {
            v.add(
                "idempotency_key",
                e.message.trim_start_matches("idempotency_key "),
            );
            s.trim().to_owned()
        }
    }
}

/// An amount between `min` and 10^12 minor units.
pub fn amount(v: &mut Validator, amount: i64, min: i64) -> i64 {
    if !(min..=MAX_AMOUNT_MINOR).contains(&amount) {
        let message = format!("must be between {min} and {MAX_AMOUNT_MINOR} minor units");
        v.add("amount_minor", &message);
    }
    amount
}

fn required(v: &mut Validator, field: &str, s: &str) -> String {
    let s = text(v, field, s);
    if s.is_empty() {
        v.add(field, "is required");
    }
    s
}

fn text(v: &mut Validator, field: &str, s: &str) -> String {
    let s = s.trim();
    if s.len() > MAX_TEXT_LEN {
        v.add(field, "must be at most 320 characters");
    }
    s.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_authorization_request_reports_every_bad_field() {
        let e = authorize(&pb::AuthorizeRequest {
            amount_minor: 0,
            currency: "eur".into(),
            card_number: "4242424242424241".into(),
            billing_country: "Germany".into(),
            ..Default::default()
        })
        .unwrap_err();
        let fields: Vec<&str> = e.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "order_id",
                "idempotency_key",
                "amount_minor",
                "currency",
                "card_number",
                "billing_country"
            ]
        );
    }

    #[test]
    fn a_score_needs_no_card_and_no_amount_but_checks_what_it_gets() {
        let input = score(&pb::FraudRequest {
            currency: "EUR".into(),
            card_number: "  ".into(),
            ..Default::default()
        })
        .unwrap();
        assert!(input.card.is_none());
        assert_eq!(input.amount_minor, 0);
        let e = score(&pb::FraudRequest {
            currency: "EUR".into(),
            card_number: "4242424242424241".into(),
            ip: "not an ip".into(),
            ..Default::default()
        })
        .unwrap_err();
        let fields: Vec<&str> = e.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["card_number", "ip"]);
    }

    #[test]
    fn a_valid_authorization_request_is_normalised() {
        let input = authorize(&pb::AuthorizeRequest {
            order_id: " o-1 ".into(),
            idempotency_key: "k".into(),
            amount_minor: MAX_AMOUNT_MINOR,
            currency: "EUR".into(),
            card_number: "4242 4242 4242 4242".into(),
            email: "Ann@Example.COM".into(),
            billing_country: "de".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(input.order_id, "o-1");
        assert_eq!(input.email, "ann@example.com");
        assert_eq!(input.billing_country, "DE");
        assert_eq!(input.card.last4(), "4242");
    }
}
