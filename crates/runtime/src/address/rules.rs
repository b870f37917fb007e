//! What each country requires of an address: whether the region is required (and from which
//! list of codes), and the postal code's shape, written once as patterns.

/// How a country treats the region (state, province, prefecture).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Region {
    /// Optional free text.
    Optional,
    /// Required free text.
    Required,
    /// Required, one of these codes (upper case).
    Codes(&'static [&'static str]),
}

/// How a country treats the postal code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Postal {
    /// Optional; when given, letters, digits, spaces and dashes.
    Loose,
    /// Required, matching one of these patterns.
    Required(&'static [&'static str]),
    /// Optional; when given, matching one of these patterns.
    Optional(&'static [&'static str]),
}

/// The rules of one country.
#[derive(Clone, Copy, Debug)]
pub(super) struct Rules {
    pub region: Region,
    pub postal: Postal,
    /// An example postal code, named in the error.
    pub example: &'static str,
}

const US_STATES: &[&str] = &[
    "AA", "AE", "AK", "AL", "AP", "AR", "AS", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "FM", "GA", "GU",
    "HI", "IA", "ID", "IL", "IN", "KS", "KY", "LA", "MA", "MD", "ME", "MH", "MI", "MN", "MO", "MP", "MS",
    "MT", "NC", "ND", "NE", "NH", "NJ", "NM", "NV", "NY", "OH", "OK", "OR", "PA", "PR", "PW", "RI", "SC",
    "SD", "TN", "TX", "UT", "VA", "VI", "VT", "WA", "WI", "WV", "WY",
];
const CA_PROVINCES: &[&str] = &[
    "AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT",
];
const AU_STATES: &[&str] = &["ACT", "NSW", "NT", "QLD", "SA", "TAS", "VIC", "WA"];

/// The rules for `country` (an upper-case ISO code): the demo's countries have their own, any
/// other country the loose default.
pub(super) fn for_country(country: &str) -> Rules {
    let (region, postal, example) = match country {
        "US" => (
            Region::Codes(US_STATES),
            Postal::Required(&["99999", "99999-9999"]),
            "94105",
        ),
        "CA" => (
            Region::Codes(CA_PROVINCES),
            Postal::Required(&["A9A 9A9"]),
            "K1A 0B1",
        ),
        "AU" => (Region::Codes(AU_STATES), Postal::Required(&["9999"]), "2000"),
        "JP" => (Region::Required, Postal::Required(&["999-9999"]), "100-0001"),
        "GB" => (
            Region::Optional,
            Postal::Required(&["A9 9AA", "A99 9AA", "A9A 9AA", "AA9 9AA", "AA99 9AA", "AA9A 9AA"]),
            "SW1A 1AA",
        ),
        "DE" | "FR" => (Region::Optional, Postal::Required(&["99999"]), "10115"),
        "NL" => (Region::Optional, Postal::Required(&["9999 AA"]), "1012 AB"),
        "IE" => (Region::Optional, Postal::Optional(&["A99 XXXX"]), "D02 X285"),
        _ => (Region::Optional, Postal::Loose, ""),
    };
    Rules {
        region,
        postal,
        example,
    }
}

/// `raw` in the canonical form of the first pattern it matches, ignoring case, spaces and
/// dashes: `9` is a digit, `A` a letter, `X` either; a space or dash in the pattern is put back.
/// So `sw1a1aa` is `SW1A 1AA` and `1000001` in Japan `100-0001`.
pub(super) fn canonical_postal_code(raw: &str, patterns: &[&str]) -> Option<String> {
    let bare: Vec<char> = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    patterns.iter().find_map(|pattern| fill(pattern, &bare))
}

/// `pattern` filled with `bare`'s characters, when they fit it exactly.
fn fill(pattern: &str, bare: &[char]) -> Option<String> {
    let mut chars = bare.iter();
    let mut out = String::with_capacity(pattern.len());
    for p in pattern.chars() {
        if matches!(p, ' ' | '-') {
            out.push(p);
            continue;
        }
        let c = *chars.next()?;
        let fits = match p {
            '9' => c.is_ascii_digit(),
            'A' => c.is_ascii_uppercase(),
            _ => c.is_ascii_alphanumeric(),
        };
        if !fits {
            return None;
        }
        out.push(c);
    }
    chars.next().is_none().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn postal(country: &str, raw: &str) -> Option<String> {
        match for_country(country).postal {
            Postal::Required(p) | Postal::Optional(p) => canonical_postal_code(raw, p),
            Postal::Loose => Some(raw.to_owned()),
        }
    }

    #[test]
    fn postal_codes_of_the_demo_countries_take_their_canonical_form() {
        let cases = [
            ("US", "94105", "94105"),
            ("US", "941051234", "94105-1234"),
            ("CA", "k1a0b1", "K1A 0B1"),
            ("GB", "sw1a1aa", "SW1A 1AA"),
            ("GB", "M1 1AE", "M1 1AE"),
            ("GB", "EC1A 1BB", "EC1A 1BB"),
            ("DE", "10115", "10115"),
            ("FR", "75001", "75001"),
            ("NL", "1012ab", "1012 AB"),
            ("IE", "d02x285", "D02 X285"),
            ("AU", "2000", "2000"),
            ("JP", "1000001", "100-0001"),
        ];
        for (country, raw, want) in cases {
            assert_eq!(postal(country, raw).as_deref(), Some(want), "{country} {raw}");
        }
    }

    #[test]
    fn postal_codes_of_another_shape_are_refused() {
        let cases = [
            ("US", "9410"),
            ("US", "94105-12"),
            ("CA", "123 456"),
            ("GB", "12345"),
            ("DE", "1011"),
            ("DE", "101155"),
            ("FR", "7500A"),
            ("NL", "AB 1234"),
            ("AU", "20000"),
            ("JP", "100-001"),
        ];
        for (country, raw) in cases {
            assert_eq!(postal(country, raw), None, "{country} {raw}");
        }
    }

    #[test]
    fn region_lists_are_sorted_upper_case_codes() {
        for list in [US_STATES, CA_PROVINCES, AU_STATES] {
            assert!(list.windows(2).all(|w| w[0] < w[1]));
            assert!(list.iter().all(|c| c.chars().all(|ch| ch.is_ascii_uppercase())));
        }
    }
}
