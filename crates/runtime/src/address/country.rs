//! ISO 3166-1 alpha-2 country codes: the one list every service checks a country against.

use crate::error::FieldError;

/// Every officially assigned ISO 3166-1 alpha-2 code (249), sorted, so a lookup is a binary
/// search. Reserved codes (`UK`, `EU`) and user-assigned ones (`XK`) are not countries here.
const ASSIGNED: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA",
    "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV",
    "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU",
    "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES",
    "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM",
    "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM", "HN", "HR", "HT", "HU", "ID", "IE",
    "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP", "KE", "KG", "KH", "KI", "KM",
    "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY",
    "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT",
    "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU",
    "NZ", "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA",
    "RE", "RO", "RS", "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM",
    "SN", "SO", "SR", "SS", "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL",
    "TM", "TN", "TO", "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE",
    "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// An assigned ISO 3166-1 alpha-2 country code, upper case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country([u8; 2]);

impl Country {
    /// Accepts an assigned code in any case, surrounding spaces trimmed; anything else (empty,
    /// `Germany`, `UK`, `XX`) is refused against `field`.
    pub fn parse(field: &str, s: &str) -> Result<Country, FieldError> {
        let code = s.trim().to_ascii_uppercase();
        match ASSIGNED.binary_search(&code.as_str()) {
            Ok(i) => {
                let b = ASSIGNED[i].as_bytes();
                Ok(Country([b[0], b[1]]))
            }
            Err(_) => Err(FieldError::new(
                field,
                "must be an ISO 3166-1 alpha-2 country code, such as DE or US",
            )),
        }
    }

    /// Every assigned code, for documents that list them.
    pub fn all_codes() -> &'static [&'static str] {
        &ASSIGNED
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("built from an ASCII code")
    }
}

impl std::fmt::Display for Country {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_without_duplicates_so_binary_search_finds_every_code() {
        assert!(ASSIGNED.windows(2).all(|w| w[0] < w[1]));
        for code in ASSIGNED {
            assert_eq!(Country::parse("country", code).unwrap().as_str(), code);
        }
    }

    #[test]
    fn a_code_is_trimmed_and_upper_cased_and_a_name_or_reserved_code_refused() {
        assert_eq!(Country::parse("country", " de ").unwrap().as_str(), "DE");
        for bad in ["", "Germany", "UK", "EU", "XX", "D", "DEU", "d\u{0}"] {
            let e = Country::parse("address.country", bad).unwrap_err();
            assert_eq!(e.field, "address.country", "{bad:?}");
        }
    }
}
