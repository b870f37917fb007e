//! A customer's profile: names, phone and marketing consent, validated and changed here, free
//! of storage and wire.

use crate::store::customers::ProfileRecord;
use mercato_runtime::error::{FieldError, ServiceError, Validator};
use mercato_runtime::text::{Lines, refuse_controls};

/// The longest first or last name, in characters.
pub const MAX_NAME_CHARS: usize = 80;

/// A first or last name: trimmed, one line, at most [`MAX_NAME_CHARS`]; empty means not given.
pub fn person_name(field: &str, s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    refuse_controls(field, s, Lines::One)?;
    if s.chars().count() > MAX_NAME_CHARS {
        return Err(FieldError::new(
            field,
            format!("must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    Ok(s.to_owned())
}

/// What a request changes in a profile; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct ProfileChange<'a> {
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    /// `Some("")` clears the phone.
    pub phone: Option<&'a str>,
    pub marketing_consent: Option<bool>,
}

impl ProfileChange<'_> {
    /// `current` with this change applied at `now_ms`, every field validated (all bad ones
    /// reported at once). Consent records when it last changed: giving it again, or
    /// withdrawing it when it was not given, keeps the time it had.
    pub fn apply(&self, current: &ProfileRecord, now_ms: i64) -> Result<ProfileRecord, ServiceError> {
        let mut v = Validator::new();
        let mut next = current.clone();
        if let Some(first) = self.first_name {
            next.first_name = v.check(person_name("first_name", first)).unwrap_or_default();
        }
        if let Some(last) = self.last_name {
            next.last_name = v.check(person_name("last_name", last)).unwrap_or_default();
        }
        if let Some(phone) = self.phone {
            next.phone = v.check(mercato_runtime::address::phone("phone", phone)).flatten();
        }
        if let Some(consent) = self.marketing_consent
            && consent != current.marketing_consent
        {
            next.marketing_consent = consent;
            next.marketing_consent_at = Some(now_ms);
        }
        v.finish()?;
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_trims_names_and_leaves_what_it_does_not_name() {
        let current = ProfileRecord {
            first_name: "Ann".into(),
            last_name: "Lee".into(),
            phone: Some("+1 415 555 0100".into()),
            ..ProfileRecord::default()
        };
        let change = ProfileChange {
            last_name: Some("  Smith "),
            phone: Some(""),
            ..ProfileChange::default()
        };
        let next = change.apply(&current, 5).unwrap();
        assert_eq!(
            (next.first_name.as_str(), next.last_name.as_str()),
            ("Ann", "Smith")
        );
        assert_eq!(next.phone, None);
        assert_eq!(next.marketing_consent_at, None);
    }

    #[test]
    fn consent_records_when_it_changed_and_not_when_repeated() {
        let given = ProfileChange {
            marketing_consent: Some(true),
            ..ProfileChange::default()
        }
        .apply(&ProfileRecord::default(), 10)
        .unwrap();
        assert_eq!(
            (given.marketing_consent, given.marketing_consent_at),
            (true, Some(10))
        );
        let again = ProfileChange {
            marketing_consent: Some(true),
            ..ProfileChange::default()
        }
        .apply(&given, 20)
        .unwrap();
        assert_eq!(again.marketing_consent_at, Some(10));
        let withdrawn = ProfileChange {
            marketing_consent: Some(false),
            ..ProfileChange::default()
        }
        .apply(&again, 30)
        .unwrap();
        assert_eq!(
            (withdrawn.marketing_consent, withdrawn.marketing_consent_at),
            (false, Some(30))
        );
    }

    #[test]
    fn every_bad_field_is_reported_and_nothing_is_half_applied() {
        let long = "x".repeat(MAX_NAME_CHARS + 1);
        let change = ProfileChange {
            first_name: Some("A\u{0}"),
            last_name: Some(&long),
            phone: Some("call me"),
            marketing_consent: Some(true),
        };
        let e = change.apply(&ProfileRecord::default(), 1).unwrap_err();
        let fields: Vec<&str> = e.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["first_name", "last_name", "phone"]);
    }
}
