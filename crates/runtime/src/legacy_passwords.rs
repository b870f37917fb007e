//! Password hashes from legacy shops (ADR 0016): WordPress's phpass (`$P$…`, and phpBB's `$H$…`),
//! WordPress 6.8's bcrypt (`$wp$2y$…`), plain bcrypt (`$2y$…`, `$2b$…`, `$2a$…`) and the bare MD5
//! of very old WordPress accounts. Identity verifies them once, at a customer's first sign-in,
//! and replaces them with argon2id; the fixture generator makes them with [`phpass_hash`] and
//! [`wp_bcrypt_hash`].
//!
//! The work a stored hash asks for is bounded ([`MAX_PHPASS_COUNT_LOG2`], [`MAX_BCRYPT_COST`]): a
//! hash comes from an import, and one asking for 2³⁰ MD5 rounds would hold a hashing slot for
//! minutes. Such a hash never matches, and [`check_importable`] refuses it at import.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};

/// phpass's alphabet: the iteration count's character and its own base-64 encoding.
const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// WordPress's HMAC key for the SHA-384 pre-hash of its bcrypt scheme (domain separation).
const WP_PREHASH_KEY: &[u8] = b"wp-sha384";

/// The longest password WordPress hashes or checks; longer ones never match.
pub const MAX_PASSWORD_BYTES: usize = 4096;

/// The greatest phpass iteration count (as a power of two) verified: 2¹⁸ MD5 rounds, tens of
/// milliseconds. WordPress writes 8, phpBB 11.
pub const MAX_PHPASS_COUNT_LOG2: u32 = 18;

/// The greatest bcrypt cost verified (about a second). PHP's default is 10.
pub const MAX_BCRYPT_COST: u32 = 14;

/// Which legacy scheme a stored hash uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// phpass's portable MD5 hash with 2^`count_log2` rounds (`$P$`, `$H$`).
    Phpass { count_log2: u32 },
    /// WordPress 6.8's bcrypt over an HMAC-SHA384 of the password (`$wp$2y$…`).
    WordPressBcrypt { cost: u32 },
    /// bcrypt of the password itself (`$2y$`, `$2b$`, `$2a$`).
    Bcrypt { cost: u32 },
    /// 32 hex digits: the MD5 of the password (WordPress before 2.5, still accepted by it).
    Md5,
}

/// Why a hash could not be made or imported.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LegacyHashError {
    #[error("not a password hash this platform can verify")]
    Unknown,
    #[error("asks for more hashing work than is allowed")]
    TooCostly,
    #[error("a phpass salt is 8 characters of ./0-9A-Za-z")]
    BadSalt,
    #[error("bcrypt failed: {0}")]
    Bcrypt(String),
}

/// The scheme of a stored hash, or `None` when it is no legacy hash this module knows (an
/// argon2 PHC string among them).
pub fn scheme(stored: &str) -> Option<Scheme> {
    if let Some(rest) = stored.strip_prefix("$wp") {
        return bcrypt_cost(rest).map(|cost| Scheme::WordPressBcrypt { cost });
    }
    if stored.starts_with("$P$") || stored.starts_with("$H$") {
        let count_log2 = itoa64_index(*stored.as_bytes().get(3)?)?;
        return (stored.len() == 34).then_some(Scheme::Phpass { count_log2 });
    }
    if let Some(cost) = bcrypt_cost(stored) {
        return Some(Scheme::Bcrypt { cost });
    }
    let is_md5 = stored.len() == 32 && stored.bytes().all(|b| b.is_ascii_hexdigit());
    is_md5.then_some(Scheme::Md5)
}

/// Whether a hash may be imported: a known scheme asking for no more than the bounded work.
pub fn check_importable(stored: &str) -> Result<Scheme, LegacyHashError> {
    let scheme = scheme(stored).ok_or(LegacyHashError::Unknown)?;
    let within_bounds = match scheme {
        Scheme::Phpass { count_log2 } => (7..=MAX_PHPASS_COUNT_LOG2).contains(&count_log2),
        Scheme::WordPressBcrypt { cost } | Scheme::Bcrypt { cost } => cost <= MAX_BCRYPT_COST,
        Scheme::Md5 => true,
    };
    if within_bounds {
        Ok(scheme)
    } else {
        Err(LegacyHashError::TooCostly)
    }
}

/// Checks `password` against a stored legacy hash: `None` when `stored` is not a legacy hash
/// (the caller verifies it its own way), else whether it matches. CPU-bound (bcrypt, up to 2¹⁸
/// MD5 rounds): call it where the caller's own password hashing runs, never on an async worker.
///
/// WordPress hashes and checks passwords with surrounding white space trimmed, so a password typed
/// with it is tried again without (at most twice the work, only then).
pub fn verify(stored: &str, password: &str) -> Option<bool> {
    let scheme = scheme(stored)?;
    if password.len() > MAX_PASSWORD_BYTES || check_importable(stored).is_err() {
        return Some(false);
    }
    let trimmed = password.trim();
    Some(matches(scheme, stored, password) || (trimmed != password && matches(scheme, stored, trimmed)))
}

fn matches(scheme: Scheme, stored: &str, password: &str) -> bool {
    match scheme {
        Scheme::Phpass { count_log2 } => {
            let salt = &stored.as_bytes()[4..12];
            let computed = phpass_digest(password.as_bytes(), salt, count_log2);
            equal_in_constant_time(&stored.as_bytes()[12..], encode64(&computed).as_bytes())
        }
        Scheme::WordPressBcrypt { .. } => bcrypt::verify(wp_prehash(password), &stored[3..]).unwrap_or(false),
        Scheme::Bcrypt { .. } => bcrypt::verify(password, stored).unwrap_or(false),
        Scheme::Md5 => {
            let hex = hex_lower(&Md5::digest(password.as_bytes()));
            equal_in_constant_time(stored.to_ascii_lowercase().as_bytes(), hex.as_bytes())
        }
    }
}

/// A phpass portable hash (`$P$…`) of `password` with an 8-character salt from phpass's
/// alphabet and 2^`count_log2` rounds (WordPress uses 8): the hashes a WordPress shop stores.
pub fn phpass_hash(password: &str, salt8: &str, count_log2: u32) -> Result<String, LegacyHashError> {
    let salt_ok = salt8.len() == 8 && salt8.bytes().all(|b| ITOA64.contains(&b));
    if !salt_ok {
        return Err(LegacyHashError::BadSalt);
    }
    if !(7..=MAX_PHPASS_COUNT_LOG2).contains(&count_log2) {
        return Err(LegacyHashError::TooCostly);
    }
    let digest = phpass_digest(password.as_bytes(), salt8.as_bytes(), count_log2);
    let count_char = char::from(ITOA64[count_log2 as usize]);
    Ok(format!("$P${count_char}{salt8}{}", encode64(&digest)))
}

/// A WordPress 6.8 hash (`$wp$2y$…`) of `password` at bcrypt `cost` (4 to
/// [`MAX_BCRYPT_COST`]; WordPress uses 10) with a random salt.
pub fn wp_bcrypt_hash(password: &str, cost: u32) -> Result<String, LegacyHashError> {
    wp_bcrypt_hash_with_salt(password, cost, rand::random())
}

/// [`wp_bcrypt_hash`] with a given salt, for fixtures that must come out the same every run.
pub fn wp_bcrypt_hash_with_salt(
    password: &str,
    cost: u32,
    salt: [u8; 16],
) -> Result<String, LegacyHashError> {
    if cost > MAX_BCRYPT_COST {
        return Err(LegacyHashError::TooCostly);
    }
    let parts = bcrypt::hash_with_salt(wp_prehash(password), cost, salt)
        .map_err(|e| LegacyHashError::Bcrypt(e.to_string()))?;
    Ok(format!("$wp{}", parts.format_for_version(bcrypt::Version::TwoY)))
}

/// WordPress's pre-hash: base-64 of HMAC-SHA384(key `wp-sha384`, password), 64 characters, so a
/// password longer than bcrypt's 72 bytes keeps its entropy.
fn wp_prehash(password: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA384, WP_PREHASH_KEY);
    STANDARD.encode(ring::hmac::sign(&key, password.as_bytes()).as_ref())
}

/// The cost of a bcrypt hash string (`$2y$10$` + 53 characters), `None` when it is not one.
fn bcrypt_cost(hash: &str) -> Option<u32> {
    let rest = ["$2y$", "$2b$", "$2a$"]
        .iter()
        .find_map(|prefix| hash.strip_prefix(prefix))?;
    let (cost, body) = rest.split_once('$')?;
    let cost_ok = cost.len() == 2 && cost.bytes().all(|b| b.is_ascii_digit());
    (cost_ok && body.len() == 53).then(|| cost.parse().ok())?
}

/// MD5(salt ‖ password), then 2^`count_log2` times MD5(previous ‖ password).
fn phpass_digest(password: &[u8], salt: &[u8], count_log2: u32) -> [u8; 16] {
    let mut digest: [u8; 16] = Md5::new()
        .chain_update(salt)
        .chain_update(password)
        .finalize()
        .into();
    for _ in 0..(1u64 << count_log2) {
        digest = Md5::new()
            .chain_update(digest)
            .chain_update(password)
            .finalize()
            .into();
    }
    digest
}

/// phpass's base-64: little-endian groups of three bytes, six bits at a time, in [`ITOA64`].
fn encode64(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let value = chunk
            .iter()
            .enumerate()
            .fold(0u32, |v, (i, b)| v | (u32::from(*b) << (8 * i)));
        for sextet in 0..=chunk.len() {
            out.push(char::from(ITOA64[((value >> (6 * sextet)) & 0x3f) as usize]));
        }
    }
    out
}

fn itoa64_index(byte: u8) -> Option<u32> {
    ITOA64.iter().position(|b| *b == byte).map(|i| i as u32)
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether two byte strings are equal, in a time that does not depend on where they differ.
fn equal_in_constant_time(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published phpass vectors: phpass's own test script (`test12345`), the Openwall/passlib
    /// suites and a non-ASCII password.
    const PHPASS_VECTORS: [(&str, &str); 5] = [
        ("test12345", "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0"),
        ("test1", "$H$9aaaaaSXBjgypwqm.JsMssPLiS8YQ00"),
        ("thisisalongertestPW", "$P$912345678LIjjb6PhecupozNBmDndU0"),
        ("123456", "$P$BVaXtDXwf/ceSVp8VpLKx8bS2Y4O5F/"),
        ("ąćęłóńśźż", "$P$ByXWbzDvVAJ0jxvNp5sv4xYPIRXJJ1."),
    ];

    #[test]
    fn phpass_hashes_verify_against_published_vectors() {
        for (password, hash) in PHPASS_VECTORS {
            assert_eq!(verify(hash, password), Some(true), "{hash}");
            assert_eq!(verify(hash, &format!("{password}x")), Some(false), "{hash}");
        }
    }

    #[test]
    fn a_password_typed_with_surrounding_spaces_matches_as_wordpress_trims_it() {
        let (password, hash) = PHPASS_VECTORS[0];
        assert_eq!(verify(hash, &format!("  {password}\t")), Some(true));
        assert_eq!(verify(hash, &format!("{password} x")), Some(false));
    }

    #[test]
    fn phpass_hash_reproduces_the_published_vectors() {
        for (password, hash) in PHPASS_VECTORS.into_iter().filter(|(_, h)| h.starts_with("$P$")) {
            let count_log2 = itoa64_index(hash.as_bytes()[3]).unwrap();
            assert_eq!(phpass_hash(password, &hash[4..12], count_log2).unwrap(), hash);
        }
        assert_eq!(phpass_hash("pw", "short", 8), Err(LegacyHashError::BadSalt));
        assert_eq!(phpass_hash("pw", "abcdefgh", 25), Err(LegacyHashError::TooCostly));
    }

    #[test]
    fn wordpress_bcrypt_verifies_a_hash_made_by_wordpress() {
        // WordPress 6.8's hash of "admin", pinned by the WordPress Playground demo, which checks
        // it with PHP's `password_verify` over the HMAC-SHA384 pre-hash.
        let hash = "$wp$2y$10$Q1xinFjrZeLWJBvxviIL6u834Fu.evIEFHAUVisQ5O.w9Dm0sMdES";
        assert_eq!(scheme(hash), Some(Scheme::WordPressBcrypt { cost: 10 }));
        assert_eq!(verify(hash, "admin"), Some(true));
        assert_eq!(verify(hash, "Admin"), Some(false));
        // The same hash without `$wp` is bcrypt of the pre-hash, not of the password.
        assert_eq!(verify(&hash[3..], "admin"), Some(false));
    }

    #[test]
    fn wordpress_bcrypt_hashes_round_trip_and_keep_long_passwords_whole() {
        let long = "x".repeat(100);
        let hash = wp_bcrypt_hash(&long, 4).unwrap();
        assert!(hash.starts_with("$wp$2y$04$"), "{hash}");
        assert_eq!(verify(&hash, &long), Some(true));
        // Plain bcrypt would ignore everything after byte 72; the pre-hash does not.
        assert_eq!(verify(&hash, &"x".repeat(99)), Some(false));
        let fixed = wp_bcrypt_hash_with_salt("pw", 4, [7; 16]).unwrap();
        assert_eq!(fixed, wp_bcrypt_hash_with_salt("pw", 4, [7; 16]).unwrap());
    }

    #[test]
    fn plain_bcrypt_and_md5_verify() {
        let parts = bcrypt::hash_with_salt("secret", 4, [3; 16]).unwrap();
        for version in [
            bcrypt::Version::TwoY,
            bcrypt::Version::TwoB,
            bcrypt::Version::TwoA,
        ] {
            let hash = parts.format_for_version(version);
            assert_eq!(verify(&hash, "secret"), Some(true), "{hash}");
            assert_eq!(verify(&hash, "Secret"), Some(false), "{hash}");
        }
        // MD5("password"), as WordPress before 2.5 stored it.
        let md5 = "5f4dcc3b5aa765d61d8327deb882cf99";
        assert_eq!(verify(md5, "password"), Some(true));
        assert_eq!(verify(md5, "passwore"), Some(false));
    }

    #[test]
    fn other_strings_are_not_legacy_hashes() {
        let argon = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
        for stored in [argon, "", "$P$short", "$2y$10$tooshort", "plain text"] {
            assert_eq!(verify(stored, "anything"), None, "{stored}");
            assert_eq!(
                check_importable(stored),
                Err(LegacyHashError::Unknown),
                "{stored}"
            );
        }
    }

    #[test]
    fn costly_hashes_are_refused_and_never_match() {
        let costly_phpass = "$P$SIQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0";
        assert_eq!(check_importable(costly_phpass), Err(LegacyHashError::TooCostly));
        assert_eq!(verify(costly_phpass, "test12345"), Some(false));
        let costly_bcrypt = format!("$2y$31${}", "a".repeat(53));
        assert_eq!(check_importable(&costly_bcrypt), Err(LegacyHashError::TooCostly));
        assert_eq!(verify(&costly_bcrypt, "x"), Some(false));
        let long = "p".repeat(MAX_PASSWORD_BYTES + 1);
        assert_eq!(verify(PHPASS_VECTORS[0].1, &long), Some(false));
    }
}
