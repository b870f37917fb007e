//! Access tokens as the edge sees them: claims, roles, and a verifier with a fixed algorithm.
//!
//! Tokens are Ed25519-signed JWTs issued by the identity service. The verifier accepts only
//! `EdDSA`, checks `iss`, `aud` and `exp`, refuses `nbf` or `iat` in the future and lifetimes
//! (`exp - iat`) over the maximum (each beyond the clock leeway), and picks the key by `kid`
//! from the JWKS it was given.

use crate::config::AuthSettings;
use crate::error::ServiceError;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use mercato_proto::common::Role as ProtoRole;
use mercato_proto::identity::Jwks;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

/// What a user may do within their store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Staff,
    Customer,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "owner" => Some(Role::Owner),
            "staff" => Some(Role::Staff),
            "customer" => Some(Role::Customer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Staff => "staff",
            Role::Customer => "customer",
        }
    }

    /// Owners and staff run the store: catalog, stock, orders.
    pub fn is_store_staff(self) -> bool {
        matches!(self, Role::Owner | Role::Staff)
    }

    /// The role a contract carries: `None` for an anonymous caller, an error for a value this
    /// build does not know (never a silent fallback to some role).
    pub fn from_proto(value: i32) -> Result<Option<Role>, ServiceError> {
        match ProtoRole::try_from(value) {
            Ok(ProtoRole::Anonymous) => Ok(None),
            Ok(ProtoRole::Customer) => Ok(Some(Role::Customer)),
            Ok(ProtoRole::Staff) => Ok(Some(Role::Staff)),
            Ok(ProtoRole::Owner) => Ok(Some(Role::Owner)),
            Err(_) => Err(ServiceError::invalid_request(format!("unknown role {value}"))),
        }
    }

    /// The role as contracts carry it.
    pub fn to_proto(self) -> i32 {
        let role = match self {
            Role::Owner => ProtoRole::Owner,
            Role::Staff => ProtoRole::Staff,
            Role::Customer => ProtoRole::Customer,
        };
        role.into()
    }
}

/// The claims of an access token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user id, or the API client id for client credentials.
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    /// The store (tenant) id the token is valid for; every call the token makes is scoped to it.
    pub store: String,
    pub role: Role,
}

/// Why a token was not accepted.
#[derive(Debug)]
pub enum VerifyError {
    /// Signed with a key this verifier does not know yet; refresh the JWKS and try again.
    UnknownKey(String),
    Invalid(ServiceError),
}

/// The time rules of an access token beyond its signature: how long it may live and how much
/// clock skew between issuer and verifier is forgiven.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenLimits {
    /// The longest `exp - iat` accepted: the access-token lifetime identity issues.
    pub max_lifetime: Duration,
    /// Forgiven on `exp`, `nbf` and `iat`.
    pub leeway: Duration,
}

impl TokenLimits {
    /// The platform's ceiling (`auth.access_token_ttl` may not exceed 15 minutes) and the
    /// default leeway: for verifiers that do not know the configured lifetime.
    pub const CEILING: TokenLimits = TokenLimits {
        max_lifetime: Duration::from_secs(15 * 60),
        leeway: Duration::from_secs(30),
    };

    /// The limits the settings give identity's access tokens.
    pub fn for_settings(auth: &AuthSettings) -> TokenLimits {
        TokenLimits {
            max_lifetime: auth.access_token_ttl,
            leeway: auth.clock_leeway,
        }
    }

    /// Why claims issued at `iat`, valid until `exp`, are refused at `now` (epoch seconds).
    pub fn refusal(&self, iat: i64, exp: i64, now: i64) -> Option<&'static str> {
        let leeway = secs(self.leeway);
        if iat > now.saturating_add(leeway) {
            Some("access token issued in the future")
        } else if exp.saturating_sub(iat) > secs(self.max_lifetime) {
            Some("access token lifetime exceeds the maximum")
        } else {
            None
        }
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Verifies access tokens against a set of public keys.
pub struct TokenVerifier {
    validation: Validation,
    limits: TokenLimits,
    keys: RwLock<HashMap<String, DecodingKey>>,
}

impl TokenVerifier {
    /// A verifier with the platform's ceiling as the maximum lifetime.
    pub fn new(issuer: &str, audience: &str) -> Self {
        Self::with_limits(issuer, audience, TokenLimits::CEILING)
    }

    /// A verifier of the tokens identity issues under these settings.
    pub fn for_settings(auth: &AuthSettings) -> Self {
        Self::with_limits(&auth.issuer, &auth.audience, TokenLimits::for_settings(auth))
    }

    pub fn with_limits(issuer: &str, audience: &str, limits: TokenLimits) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = limits.leeway.as_secs();
        TokenVerifier {
            validation,
            limits,
            keys: RwLock::new(HashMap::new()),
        }
    }

    /// Replaces the known keys with those of a JWKS; keys of another type are ignored.
    pub fn set_keys(&self, jwks: &Jwks) {
        let mut keys = HashMap::new();
        for k in &jwks.keys {
            if k.kty != "OKP" || k.crv != "Ed25519" {
                continue;
            }
            match DecodingKey::from_ed_components(&k.x) {
                Ok(key) => {
                    keys.insert(k.kid.clone(), key);
                }
                Err(e) => {
                    tracing::warn!(kid = %k.kid, error = %e, "ignoring unreadable signing key")
                }
            }
        }
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = keys;
    }

    /// Verifies a token's signature and claims.
    pub fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        let invalid = |why: &str| VerifyError::Invalid(ServiceError::unauthenticated(why.to_owned()));
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("malformed access token"))?;
        if header.alg != Algorithm::EdDSA {
            return Err(invalid("access token algorithm not accepted"));
        }
        let kid = header.kid.ok_or_else(|| invalid("access token has no key id"))?;
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        let key = keys
            .get(&kid)
            .ok_or_else(|| VerifyError::UnknownKey(kid.clone()))?;
        match jsonwebtoken::decode::<Claims>(token, key, &self.validation) {
            Ok(data) => {
                let now = crate::time::now_ms() / 1000;
                match self.limits.refusal(data.claims.iat, data.claims.exp, now) {
                    Some(why) => Err(invalid(why)),
                    None => Ok(data.claims),
                }
            }
            Err(e) => {
                use jsonwebtoken::errors::ErrorKind;
                let why = match e.kind() {
                    ErrorKind::ExpiredSignature => "access token expired",
                    ErrorKind::ImmatureSignature => "access token not valid yet",
                    ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => {
                        "access token not issued for this platform"
                    }
                    _ => "invalid access token",
                };
                Err(invalid(why))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: TokenLimits = TokenLimits {
        max_lifetime: Duration::from_secs(600),
        leeway: Duration::from_secs(30),
    };

    #[test]
    fn iat_in_the_future_beyond_the_leeway_is_refused() {
        assert_eq!(LIMITS.refusal(1_030, 1_600, 1_000), None);
        assert_eq!(
            LIMITS.refusal(1_031, 1_600, 1_000),
            Some("access token issued in the future")
        );
    }

    #[test]
    fn a_lifetime_over_the_maximum_is_refused() {
        assert_eq!(LIMITS.refusal(1_000, 1_600, 1_000), None);
        assert_eq!(
            LIMITS.refusal(1_000, 1_601, 1_000),
            Some("access token lifetime exceeds the maximum")
        );
    }
}
