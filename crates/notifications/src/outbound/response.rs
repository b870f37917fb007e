//! Reading a response body, at most a given number of bytes: the rest is never read.

use super::OutboundError;
use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};

/// The first bytes of a body, and whether that was all of it (only then may the connection
/// carry another request).
pub struct CappedBody {
    pub bytes: Vec<u8>,
    pub complete: bool,
}

/// Reads `body` until it ends or `cap` bytes were read.
pub async fn read_capped(mut body: Incoming, cap: usize) -> Result<CappedBody, OutboundError> {
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| OutboundError::failed(format!("reading the response failed: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let room = cap - bytes.len();
        if data.len() >= room {
            bytes.extend_from_slice(&data[..room]);
            // The body may have ended exactly here; only the body knows.
            let complete = data.len() == room && body.is_end_stream();
            return Ok(CappedBody { bytes, complete });
        }
        bytes.extend_from_slice(&data);
    }
    Ok(CappedBody {
        bytes,
        complete: true,
    })
}
