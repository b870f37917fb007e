//! The client's answer, copied for the shadow comparison as it streams to the client: the
//! primary side is asked once for the client and once more for the noise baseline, not a third
//! time for a copy of what the client already got (Diffy's primary, secondary and candidate).

use axum::body::{Body, Bytes};
use axum::response::Response;
use futures::StreamExt;
use tokio::sync::oneshot;

/// The status and the whole body the client was sent; never sent when the body was longer than
/// the limit, failed, or was not read to its end (the client went away).
pub type Copied = oneshot::Receiver<(u16, Bytes)>;

/// `response` unchanged for the client, and its copy once the client has read it all.
pub fn tee(response: Response, limit: usize) -> (Response, Copied) {
    let (sender, copied) = oneshot::channel();
    let status = response.status().as_u16();
    let (parts, body) = response.into_parts();
    let mut copy = Copy {
        kept: Vec::new(),
        limit,
        sender: Some(sender),
        status,
    };
    let mut data = body.into_data_stream();
    let chunks = futures::stream::poll_fn(move |cx| {
        let next = std::task::ready!(data.poll_next_unpin(cx));
        match &next {
            Some(Ok(bytes)) => copy.keep(bytes),
            Some(Err(_)) => copy.give_up(),
            None => copy.finish(),
        }
        std::task::Poll::Ready(next)
    });
    (Response::from_parts(parts, Body::from_stream(chunks)), copied)
}

/// What is kept of the body so far, and where it goes at its end.
struct Copy {
    kept: Vec<u8>,
    limit: usize,
    sender: Option<oneshot::Sender<(u16, Bytes)>>,
    status: u16,
}

impl Copy {
    fn keep(&mut self, bytes: &Bytes) {
        if self.sender.is_some() && self.kept.len() + bytes.len() <= self.limit {
            self.kept.extend_from_slice(bytes);
        } else {
            self.give_up();
        }
    }

    fn finish(&mut self) {
        if let Some(sender) = self.sender.take() {
            let _ = sender.send((self.status, Bytes::from(std::mem::take(&mut self.kept))));
        }
    }

    fn give_up(&mut self) {
        self.sender = None;
        self.kept = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn streamed(chunks: Vec<&'static str>) -> Response {
        let stream = futures::stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok::<_, std::io::Error>(Bytes::from(c))),
        );
        Response::new(Body::from_stream(stream))
    }

    #[tokio::test]
    async fn the_client_gets_the_body_and_the_copy_is_the_same() {
        let (response, copied) = tee(streamed(vec!["{\"a\":", "1}"]), 1024);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"{\"a\":1}");
        assert_eq!(copied.await.unwrap(), (200, Bytes::from_static(b"{\"a\":1}")));
    }

    #[tokio::test]
    async fn a_body_over_the_limit_or_not_read_to_its_end_is_not_copied() {
        let (response, copied) = tee(streamed(vec!["12345", "67890"]), 8);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"1234567890");
        assert!(copied.await.is_err());
        let (response, copied) = tee(streamed(vec!["12", "34"]), 8);
        drop(response);
        assert!(copied.await.is_err());
    }
}
