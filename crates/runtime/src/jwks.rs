//! Verifying access tokens against the identity service's current signing keys.
//!
//! Keys are fetched from identity's JWKS at start-up and again when a token names a key this
//! process has not seen (identity may have added one), at most once per
//! [`JWKS_REFRESH_INTERVAL`], so that a stream of forged tokens cannot drive fetches.

use crate::auth::{Claims, TokenVerifier, VerifyError};
use crate::clients::identity::IdentityClient;
use crate::error::ServiceError;
use mercato_proto::identity::GetJwksRequest;
use std::time::{Duration, Instant};

/// The least time between two key fetches not forced by start-up.
pub const JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(5);

/// A token verifier that keeps its keys in step with identity.
pub struct KeyedVerifier {
    verifier: TokenVerifier,
    identity: IdentityClient,
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

impl KeyedVerifier {
    pub fn new(issuer: &str, audience: &str, identity: IdentityClient) -> Self {
        KeyedVerifier {
            verifier: TokenVerifier::new(issuer, audience),
            identity,
            last_fetch: tokio::sync::Mutex::new(None),
        }
    }

    /// Fetches the signing keys, at most once per interval unless `force`d.
    pub async fn refresh(&self, force: bool) -> Result<(), ServiceError> {
        let mut last = self.last_fetch.lock().await;
        if !force && last.is_some_and(|t| t.elapsed() < JWKS_REFRESH_INTERVAL) {
            return Ok(());
        }
        *last = Some(Instant::now());
        let jwks = self.identity.get_jwks(GetJwksRequest {}).await?;
        self.verifier.set_keys(&jwks);
        Ok(())
    }

    /// The claims of a valid token signed with a key already known; never fetches.
    pub fn verify_known(&self, token: &str) -> Result<Claims, VerifyError> {
        self.verifier.verify(token)
    }

    /// The claims of a valid token; an unknown key triggers one (throttled) key fetch.
    pub async fn verify(&self, token: &str) -> Result<Claims, ServiceError> {
        match self.verifier.verify(token) {
            Ok(claims) => Ok(claims),
            Err(VerifyError::Invalid(e)) => Err(e),
            Err(VerifyError::UnknownKey(kid)) => {
                self.refresh(false).await?;
                match self.verifier.verify(token) {
                    Ok(claims) => Ok(claims),
                    Err(VerifyError::Invalid(e)) => Err(e),
                    Err(VerifyError::UnknownKey(_)) => {
                        tracing::debug!(kid, "token signed with an unknown key");
                        Err(ServiceError::unauthenticated("invalid access token"))
                    }
                }
            }
        }
    }
}
