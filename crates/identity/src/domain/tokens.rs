//! Token rules without IO: grants and why one is refused, random secrets and their hashes,
//! refresh-token states and access-token claims.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mercato_runtime::auth::{Claims, Role};
use mercato_runtime::config::AuthSettings;
use mercato_runtime::digest::{hex, sha256_hex};
use rand::RngCore;

/// A token request with the parameters its grant type needs (RFC 6749 sections 4.3, 4.4 and 6;
/// `crate::wire::grant` checks them). Its `Debug` output leaves the secrets out.
#[derive(PartialEq, Eq)]
pub enum Grant {
    Password {
        store_slug: String,
        username: String,
        password: String,
        /// The address the request came from, when the caller knows it; failures are counted
        /// against it.
        client_ip: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
    },
    ClientCredentials {
        client_id: String,
        client_secret: String,
    },
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Grant::Password {
                store_slug,
                username,
                client_ip,
                ..
            } => f
                .debug_struct("Password")
                .field("store_slug", store_slug)
                .field("client_ip", client_ip)
                .field("username", username)
                .finish_non_exhaustive(),
            Grant::RefreshToken { .. } => f.write_str("RefreshToken { .. }"),
            Grant::ClientCredentials { client_id, .. } => f
                .debug_struct("ClientCredentials")
                .field("client_id", client_id)
                .finish_non_exhaustive(),
        }
    }
}

/// Why a grant was refused. Each kind has one answer, whichever part was wrong, so that
/// the answer does not reveal which stores, users, tokens or clients exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GrantRefusal {
    /// A password login failed.
    #[error("invalid username or password")]
    BadLogin,
    /// The refresh token may not be used.
    #[error("refresh token is invalid, expired or revoked")]
    BadRefreshToken,
    /// Client authentication failed.
    #[error("invalid client credentials")]
    BadClient,
    /// The password was right but the account is disabled. Said only to a caller who proved
    /// the password, so it reveals nothing to anyone else.
    #[error("the account is disabled")]
    AccountDisabled,
    /// Too many password logins failed for this account or from this address; the same
    /// answer whether or not the account exists.
    #[error("too many failed sign-in attempts; retry later")]
    Throttled { retry_after_secs: u64 },
}

/// 32 random bytes, base64url without padding: refresh tokens and client secrets.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new API client id: `mc_` and 24 random hex digits; public, so it need not be long.
pub fn new_client_id() -> String {
    let mut bytes = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("mc_{}", hex(&bytes))
}

/// SHA-256 as lower-case hex. Secrets and refresh tokens are stored only in this form: they
/// carry 256 random bits, so a fast hash is enough to make a stolen table useless.
pub fn secret_hash(secret: &str) -> String {
    sha256_hex(secret.as_bytes())
}

/// Compares two hashes in time independent of where they differ.
pub fn hashes_match(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What a presented refresh token may still do.
#[derive(Debug, PartialEq, Eq)]
pub enum RefreshStatus {
    /// Unused, unrevoked, unexpired: it may be exchanged once.
    Active,
    /// Used before: someone replays it, so the whole family must be revoked.
    Replayed,
    Revoked,
    Expired,
}

/// Decides a refresh token's status from its row. Revocation wins (the family is already
/// dead); a replay is detected even after expiry, because it still signals a leaked token.
pub fn refresh_status(
    used_at: Option<i64>,
    revoked_at: Option<i64>,
    expires_at: i64,
    now_ms: i64,
) -> RefreshStatus {
    if revoked_at.is_some() {
        RefreshStatus::Revoked
    } else if used_at.is_some() {
        RefreshStatus::Replayed
    } else if expires_at <= now_ms {
        RefreshStatus::Expired
    } else {
        RefreshStatus::Active
    }
}

/// The claims of a new access token.
pub fn access_claims(auth: &AuthSettings, store_id: &str, subject: &str, role: Role, now_ms: i64) -> Claims {
    let iat = now_ms / 1000;
    Claims {
        iss: auth.issuer.clone(),
        aud: auth.audience.clone(),
        sub: subject.to_owned(),
        exp: iat + ttl_seconds(auth),
        iat,
        jti: uuid::Uuid::now_v7().to_string(),
        store: store_id.to_owned(),
        role,
    }
}

/// The access-token lifetime in whole seconds, as `expires_in` reports it.
pub fn ttl_seconds(auth: &AuthSettings) -> i64 {
    i64::try_from(auth.access_token_ttl.as_secs()).unwrap_or(i64::MAX)
}

/// When a refresh token issued now expires.
pub fn refresh_expiry(auth: &AuthSettings, now_ms: i64) -> i64 {
    let ttl = i64::try_from(auth.refresh_token_ttl.as_millis()).unwrap_or(i64::MAX);
    now_ms.saturating_add(ttl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocation_wins_over_use_and_use_over_expiry() {
        assert_eq!(refresh_status(None, None, 10, 5), RefreshStatus::Active);
        assert_eq!(refresh_status(None, None, 10, 10), RefreshStatus::Expired);
        assert_eq!(refresh_status(Some(1), None, 10, 20), RefreshStatus::Replayed);
        assert_eq!(refresh_status(Some(1), Some(2), 10, 5), RefreshStatus::Revoked);
    }

    #[test]
    fn secrets_are_32_random_bytes_and_hash_to_sha256_hex() {
        let s = random_secret();
        assert_eq!(URL_SAFE_NO_PAD.decode(&s).unwrap().len(), 32);
        assert_ne!(s, random_secret());
        assert_eq!(
            secret_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(hashes_match(&secret_hash("abc"), &secret_hash("abc")));
        assert!(!hashes_match(&secret_hash("abc"), &secret_hash("abd")));
        assert!(new_client_id().starts_with("mc_"));
    }
}
