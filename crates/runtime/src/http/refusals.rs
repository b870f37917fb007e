//! hyper's own refusals of request heads, sent as problem documents.
//!
//! hyper parses every HTTP/1 request head before any of our code sees the request. A head it
//! cannot parse it answers by itself, with a status, `content-length: 0` and no body, and then
//! closes the connection: 400 for a request line or header field it cannot read (a target of
//! raw bytes that are not ASCII), 414 for a target over the fixed ceiling of `http` (64 KiB),
//! 431 for more header fields than it reserves room for (100) or a head larger than its read
//! buffer (about 400 KiB). hyper has no hook for the body of that answer, so each connection's
//! IO is wrapped in [`ProblemRefusals`], which writes a problem document with the same status
//! (the code the rest of the API uses for it, and `connection: close`) in place of hyper's
//! bodiless one.
//!
//! Which bytes are hyper's refusal is not guessed from how they look. The server loop counts,
//! per connection, the exchanges hyper is in ([`Exchanges`]): one is open from the moment hyper
//! hands a request to the application until hyper has dropped its response's body (so has
//! encoded all of it) and has then flushed the connection (hyper flushes only once its write
//! buffer is empty, so the response is written). hyper writes a refusal only when it is not
//! writing a response, and writes nothing else of its own on an HTTP/1 connection with no
//! exchange open (a `100 Continue` belongs to an open exchange). So only a write made while no
//! exchange is open is looked at, and it is replaced only if it is also, whole, a bodiless
//! 400, 414 or 431 head such as hyper makes. Every response of the application — a 204, an
//! answer to `HEAD`, even a bare 400 it might make, or a body that happens to look like an HTTP
//! head — is written while its exchange is open, and passes untouched. HTTP/2 frames and
//! WebSocket frames never start with `HTTP/1.`, so they never match either.
//!
//! What stays bare: a refusal hyper writes in the same flush as the end of the response before
//! it (a malformed request pipelined behind a response still being sent). The exchange of that
//! response is still open, so the write is left alone.

use crate::error::{ErrorCode, ServiceError};
use hyper::body::{Body, Frame, SizeHint};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The exchanges (request handed over, response not yet written) open on one connection.
#[derive(Debug, Default)]
pub(super) struct Exchanges {
    /// Requests handed to the application whose responses may not all be written yet.
    open: AtomicUsize,
    /// Of those, the ones whose response hyper has encoded whole, awaiting the next flush.
    encoded: AtomicUsize,
}

impl Exchanges {
    /// Opens an exchange when hyper hands a request over; it is encoded when dropped.
    pub(super) fn begin(self: &Arc<Self>) -> Exchange {
        self.open.fetch_add(1, Ordering::SeqCst);
        Exchange(Arc::clone(self))
    }

    /// hyper flushed the connection, so every response it had encoded before is written.
    fn flushed(&self) {
        let encoded = self.encoded.swap(0, Ordering::SeqCst);
        if encoded > 0 {
            self.open.fetch_sub(encoded, Ordering::SeqCst);
        }
    }

    fn none_open(&self) -> bool {
        self.open.load(Ordering::SeqCst) == 0
    }
}

/// One request handed to the application. Travels with its response's body, so it ends when
/// hyper drops that body (or the request's future, if no response comes).
#[derive(Debug)]
pub(super) struct Exchange(Arc<Exchanges>);

impl Exchange {
    /// The response body, carrying this exchange until hyper drops it.
    pub(super) fn carried_by<B>(self, body: B) -> Carried<B> {
        Carried {
            body,
            _exchange: self,
        }
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        self.0.encoded.fetch_add(1, Ordering::SeqCst);
    }
}

/// A response body that ends its [`Exchange`] when dropped; otherwise the body itself.
#[derive(Debug)]
pub(super) struct Carried<B> {
    body: B,
    _exchange: Exchange,
}

impl<B: Body + Unpin> Body for Carried<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A connection's IO that sends hyper's bodiless refusals as problem documents.
#[derive(Debug)]
pub(super) struct ProblemRefusals<T> {
    io: T,
    exchanges: Arc<Exchanges>,
    /// The problem document sent instead of a refusal, and how much of it is sent.
    unsent: Option<(Vec<u8>, usize)>,
}

impl<T> ProblemRefusals<T> {
    pub(super) fn new(io: T, exchanges: Arc<Exchanges>) -> Self {
        ProblemRefusals {
            io,
            exchanges,
            unsent: None,
        }
    }
}

impl<T: AsyncWrite + Unpin> ProblemRefusals<T> {
    /// The problem document for `written`, when it is hyper's own refusal.
    fn replacement(&self, written: &[u8]) -> Option<Vec<u8>> {
        if self.unsent.is_some() || !self.exchanges.none_open() {
            return None;
        }
        problem_for_refusal(written)
    }

    fn poll_send_problem(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, sent)) = &mut self.unsent {
            if *sent == bytes.len() {
                break;
            }
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &bytes[*sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *sent += n;
        }
        Poll::Ready(Ok(()))
    }

    /// Takes `len` bytes of hyper's (its refusal) and starts sending `problem` instead; what the
    /// socket does not take now goes on the flush hyper makes next.
    fn substitute(&mut self, cx: &mut Context<'_>, problem: Vec<u8>, len: usize) -> Poll<io::Result<usize>> {
        self.unsent = Some((problem, 0));
        match self.poll_send_problem(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            _ => Poll::Ready(Ok(len)),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ProblemRefusals<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ProblemRefusals<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_send_problem(cx))?;
        if let Some(problem) = this.replacement(buf) {
            return this.substitute(cx, problem, buf.len());
        }
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_send_problem(cx))?;
        // hyper's refusal is a head alone: one slice.
        let mut filled = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(only), None) = (filled.next(), filled.next())
            && let Some(problem) = this.replacement(only)
        {
            return this.substitute(cx, problem, only.len());
        }
        Pin::new(&mut this.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_send_problem(cx))?;
        ready!(Pin::new(&mut this.io).poll_flush(cx))?;
        this.exchanges.flushed();
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_send_problem(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// Longer than any refusal hyper writes (a status line, `connection`, `content-length`, `date`).
const MAX_REFUSAL_BYTES: usize = 256;

/// The problem document (a whole HTTP/1 response) to send instead of `head`, when `head` is a
/// bodiless refusal as hyper makes them: a 400, 414 or 431 status line and only the header
/// fields `content-length: 0`, `date` and `connection`.
fn problem_for_refusal(head: &[u8]) -> Option<Vec<u8>> {
    // hyper's refusal is about a hundred bytes; other writes (WebSocket or HTTP/2 frames on
    // connections with no exchange open) are told apart without reading them through.
    if head.len() > MAX_REFUSAL_BYTES || !head.starts_with(b"HTTP/1.") {
        return None;
    }
    let head = std::str::from_utf8(head).ok()?.strip_suffix("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let (version, status) = status_line.split_once(' ')?;
    if !matches!(version, "HTTP/1.1" | "HTTP/1.0") {
        return None;
    }
    let (code, detail) = match status.split_once(' ').map_or(status, |(code, _)| code) {
        "400" => (
            ErrorCode::InvalidRequest,
            "the request line or a header field could not be parsed",
        ),
        "414" => (
            ErrorCode::UriTooLong,
            "the request target is longer than this server reads",
        ),
        "431" => (
            ErrorCode::HeadersTooLarge,
            "the request carries more header fields, or more bytes of them, than this server reads",
        ),
        _ => return None,
    };
    let (mut empty, mut date) = (false, None);
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" if value == "0" => empty = true,
            "date" => date = Some(value),
            "connection" => {}
            _ => return None,
        }
    }
    if !empty {
        return None;
    }
    let body = super::problem_json(&ServiceError::new(code, detail));
    let mut response = format!(
        "{status_line}\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    if let Some(date) = date {
        response.push_str(&format!("date: {date}\r\n"));
    }
    response.push_str("\r\n");
    let mut response = response.into_bytes();
    response.extend_from_slice(&body);
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &str = "date: Tue, 01 Jul 2025 10:00:00 GMT";

    fn body_of(response: &[u8]) -> serde_json::Value {
        let text = std::str::from_utf8(response).unwrap();
        let (_, body) = text.split_once("\r\n\r\n").unwrap();
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn each_bodiless_refusal_of_hyper_becomes_a_problem_with_its_status_and_code() {
        for (status, code) in [
            ("400 Bad Request", "invalid_request"),
            ("414 URI Too Long", "uri_too_long"),
            ("431 Request Header Fields Too Large", "headers_too_large"),
        ] {
            let head =
                format!("HTTP/1.1 {status}\r\nconnection: close\r\ncontent-length: 0\r\n{DATE}\r\n\r\n");
            let problem = problem_for_refusal(head.as_bytes()).expect(status);
            let text = String::from_utf8(problem.clone()).unwrap();
            assert!(text.starts_with(&format!("HTTP/1.1 {status}\r\n")), "{text}");
            assert!(
                text.contains("\r\ncontent-type: application/problem+json\r\n"),
                "{text}"
            );
            assert!(text.contains("\r\nconnection: close\r\n"), "{text}");
            assert!(text.contains(&format!("\r\n{DATE}\r\n")), "{text}");
            let body = body_of(&problem);
            assert_eq!(body["code"], code);
            assert_eq!(body["status"], status[..3].parse::<u16>().unwrap());
            assert_eq!(body["type"], format!("urn:mercato:problem:{code}"));
            let length = format!("content-length: {}\r\n", serde_json::to_vec(&body).unwrap().len());
            assert!(text.contains(&length), "{text}");
        }
    }

    #[test]
    fn anything_but_a_bodiless_400_414_or_431_head_is_not_a_refusal() {
        for written in [
            // Other statuses, among them answers without a body.
            format!("HTTP/1.1 204 No Content\r\n{DATE}\r\n\r\n"),
            format!("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n{DATE}\r\n\r\n"),
            // A 400 with a body, or any other header field.
            format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n{DATE}\r\n\r\n{{}}"),
            format!(
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\ncontent-length: 0\r\n{DATE}\r\n\r\n"
            ),
            format!("HTTP/1.1 431 Request Header Fields Too Large\r\n{DATE}\r\n\r\n"),
            // Not a whole head, or not HTTP/1.
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n".to_owned(),
            "\0\0\x04\x08\0\0\0\0\0".to_owned(),
            "HTTP/2 400\r\ncontent-length: 0\r\n\r\n".to_owned(),
        ] {
            assert!(problem_for_refusal(written.as_bytes()).is_none(), "{written:?}");
        }
    }

    #[test]
    fn an_exchange_stays_open_until_a_flush_after_its_response_was_encoded() {
        let exchanges = Arc::new(Exchanges::default());
        let exchange = exchanges.begin();
        exchanges.flushed();
        assert!(
            !exchanges.none_open(),
            "flushed while the response is being written"
        );
        let body = exchange.carried_by(());
        assert!(!exchanges.none_open());
        drop(body);
        assert!(!exchanges.none_open(), "encoded, but maybe not yet written");
        exchanges.flushed();
        assert!(exchanges.none_open());
    }
}
