//! Slugs the catalog takes (1–80 characters of `a-z`, `0-9` and `-`) from WordPress's, for the
//! importer (`mercato-migrate`) and for the strangler's redirects of legacy URLs (the gateway),
//! so that both turn a legacy slug into the same one. WordPress keeps
//! non-ASCII slugs percent-encoded (`caf%c3%a9-au-lait`), so they are decoded to UTF-8, Latin
//! letters lose their accents (`cafe-au-lait`) and anything else becomes a dash. A slug that
//! lost characters no letter stands for (Cyrillic, CJK, …), or was cut to the catalog's
//! length, ends with the post's or term's id, so two such slugs do not become one. Folding can
//! still make two slugs one (`cafe` and `café`): the catalog then refuses the second product
//! with the reason, and the importer's report lists it.

/// The catalog's longest slug.
const MAX_SLUG: usize = 80;

/// The catalog slug for WordPress slug `raw` of post or term `id`; `kind` (`product`,
/// `category`) names a slug that has nothing left.
pub fn catalog_slug(raw: &str, kind: &str, id: u64) -> String {
    let (slug, lost) = folded(raw);
    // A slug cut to length may equal another cut the same way: it is told apart by the id too.
    let lost = lost || slug.len() > MAX_SLUG;
    let suffix = if slug.is_empty() {
        format!("{kind}-{id}")
    } else if lost {
        format!("-{id}")
    } else {
        String::new()
    };
    finished(slug, &suffix)
}

/// The catalog slug of `raw` when it does not depend on the post's or term's id (nothing was
/// lost in folding it): what a legacy URL's slug became, for its redirect.
pub fn catalog_slug_without_id(raw: &str) -> Option<String> {
    let (slug, lost) = folded(raw);
    (!slug.is_empty() && !lost && slug.len() <= MAX_SLUG).then(|| finished(slug, ""))
}

/// `raw` decoded, lower-cased and folded to ASCII, dashes collapsed; and whether characters no
/// letter stands for were lost.
fn folded(raw: &str) -> (String, bool) {
    let decoded = percent_decoded(raw);
    let mut slug = String::with_capacity(decoded.len());
    let mut lost = false;
    for c in decoded.chars().flat_map(char::to_lowercase) {
        match fold(c) {
            Some(ascii) => slug.push_str(ascii),
            None if c.is_ascii_alphanumeric() => slug.push(c),
            None => {
                lost |= !(c.is_ascii() || c.is_whitespace());
                slug.push('-');
            }
        }
    }
    (dashes_collapsed(&slug), lost)
}

/// `slug` cut to fit with `suffix` after it.
fn finished(mut slug: String, suffix: &str) -> String {
    slug.truncate(MAX_SLUG.saturating_sub(suffix.len()));
    let slug = slug.trim_end_matches('-').to_owned() + suffix;
    slug.trim_start_matches('-').to_owned()
}

/// `%XX` sequences as the bytes they stand for, read as UTF-8 (the slug as it is when the bytes
/// are not UTF-8).
fn percent_decoded(raw: &str) -> String {
    if !raw.contains('%') {
        return raw.to_owned();
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| raw.to_owned())
}

/// Runs of dashes as one, none at either end.
fn dashes_collapsed(s: &str) -> String {
    s.split('-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// A lower-case Latin letter with a diacritic (or a ligature) as ASCII letters.
fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_catalog_slug(s: &str) -> bool {
        (1..=MAX_SLUG).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    }

    #[test]
    fn percent_encoded_latin_slugs_lose_their_accents() {
        assert_eq!(catalog_slug("caf%c3%a9-au-lait", "product", 7), "cafe-au-lait");
        assert_eq!(catalog_slug("CAF%C3%89", "product", 7), "cafe");
        assert_eq!(
            catalog_slug("stra%c3%9fe-%c5%82%c3%b3d%c5%ba", "product", 7),
            "strasse-lodz"
        );
        assert_eq!(catalog_slug("blue-shirt-2", "product", 7), "blue-shirt-2");
    }

    #[test]
    fn slugs_without_latin_letters_keep_their_id() {
        // «чай» (tea) and 日本茶 (Japanese tea): nothing or only part stands for them.
        assert_eq!(catalog_slug("%d1%87%d0%b0%d0%b9", "product", 42), "product-42");
        assert_eq!(
            catalog_slug("%e6%97%a5%e6%9c%ac%e8%8c%b6-tea", "category", 5),
            "tea-5"
        );
        assert_eq!(catalog_slug("", "category", 5), "category-5");
    }

    #[test]
    fn a_slug_needs_no_id_only_when_nothing_was_lost() {
        assert_eq!(
            catalog_slug_without_id("caf%C3%A9-au-lait").as_deref(),
            Some("cafe-au-lait")
        );
        assert_eq!(
            catalog_slug_without_id("Blue_Shirt").as_deref(),
            Some("blue-shirt")
        );
        assert_eq!(catalog_slug_without_id("%e6%97%a5%e6%9c%ac%e8%8c%b6-tea"), None);
        assert_eq!(catalog_slug_without_id("---"), None);
        assert_eq!(catalog_slug_without_id(&"a".repeat(81)), None);
    }

    #[test]
    fn slugs_cut_to_length_keep_their_id_so_two_long_ones_stay_apart() {
        let long = format!("{}-", "organic-cotton-tee".repeat(5));
        let (small, large) = (format!("{long}small"), format!("{long}large"));
        let (a, b) = (
            catalog_slug(&small, "product", 1),
            catalog_slug(&large, "product", 2),
        );
        assert_ne!(a, b);
        assert!(a.ends_with("-1") && a.len() <= MAX_SLUG, "{a}");
    }

    #[test]
    fn whatever_comes_in_a_catalog_slug_comes_out() {
        for raw in [
            "a_b c",
            "--x--",
            "%zz%",
            "%ff%fe",
            &"é".repeat(100),
            &"%e6%97%a5".repeat(40),
        ] {
            let slug = catalog_slug(raw, "product", 123_456_789);
            assert!(is_catalog_slug(&slug), "{raw:?} → {slug:?}");
        }
    }
}
