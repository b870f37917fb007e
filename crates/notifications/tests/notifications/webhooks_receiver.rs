//! A small real HTTP/1.1 receiver for the webhook cases, on 127.0.0.1 and a free port: it
//! records every request (headers, body, arrival time) and answers as told (fail the next n
//! with a status, hang for a while). Keep-alive connections are served in a loop.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One request received.
#[derive(Clone, Debug)]
pub struct Request {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
    /// The status answered.
    pub status: u16,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
struct Behaviour {
    fail_next: u32,
    fail_status: u16,
    hang: Duration,
}

/// The receiver; stops when dropped.
pub struct Receiver {
    pub port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let behaviour = Arc::new(Mutex::new(Behaviour::default()));
        let (r, b) = (requests.clone(), behaviour.clone());
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (r, b) = (r.clone(), b.clone());
                tokio::spawn(async move {
                    let _ = serve(socket, r, b).await;
                });
            }
        });
        Receiver {
            port,
            requests,
            behaviour,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks", self.port)
    }

    /// The next `n` requests are answered `status`.
    pub fn fail_next(&self, n: u32, status: u16) {
        let mut b = self.behaviour.lock().unwrap();
        b.fail_next = n;
        b.fail_status = status;
    }

    /// Every request waits this long before its answer.
    pub fn hang(&self, delay: Duration) {
        self.behaviour.lock().unwrap().hang = delay;
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// The requests once there are at least `n`, or what came within `secs`.
    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<Request> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.requests();
            if got.len() >= n || Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn serve(
    socket: tokio::net::TcpStream,
    requests: Arc<Mutex<Vec<Request>>>,
    behaviour: Arc<Mutex<Behaviour>>,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).await?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).await?;
        let at = Instant::now();
        let (status, hang) = {
            let mut b = behaviour.lock().unwrap();
            let status = if b.fail_next > 0 {
                b.fail_next -= 1;
                b.fail_status
            } else {
                200
            };
            (status, b.hang)
        };
        requests.lock().unwrap().push(Request {
            headers,
            body,
            at,
            status,
        });
        if !hang.is_zero() {
            tokio::time::sleep(hang).await;
        }
        let answer =
            format!("HTTP/1.1 {status} X\r\ncontent-type: text/plain\r\ncontent-length: 8\r\n\r\nreceived");
        write.write_all(answer.as_bytes()).await?;
    }
}
