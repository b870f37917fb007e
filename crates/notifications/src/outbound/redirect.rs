//! Whether a response is a redirect to follow, and where to.
//!
//! A webhook is a POST that must arrive as one: only 307 and 308 (which keep the method and the
//! body) are followed, and only when the operator allowed redirects; 301, 302 and 303 (which
//! clients turn into a GET) are returned as they are, a failed delivery. Each target is checked
//! like the first URL (its scheme here, its addresses when connecting).

use super::OutboundError;
use super::policy;

/// What to do after a response.
pub enum Next {
    /// Return this response.
    Done,
    /// Send the request again to this URL.
    Follow(url::Url),
}

/// Decides on a response with `status` and `location` to a request for `url`, after `hops`
/// redirects followed out of `max`.
pub fn next(
    url: &url::Url,
    status: u16,
    location: Option<&str>,
    hops: u32,
    max: u32,
    allow_http: bool,
) -> Result<Next, OutboundError> {
    if !matches!(status, 307 | 308) || hops >= max {
        return Ok(Next::Done);
    }
    let Some(target) = location.and_then(|l| url.join(l).ok()) else {
        return Ok(Next::Done);
    };
    policy::check_url_shape(&target, allow_http)
        .map_err(|why| OutboundError::refused(format!("redirect to {target}: {why}")))?;
    Ok(Next::Follow(target))
}
