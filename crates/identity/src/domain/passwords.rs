//! Password hashing with argon2id (OWASP's minimum: 19 MiB, two passes, one lane).
//!
//! Hashing costs tens of milliseconds of CPU by design, so the async functions run it on the
//! blocking pool: on an async worker it would stall every other request sharing that thread.

use super::validate::Password;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use std::sync::OnceLock;

/// Why a password could not be hashed or checked: never the caller's doing, so the service
/// answers with an internal error and logs this.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("argon2 failed: {0}")]
    Argon2(argon2::password_hash::Error),
    #[error("the hashing task did not finish: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Memory cost in KiB, passes and lanes; stored in every hash string, so raising them later
/// leaves old hashes verifiable.
const MEMORY_KIB: u32 = 19_456;
const PASSES: u32 = 2;
const LANES: u32 = 1;

fn hasher() -> Argon2<'static> {
    // The parameters are constants within argon2's bounds, so this cannot fail.
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash_blocking(password: &Password) -> Result<String, PasswordError> {
    hasher()
        .hash_password(password.expose().as_bytes())
        .map(|h| h.to_string())
        .map_err(PasswordError::Argon2)
}

/// Checks a password against a stored PHC string; a malformed hash never matches.
pub fn verify_blocking(password: &str, hash: &str) -> bool {
    hasher().verify_password(password.as_bytes(), hash).is_ok()
}

/// A hash of a password nobody knows, verified against when a login names no existing user
/// so that the answer takes as long as for a wrong password and does not reveal who exists.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let unguessable = Password::parse("password", &uuid::Uuid::new_v4().to_string())
            .expect("a UUID is a valid password");
        hash_blocking(&unguessable).expect("hashing a dummy password")
    })
}

/// Computes the dummy hash ahead of the first login, so that even the first failed login
/// for an unknown user costs no more than a wrong password does.
pub async fn warm_up() -> Result<(), PasswordError> {
    tokio::task::spawn_blocking(|| {
        dummy_hash();
    })
    .await
    .map_err(PasswordError::Task)
}

/// Hashes on the blocking pool.
pub async fn hash(password: Password) -> Result<String, PasswordError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await?
}

/// Verifies on the blocking pool; with no stored hash, burns the same time and returns false.
pub async fn verify(password: String, hash: Option<String>) -> Result<bool, PasswordError> {
    tokio::task::spawn_blocking(move || match hash {
        Some(hash) => verify_blocking(&password, &hash),
        None => {
            verify_blocking(&password, dummy_hash());
            false
        }
    })
    .await
    .map_err(PasswordError::Task)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_the_owasp_parameters_and_verify() {
        let pw = Password::parse("password", "correct horse").unwrap();
        let h = hash_blocking(&pw).unwrap();
        assert!(h.starts_with("$argon2id$v=19$"), "{h}");
        assert!(h.contains("m=19456,t=2,p=1"), "{h}");
        assert!(verify_blocking("correct horse", &h));
        assert!(!verify_blocking("correct horsE", &h));
        assert!(!verify_blocking("correct horse", "not a hash"));
    }

    #[test]
    fn the_same_password_hashes_differently_each_time() {
        let pw = Password::parse("password", "correct horse").unwrap();
        assert_ne!(hash_blocking(&pw).unwrap(), hash_blocking(&pw).unwrap());
    }
}
