//! Verifying access tokens against the identity service's current signing keys.
//!
//! Keys are fetched from identity's JWKS at start-up and again when a token names a key this
//! process has not seen (identity may have added one), at most once per
//! [`JWKS_REFRESH_INTERVAL`], so that a stream of forged tokens cannot drive fetches. Keys are
//! also refetched once they are [`JWKS_MAX_AGE`] old, so that a key identity retired (dropped
//! from its JWKS after the last token it signed expired) stops being accepted here too.

use crate::auth::{Claims, TokenVerifier, VerifyError};
use crate::clients::identity::IdentityClient;
use crate::config::AuthSettings;
use crate::error::ServiceError;
use mercato_proto::identity::GetJwksRequest;
use std::time::{Duration, Instant};

/// The least time between two key fetches not forced by start-up.
pub const JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(5);

/// Keys fetched longer ago than this are fetched again before the next verification.
pub const JWKS_MAX_AGE: Duration = Duration::from_secs(10 * 60);

/// A token verifier that keeps its keys in step with identity.
pub struct KeyedVerifier {
    verifier: TokenVerifier,
    identity: IdentityClient,
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

impl KeyedVerifier {
    /// A verifier with the platform's ceiling as the longest token lifetime.
    pub fn new(issuer: &str, audience: &str, identity: IdentityClient) -> Self {
        Self::with_verifier(TokenVerifier::new(issuer, audience), identity)
    }

    /// A verifier of the tokens identity issues under these settings (their lifetime, leeway).
    pub fn for_settings(auth: &AuthSettings, identity: IdentityClient) -> Self {
        Self::with_verifier(TokenVerifier::for_settings(auth), identity)
    }

    fn with_verifier(verifier: TokenVerifier, identity: IdentityClient) -> Self {
        KeyedVerifier {
            verifier,
            identity,
            last_fetch: tokio::sync::Mutex::new(None),
        }
    }

    /// Refetches keys fetched longer than [`JWKS_MAX_AGE`] ago; a failed fetch keeps the keys
    /// held (identity may be restarting) and is retried at the next interval.
    async fn refresh_if_stale(&self) {
        let stale = self
            .last_fetch
            .try_lock()
            .is_ok_and(|last| last.is_some_and(|t| t.elapsed() >= JWKS_MAX_AGE));
        if stale && let Err(e) = self.refresh(false).await {
            tracing::warn!(error = %e, "refreshing the signing keys failed; keeping those held");
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
        self.refresh_if_stale().await;
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
