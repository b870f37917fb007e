//! Request validation at the edge: every bad field of a `payments.proto` request is reported at
//! once, values are normalised once, and what passes comes out as the domain's typed inputs.

use crate::domain::inputs::{
    AuthorizeInput, MAX_AMOUNT_MINOR, MoneyMovement, NewPaymentMethod, ScoreInput, Shopper,
};
use crate::domain::payment_method::{check_cvc, check_expiry, year_month};
use crate::domain::{CardNumber, PaymentMethodId, fraud};
use crate::service::{intent_id, store_id};
use mercato_proto::payments as pb;
use mercato_runtime::error::{ServiceError, Validator};
use mercato_runtime::idempotency::IdempotencyKey;
use mercato_runtime::money::Currency;
use mercato_runtime::payment_details::country_code;
use mercato_runtime::time::now_ms;

const MAX_TEXT_LEN: usize = 320;

pub fn authorize(r: &pb::AuthorizeRequest) -> Result<AuthorizeInput, ServiceError> {
    let mut v = Validator::new();
    let order_id = required(&mut v, "order_id", &r.order_id);
    let idempotency_key = key(&mut v, &r.idempotency_key);
    let facts = facts(&mut v, &scored(r), AUTHORIZATION);
    v.finish()?;
    let Some(ScoreInput {
        amount_minor,
        currency,
        payment_method: Some(payment_method),
        shopper,
    }) = facts
    else {
        return Err(incomplete());
    };
    Ok(AuthorizeInput {
        order_id,
        idempotency_key,
        amount_minor,
        currency,
        payment_method,
        shopper,
    })
}

/// A card to tokenize: the number checked (Luhn), the expiry (`MM/YY`, not past) and the
/// verification code (3–4 digits) checked when given and then dropped, the country normalised.
pub fn payment_method(r: &pb::CreatePaymentMethodRequest) -> Result<NewPaymentMethod, ServiceError> {
    let mut v = Validator::new();
    let card = if r.card_number.trim().is_empty() {
        v.add("card_number", "is required");
        None
    } else {
        v.check(CardNumber::parse("card_number", &r.card_number))
    };
    if !r.exp.trim().is_empty()
        && let Err(problem) = check_expiry(&r.exp, year_month(now_ms()))
    {
        v.add("exp", problem);
    }
    if !r.cvc.trim().is_empty()
        && let Err(problem) = check_cvc(&r.cvc)
    {
        v.add("cvc", problem);
    }
    let billing_country = country_code(&mut v, "billing_country", &r.billing_country);
    v.finish()?;
    Ok(NewPaymentMethod {
        card: card.ok_or_else(incomplete)?,
        billing_country,
    })
}

pub fn score(r: &pb::FraudRequest) -> Result<ScoreInput, ServiceError> {
    let mut v = Validator::new();
    let facts = facts(&mut v, r, SCORE);
    v.finish()?;
    facts.ok_or_else(incomplete)
}

pub fn capture(r: &pb::CaptureRequest) -> Result<MoneyMovement, ServiceError> {
    movement(
        &r.store_id,
        &r.intent_id,
        &r.idempotency_key,
        Some(r.amount_minor),
    )
}

pub fn void(r: &pb::VoidRequest) -> Result<MoneyMovement, ServiceError> {
    movement(&r.store_id, &r.intent_id, &r.idempotency_key, None)
}

pub fn refund(r: &pb::RefundRequest) -> Result<MoneyMovement, ServiceError> {
    movement(
        &r.store_id,
        &r.intent_id,
        &r.idempotency_key,
        Some(r.amount_minor),
    )
}

/// The facts a capture, void or refund names: the store, then the intent, each refused on its
/// own; then the key and the amount (`None` where the request has none), reported together.
fn movement(
    store: &str,
    intent: &str,
    idempotency_key: &str,
    amount_minor: Option<i64>,
) -> Result<MoneyMovement, ServiceError> {
    let store = store_id(store)?;
    let intent = intent_id(intent)?;
    let mut v = Validator::new();
    let key = key(&mut v, idempotency_key);
    let amount_minor = amount_minor.map_or(0, |a| amount(&mut v, a, 0));
    v.finish()?;
    Ok(MoneyMovement {
        store,
        intent,
        key,
        amount_minor,
    })
}

/// What a request must hold beyond what every scored request does.
#[derive(Clone, Copy)]
struct Needs {
    min_amount: i64,
    card: bool,
}

/// An authorization moves money, so it needs an amount and a payment method.
const AUTHORIZATION: Needs = Needs {
    min_amount: 1,
    card: true,
};
/// A score may be asked for before there is an amount or a payment method.
const SCORE: Needs = Needs {
    min_amount: 0,
    card: false,
};

/// The facts an authorization and a score share, checked in the order their errors are
/// listed; `None` when one failed (the validator says which).
fn facts(v: &mut Validator, r: &pb::FraudRequest, needs: Needs) -> Option<ScoreInput> {
    let amount_minor = amount(v, r.amount_minor, needs.min_amount);
    let currency = v.check(Currency::parse(&r.currency));
    let payment_method = if !needs.card && r.payment_method.trim().is_empty() {
        Some(None)
    } else {
        v.check(PaymentMethodId::parse("payment_method", &r.payment_method))
            .map(Some)
    };
    let shopper = shopper(v, r);
    Some(ScoreInput {
        amount_minor,
        currency: currency?,
        payment_method: payment_method?,
        shopper,
    })
}

/// Who pays and from where, normalised: the email lower case, the countries upper case, the
/// address kept only when it is public.
fn shopper(v: &mut Validator, r: &pb::FraudRequest) -> Shopper {
    Shopper {
        customer_id: text(v, "customer_id", &r.customer_id),
        email: text(v, "email", &r.email).to_ascii_lowercase(),
        billing_country: country_code(v, "billing_country", &r.billing_country),
        shipping_country: country_code(v, "shipping_country", &r.shipping_country),
        client_ip: client_ip(v, &r.ip),
    }
}

/// The facts of an authorization, as the fraud request that scores them.
fn scored(r: &pb::AuthorizeRequest) -> pb::FraudRequest {
    pb::FraudRequest {
        store_id: r.store_id.clone(),
        customer_id: r.customer_id.clone(),
        email: r.email.clone(),
        payment_method: r.payment_method.clone(),
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
fn key(v: &mut Validator, s: &str) -> String {
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
fn amount(v: &mut Validator, amount: i64, min: i64) -> i64 {
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
            payment_method: "4242424242424242".into(),
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
                "payment_method",
                "billing_country"
            ]
        );
    }

    #[test]
    fn a_score_needs_no_card_and_no_amount_but_checks_what_it_gets() {
        let input = score(&pb::FraudRequest {
            currency: "EUR".into(),
            payment_method: "  ".into(),
            ..Default::default()
        })
        .unwrap();
        assert!(input.payment_method.is_none());
        assert_eq!(input.amount_minor, 0);
        let e = score(&pb::FraudRequest {
            currency: "EUR".into(),
            payment_method: "pm_x".into(),
            ip: "not an ip".into(),
            ..Default::default()
        })
        .unwrap_err();
        let fields: Vec<&str> = e.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["payment_method", "ip"]);
    }

    #[test]
    fn a_valid_authorization_request_is_normalised() {
        let input = authorize(&pb::AuthorizeRequest {
            order_id: " o-1 ".into(),
            idempotency_key: "k".into(),
            amount_minor: MAX_AMOUNT_MINOR,
            currency: "EUR".into(),
            payment_method: " pm_0123456789abcdef0123456789abcdef ".into(),
            email: "Ann@Example.COM".into(),
            billing_country: "de".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(input.order_id, "o-1");
        assert_eq!(input.shopper.email, "ann@example.com");
        assert_eq!(input.shopper.billing_country, "DE");
        assert_eq!(
            input.payment_method.as_str(),
            "pm_0123456789abcdef0123456789abcdef"
        );
    }

    #[test]
    fn a_card_to_tokenize_reports_every_bad_field() {
        let e = payment_method(&pb::CreatePaymentMethodRequest {
            card_number: "4242424242424241".into(),
            exp: "01/20".into(),
            cvc: "12".into(),
            billing_country: "Germany".into(),
            ..Default::default()
        })
        .unwrap_err();
        let fields: Vec<&str> = e.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["card_number", "exp", "cvc", "billing_country"]);
        let ok = payment_method(&pb::CreatePaymentMethodRequest {
            card_number: "4242 4242 4242 4242".into(),
            exp: "12/99".into(),
            cvc: "123".into(),
            billing_country: "de".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((ok.card.last4(), ok.billing_country.as_str()), ("4242", "DE"));
    }
}
