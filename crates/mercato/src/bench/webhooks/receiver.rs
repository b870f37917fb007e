//! The bench's receiver: bare hyper on 127.0.0.1 that verifies nothing, answers 200 and
//! records, per `webhook-id`, when it first arrived, how often, and which order it carried
//! (so one order arriving under two ids would show). One store's path can be made to hang,
//! and the whole receiver can go down (listener and connections closed) and come back on the
//! same port.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// What arrived.
#[derive(Default)]
pub struct Arrivals {
    /// `webhook-id` → (first arrival, times received).
    pub by_id: HashMap<String, (Instant, u32)>,
    /// Order id (`data.id`) → the `webhook-id`s it arrived under.
    pub ids_by_order: HashMap<String, HashSet<String>>,
    /// Requests answered in all.
    pub requests: u64,
}

/// A receiver's shared state.
#[derive(Default)]
struct State {
    arrivals: Mutex<Arrivals>,
    /// The path (`/<store>`) that hangs, and until when.
    hang: Mutex<Option<(String, Instant)>>,
}

/// A running receiver.
pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<State>,
    serving: Mutex<Option<JoinSet<()>>>,
}

impl Receiver {
    pub async fn start() -> anyhow::Result<Arc<Receiver>> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let receiver = Arc::new(Receiver {
            addr: listener.local_addr()?,
            state: Arc::new(State::default()),
            serving: Mutex::new(None),
        });
        receiver.serve(listener);
        Ok(receiver)
    }

    /// The URL store `store`'s endpoint is registered with.
    pub fn url(&self, store: &str) -> String {
        format!("http://{}/{store}", self.addr)
    }

    /// Makes `store`'s path hang (answer only after `hang`) from now for `hang`.
    pub fn hang(&self, store: &str, hang: Duration) {
        *lock(&self.state.hang) = Some((format!("/{store}"), Instant::now() + hang));
    }

    /// Closes the listener and every open connection.
    pub fn go_down(&self) {
        if let Some(mut tasks) = lock(&self.serving).take() {
            tasks.abort_all();
        }
    }

    /// Listens again on the same port.
    pub async fn come_up(&self) -> anyhow::Result<()> {
        let listener = TcpListener::bind(self.addr).await?;
        self.serve(listener);
        Ok(())
    }

    /// Runs `f` on what arrived so far.
    pub fn read<T>(&self, f: impl FnOnce(&Arrivals) -> T) -> T {
        f(&lock(&self.state.arrivals))
    }

    fn serve(&self, listener: TcpListener) {
        let mut tasks = JoinSet::new();
        let state = self.state.clone();
        tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                let service = service_fn(move |request| answer(state.clone(), request));
                connections.spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        *lock(&self.serving) = Some(tasks);
    }
}

async fn answer(
    state: Arc<State>,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, hyper::Error> {
    let path = request.uri().path().to_owned();
    let id = request
        .headers()
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = request.into_body().collect().await?.to_bytes();
    let hang_until = lock(&state.hang)
        .as_ref()
        .filter(|(p, until)| *p == path && *until > Instant::now())
        .map(|(_, until)| *until);
    if let Some(until) = hang_until {
        tokio::time::sleep_until(until.into()).await;
    }
    record(&state, id, &body);
    Ok(hyper::Response::new(Full::new(Bytes::from_static(b"ok"))))
}

fn record(state: &State, id: String, body: &[u8]) {
    let order = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["data"]["id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let now = Instant::now();
    let mut arrivals = lock(&state.arrivals);
    arrivals.requests += 1;
    arrivals.ids_by_order.entry(order).or_default().insert(id.clone());
    arrivals.by_id.entry(id).or_insert((now, 0)).1 += 1;
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
