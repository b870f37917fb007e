//! A real local HTTP/1.1 server (hyper) for the tests, answering every request the same way
//! and counting the connections it accepted and the requests it served.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;

/// How the server answers.
#[derive(Clone, Debug)]
pub enum Answer {
    /// 200 with a short body.
    Ok,
    /// This status with a `Location` header.
    Redirect(u16, String),
    /// Nothing, for a minute.
    Hang,
    /// 200 with a body of this many bytes.
    Big(usize),
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    pub connections: Arc<AtomicUsize>,
    pub requests: Arc<AtomicUsize>,
    open: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Server {
    /// Starts a server on `ip`, port 0.
    pub async fn start(ip: &str, answer: Answer) -> Server {
        let listener = TcpListener::bind((ip, 0)).await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let open = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (accepted, served, serving) = (connections.clone(), requests.clone(), open.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                accepted.fetch_add(1, Ordering::SeqCst);
                let (answer, served) = (answer.clone(), served.clone());
                let service = service_fn(move |request: hyper::Request<Incoming>| {
                    let (answer, served) = (answer.clone(), served.clone());
                    async move {
                        // Read the whole request, as a receiver verifying a signature would.
                        let _ = request.into_body().collect().await;
                        served.fetch_add(1, Ordering::SeqCst);
                        Ok::<_, hyper::Error>(respond(answer).await)
                    }
                });
                let task =
                    tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
                serving.lock().expect("lock").push(task.abort_handle());
            }
        });
        Server {
            addr,
            connections,
            requests,
            open,
        }
    }

    /// Closes every connection accepted so far (as a receiver closing idle ones does).
    pub fn close_connections(&self) {
        for task in self.open.lock().expect("lock").drain(..) {
            task.abort();
        }
    }

    pub fn url(&self, path: &str) -> url::Url {
        format!("http://{}{path}", self.addr).parse().expect("url")
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn respond(answer: Answer) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from_static(b"ok")));
    match answer {
        Answer::Ok => {}
        Answer::Redirect(status, location) => {
            *response.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
            response
                .headers_mut()
                .insert(hyper::header::LOCATION, location.parse().expect("location"));
        }
        Answer::Hang => tokio::time::sleep(Duration::from_secs(60)).await,
        Answer::Big(len) => *response.body_mut() = Full::new(Bytes::from(vec![b'x'; len])),
    }
    response
}
