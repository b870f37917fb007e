//! One attempt: the signed request (Standard Webhooks headers, the stored body unchanged) sent
//! through `outbound`, and what came of it.

use super::claim::Claimed;
use super::secrets;
use super::signature::{self, Signer};
use crate::outbound::{Outbound, OutboundError, OutboundRequest};
use http::{HeaderName, HeaderValue};
use mercato_runtime::kek::KeyEncryptionKey;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The longest response excerpt kept per attempt.
const EXCERPT: usize = 1024;

/// What one attempt came to.
#[derive(Clone, Debug)]
pub(crate) struct AttemptResult {
    pub delivery: Claimed,
    pub at_ms: i64,
    /// 0 when no response came.
    pub status_code: u16,
    pub took: Duration,
    /// Empty on success.
    pub error: String,
    pub excerpt: String,
    pub refused: bool,
}

impl AttemptResult {
    pub(crate) fn succeeded(&self) -> bool {
        (200..300).contains(&self.status_code)
    }

    /// The metrics label.
    pub(crate) fn outcome(&self) -> &'static str {
        match (self.succeeded(), self.refused) {
            (true, _) => "succeeded",
            (false, true) => "refused",
            (false, false) => "failed",
        }
    }
}

/// The signers of a claimed delivery: its current secret and, during an overlap, the previous.
pub(crate) fn signers(kek: &KeyEncryptionKey, d: &Claimed, now: i64) -> anyhow::Result<Vec<Signer>> {
    let mut signers = vec![secrets::open(
        kek,
        &d.endpoint_id,
        d.secret_generation,
        &d.secret_sealed,
    )?];
    if let Some(previous) = &d.previous_secret_sealed
        && d.previous_secret_expires_at > now
    {
        signers.push(secrets::open(
            kek,
            &d.endpoint_id,
            d.secret_generation - 1,
            previous,
        )?);
    }
    Ok(signers)
}

/// The request of one attempt at `now` (epoch ms).
pub(crate) fn request(
    d: &Claimed,
    signers: &[Signer],
    body: &Arc<[u8]>,
    now: i64,
) -> anyhow::Result<OutboundRequest> {
    let timestamp = now / 1000;
    let signature = signature::header(signers, &d.message_id, timestamp, body);
    let header = |name: &'static str, value: &str| -> anyhow::Result<(HeaderName, HeaderValue)> {
        Ok((HeaderName::from_static(name), HeaderValue::from_str(value)?))
    };
    Ok(OutboundRequest {
        url: url::Url::parse(&d.url)?,
        headers: vec![
            header("content-type", "application/json")?,
            header("user-agent", "Mercato-Webhooks/1")?,
            header("webhook-id", &d.message_id)?,
            header("webhook-timestamp", &timestamp.to_string())?,
            header("webhook-signature", &signature)?,
        ],
        body: body.clone(),
    })
}

/// Sends one attempt of `d` and says what came of it.
pub(crate) async fn attempt(
    outbound: &Outbound,
    kek: &KeyEncryptionKey,
    d: Claimed,
    body: Arc<[u8]>,
) -> AttemptResult {
    let at_ms = mercato_runtime::time::now_ms();
    let started = Instant::now();
    let prepared = signers(kek, &d, at_ms).and_then(|s| request(&d, &s, &body, at_ms));
    let request = match prepared {
        Ok(r) => r,
        Err(e) => {
            return failure(
                d,
                at_ms,
                started.elapsed(),
                format!("could not sign: {e:#}"),
                false,
            );
        }
    };
    match outbound.post(&request).await {
        Ok(response) => {
            let excerpt = excerpt(&response.body);
            let error = if (200..300).contains(&response.status) {
                String::new()
            } else {
                format!("HTTP {}", response.status)
            };
            AttemptResult {
                delivery: d,
                at_ms,
                status_code: response.status,
                took: response.took,
                error,
                excerpt,
                refused: false,
            }
        }
        Err(e) => {
            let refused = matches!(e, OutboundError::Refused(_));
            if refused {
                tracing::info!(delivery = %d.id, endpoint = %d.endpoint_id, error = %e, "webhook delivery refused");
            }
            failure(d, at_ms, started.elapsed(), e.to_string(), refused)
        }
    }
}

fn failure(delivery: Claimed, at_ms: i64, took: Duration, error: String, refused: bool) -> AttemptResult {
    AttemptResult {
        delivery,
        at_ms,
        status_code: 0,
        took,
        error,
        excerpt: String::new(),
        refused,
    }
}

/// The first 1 KiB of a response body as text (cut at a character boundary).
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT)]).into_owned();
    let mut end = text.len().min(EXCERPT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn excerpts_are_at_most_one_kibibyte() {
        let long = "é".repeat(2000);
        let e = super::excerpt(long.as_bytes());
        assert!(e.len() <= 1024 && e.chars().all(|c| c == 'é'));
        assert_eq!(super::excerpt(b"ok"), "ok");
    }
}
