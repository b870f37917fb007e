//! Access tokens as the edge sees them: claims, roles, and a verifier with a fixed algorithm.
//!
//! Tokens are Ed25519-signed JWTs issued by the identity service. The verifier accepts only
//! `EdDSA`, checks `iss`, `aud` and `exp`, and picks the key by `kid` from the JWKS it was given.

use crate::error::ServiceError;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use mercato_proto::common::Role as ProtoRole;
use mercato_proto::identity::Jwks;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::RwLock;

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

/// Verifies access tokens against a set of public keys.
pub struct TokenVerifier {
    validation: Validation,
    keys: RwLock<HashMap<String, DecodingKey>>,
}

impl TokenVerifier {
    pub fn new(issuer: &str, audience: &str) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        TokenVerifier {
            validation,
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
            Ok(data) => Ok(data.claims),
            Err(e) => {
                use jsonwebtoken::errors::ErrorKind;
                let why = match e.kind() {
                    ErrorKind::ExpiredSignature => "access token expired",
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
