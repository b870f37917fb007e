//! The one HTTP client that leaves the platform (webhook deliveries).
//!
//! TODO(outbound helper): `https` only unless `allow_http`; every address a name resolves to
//! checked before connecting (loopback, private, link-local, metadata, and other non-public
//! ranges refused unless in `allowed_ranges`), connecting to the checked address only (no second
//! resolution); redirects not followed unless `max_redirects`, each target checked the same way;
//! connect and total timeouts; at most `max_response_bytes` read; keep-alive connections pooled
//! per checked address.

use mercato_runtime::config::WebhookSettings;
use std::time::Duration;

/// A POST to send.
#[derive(Clone, Debug)]
pub struct OutboundRequest {
    pub url: url::Url,
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    pub body: bytes_body::Body,
}

/// Bodies are shared between attempts without copying.
pub mod bytes_body {
    pub type Body = std::sync::Arc<[u8]>;
}

/// What came back.
#[derive(Clone, Debug)]
pub struct OutboundResponse {
    pub status: u16,
    /// The first bytes of the body (at most `max_response_bytes`).
    pub body: Vec<u8>,
    pub took: Duration,
}

/// Why no response came.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// The URL or an address it resolved to is not allowed (a permanent refusal).
    #[error("refused: {0}")]
    Refused(String),
    /// DNS, connecting, TLS, a timeout or a broken response: worth retrying.
    #[error("{0}")]
    Failed(String),
}

/// The outbound client.
pub struct Outbound {
    settings: WebhookSettings,
}

impl Outbound {
    pub fn new(settings: &WebhookSettings) -> anyhow::Result<Self> {
        Ok(Outbound {
            settings: settings.clone(),
        })
    }

    /// Whether `url` may be registered: its scheme (https, or http when allowed) and, if it is
    /// an address literal, that address. Names are checked again at every delivery.
    pub fn check_url(&self, url: &url::Url) -> Result<(), OutboundError> {
        let _ = (&self.settings, url);
        Err(OutboundError::Refused(
            "outbound requests are not built yet".to_owned(),
        ))
    }

    /// Sends `request`.
    pub async fn post(&self, request: &OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        let _ = request;
        Err(OutboundError::Refused(
            "outbound requests are not built yet".to_owned(),
        ))
    }
}
