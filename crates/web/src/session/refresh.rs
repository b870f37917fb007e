//! Refreshing an access token about to expire with the rotating refresh token.
//!
//! Refresh tokens rotate, and presenting a used one revokes its whole family (reuse
//! detection). A page and its live connection, or two tabs, can ask at the same moment with the
//! same cookie; so this process refreshes one refresh token once and gives everyone who asks
//! within a short while the same new tokens, instead of revoking the session.

use super::{Session, Tokens};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;

/// An access token with less than this left is refreshed before it is used.
const MARGIN_SECS: u64 = 30;
/// How long the answer to one refresh token is given to later askers.
const SHARED_FOR: Duration = Duration::from_secs(30);

type Answers = HashMap<[u8; 32], (Instant, Option<Tokens>)>;

/// Recent refreshes, by the SHA-256 of the refresh token presented. The lock is held across the
/// call, so concurrent askers wait for the first one's answer.
static RECENT: LazyLock<Mutex<Answers>> = LazyLock::new(|| Mutex::new(HashMap::new()));

impl Session {
    /// Refreshes the access token when it is missing or about to expire and a refresh token is
    /// there; forgets the session when the refresh is refused.
    pub(super) async fn keep_fresh(&mut self) {
        let fresh = self
            .access
            .as_deref()
            .is_some_and(|t| seconds_left(t) > MARGIN_SECS);
        if fresh {
            return;
        }
        let Some(refresh) = self.refresh.clone() else {
            if self.access.is_some() {
                self.forget();
            }
            return;
        };
        match self.refreshed(&refresh).await {
            Some(Some(tokens)) => self.sign_in(&tokens),
            Some(None) => self.forget(),
            // Unavailable: keep the cookies for the next request; this one goes on with the
            // token it has (the API says whether it is still good).
            None => {}
        }
    }

    /// The new tokens, `Some(None)` when the refresh token was refused, `None` when the
    /// platform could not answer.
    async fn refreshed(&self, refresh: &str) -> Option<Option<Tokens>> {
        let key: [u8; 32] = Sha256::digest(refresh.as_bytes()).into();
        let mut recent = RECENT.lock().await;
        recent.retain(|_, (at, _)| at.elapsed() < SHARED_FOR);
        if let Some((_, answer)) = recent.get(&key) {
            return Some(answer.clone());
        }
        let answer = self
            .api()
            .post("/v1/oauth/token")
            .client(&self.client)
            .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
            .send::<Tokens>()
            .await;
        let answer = match answer {
            Ok(tokens) => Some(tokens),
            // Refused (expired, revoked, reused): the session is over.
            Err(e) if e.status.is_client_error() => None,
            Err(e) => {
                tracing::warn!(error = %e, "the access token could not be refreshed");
                return None;
            }
        };
        recent.insert(key, (Instant::now(), answer.clone()));
        Some(answer)
    }
}

/// The seconds before a JWT's `exp` (0 when it cannot be read). The token is not verified
/// here: the API verifies every token it is given; this only decides when to refresh.
fn seconds_left(token: &str) -> u64 {
    #[derive(serde::Deserialize)]
    struct Claims {
        exp: u64,
    }
    let exp = token
        .split('.')
        .nth(1)
        .and_then(|payload| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .ok()
        })
        .and_then(|json| serde_json::from_slice::<Claims>(&json).ok())
        .map_or(0, |c| c.exp);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    exp.saturating_sub(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tokens_remaining_lifetime_is_read_from_its_exp() {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let payload =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{}}}"#, now + 600));
        let left = seconds_left(&format!("h.{payload}.s"));
        assert!((598..=600).contains(&left), "{left}");
        assert_eq!(seconds_left("not a token"), 0);
    }
}
