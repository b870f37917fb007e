//! A real webhook receiver for tests: `scripts/webhook-test-receiver.py`, which verifies every
//! request with the Standard Webhooks Python library (`standardwebhooks`), records what arrived
//! and can be told to fail, hang or go down.
//!
//! The Python comes from `MERCATO_TEST_PYTHON` (`scripts/test-python.sh` prints it), else a
//! `python3` that can import the modules. With neither, [`WebhookReceiver::start`] says why on
//! standard error and returns `None` (the test passes without running) — unless
//! `MERCATO_TEST_REQUIRE_PYTHON=1` (CI sets it), which makes it a failure.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Python interpreter of the tests' venv (`scripts/test-python.sh`).
pub const TEST_PYTHON: &str = "MERCATO_TEST_PYTHON";
/// `1`: a test needing Python fails instead of passing without running when none is usable.
pub const TEST_REQUIRE_PYTHON: &str = "MERCATO_TEST_REQUIRE_PYTHON";

/// A Python that can import every one of `modules`: `MERCATO_TEST_PYTHON`, else `python3`.
/// `None` (said on standard error, naming `what` would not run) when there is none, or a panic
/// under `MERCATO_TEST_REQUIRE_PYTHON=1`.
pub fn test_python(modules: &[&str], what: &str) -> Option<PathBuf> {
    let configured = std::env::var_os(TEST_PYTHON).map(PathBuf::from);
    let candidates = configured.iter().cloned().chain([PathBuf::from("python3")]);
    let import = format!("import {}", modules.join(", "));
    for python in candidates {
        let imports = Command::new(&python)
            .args(["-c", &import])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if imports.is_ok_and(|s| s.success()) {
            return Some(python);
        }
    }
    let why = format!(
        "{what} needs a Python that can `{import}`: {TEST_PYTHON} is {configured:?} and python3 cannot \
         (`eval \"$(bash scripts/test-python.sh)\"` makes one)"
    );
    let required = std::env::var(TEST_REQUIRE_PYTHON).is_ok_and(|v| v.trim() == "1");
    assert!(!required, "{TEST_REQUIRE_PYTHON} is 1, but {why}");
    let _ = writeln!(std::io::stderr(), "note: passes without running: {why}");
    None
}

/// One request the receiver got.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Received {
    /// The `webhook-id` header.
    pub webhook_id: Option<String>,
    pub webhook_timestamp: Option<String>,
    /// The payload's `type`, e.g. `order.confirmed`.
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// Whether `Webhook(secret).verify(body, headers)` accepted it with one of the secrets.
    pub verified: bool,
    /// Why it was not verified.
    pub error: String,
    /// When it arrived, in Unix seconds.
    pub arrived_at: f64,
    /// The status the receiver answered.
    pub status: u16,
    pub path: String,
    /// The body, as JSON.
    pub payload: serde_json::Value,
}

/// The running receiver; killed when dropped.
pub struct WebhookReceiver {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl WebhookReceiver {
    /// Starts the receiver on a free port of 127.0.0.1, or `None` when no Python can run it (see
    /// the module's documentation).
    pub fn start() -> Option<WebhookReceiver> {
        let python = test_python(&["standardwebhooks"], "this webhook receiver test")?;
        let dir = std::env::temp_dir()
            .join("mercato-tests")
            .join(format!("webhook-receiver-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("receiver directory");
        let mut child = Command::new(python)
            .arg(script())
            .arg("--records")
            .arg(dir.join("records.jsonl"))
            .arg("--secrets")
            .arg(dir.join("secrets"))
            .arg("--control")
            .arg(dir.join("control"))
            .arg("--exit-with-stdin")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the webhook receiver starts");
        let port = read_port(&mut child);
        Some(WebhookReceiver { child, port, dir })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL to register as an endpoint (`http://127.0.0.1:<port>/hooks`).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks", self.port)
    }

    /// The secrets (`whsec_…`) requests are verified with; one of them must verify a request.
    pub fn set_secrets(&self, secrets: &[&str]) {
        let text: String = secrets.iter().map(|s| format!("{s}\n")).collect();
        let temporary = self.dir.join("secrets.new");
        std::fs::write(&temporary, text).expect("secrets written");
        std::fs::rename(&temporary, self.dir.join("secrets")).expect("secrets replaced");
    }

    /// The next `n` requests are answered `status`.
    pub fn fail_next(&self, n: u32, status: u16) {
        self.control(&format!("fail {n} {status}"));
    }

    /// Every request waits this long before it is answered (zero: no more).
    pub fn hang(&self, delay: Duration) {
        self.control(&format!("hang {}", delay.as_secs_f64()));
    }

    /// Closes the listening socket (connections are refused) and drops requests on open
    /// connections unanswered, or listens again on the same port.
    pub fn set_down(&self, down: bool) {
        self.control(if down { "down" } else { "up" });
    }

    /// Every request received so far, in arrival order.
    pub fn records(&self) -> Vec<Received> {
        let Ok(text) = std::fs::read_to_string(self.dir.join("records.jsonl")) else {
            return Vec::new();
        };
        text.lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// The records once `done` holds for them, or all of them after `timeout` (for the test's
    /// assertion to say what was missing).
    pub async fn wait_until(&self, timeout: Duration, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let records = self.records();
            if done(&records) || Instant::now() >= deadline {
                return records;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn control(&self, command: &str) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("control"))
            .expect("control file");
        writeln!(file, "{command}").expect("control written");
        drop(file);
        self.wait_applied();
    }

    /// Waits until the receiver says it applied every command written so far (it polls its
    /// control file every 50 ms and counts what it applied in `control.applied`).
    fn wait_applied(&self) {
        let written = std::fs::read_to_string(self.dir.join("control"))
            .map(|text| text.lines().count())
            .unwrap_or(0);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let applied: usize = std::fs::read_to_string(self.dir.join("control.applied"))
                .ok()
                .and_then(|text| text.trim().parse().ok())
                .unwrap_or(0);
            if applied >= written {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver did not apply its commands"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `scripts/webhook-test-receiver.py` of this workspace.
fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/webhook-test-receiver.py")
}

/// The port from the receiver's first line, `PORT <n>`.
fn read_port(child: &mut Child) -> u16 {
    let stdout = child.stdout.take().expect("receiver's standard output");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the receiver says its port");
    line.trim()
        .strip_prefix("PORT ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("the receiver did not say its port: {line:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use ring::hmac;

    /// A Standard Webhooks request signed with `secret`, as the specification defines it.
    async fn send(url: &str, secret: &str, id: &str, body: &str) -> Result<u16, std::io::Error> {
        let key = base64::engine::general_purpose::STANDARD
            .decode(secret.trim_start_matches("whsec_"))
            .unwrap();
        let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let signed = format!("{id}.{timestamp}.{body}");
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), signed.as_bytes());
        let signature = base64::engine::general_purpose::STANDARD.encode(tag.as_ref());
        let host = url.trim_start_matches("http://");
        let (authority, path) = host.split_at(host.find('/').unwrap_or(host.len()));
        let request = format!(
            "POST {path} HTTP/1.1\r\nhost: {authority}\r\ncontent-type: application/json\r\n\
             webhook-id: {id}\r\nwebhook-timestamp: {timestamp}\r\nwebhook-signature: v1,{signature}\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(authority).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await?;
        Ok(answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0))
    }

    #[tokio::test]
    async fn verifies_records_fails_and_goes_down_as_told() {
        let Some(receiver) = WebhookReceiver::start() else {
            return;
        };
        let secret = format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode([7u8; 32])
        );
        receiver.set_secrets(&[&secret]);
        let body = r#"{"type":"order.confirmed","timestamp":"2026-01-01T00:00:00Z","data":{}}"#;
        let url = receiver.url();
        assert_eq!(send(&url, &secret, "evt_1", body).await.unwrap(), 200);
        let other = format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode([8u8; 32])
        );
        assert_eq!(send(&url, &other, "evt_2", body).await.unwrap(), 401);
        receiver.fail_next(2, 500);
        assert_eq!(send(&url, &secret, "evt_3", body).await.unwrap(), 500);
        assert_eq!(send(&url, &secret, "evt_3", body).await.unwrap(), 500);
        assert_eq!(send(&url, &secret, "evt_3", body).await.unwrap(), 200);
        receiver.set_down(true);
        let while_down = send(&url, &secret, "evt_4", body).await;
        assert!(!matches!(while_down, Ok(200)), "{while_down:?}");
        receiver.set_down(false);
        assert_eq!(send(&url, &secret, "evt_5", body).await.unwrap(), 200);

        let records = receiver.records();
        let seen: Vec<_> = records
            .iter()
            .map(|r| (r.webhook_id.as_deref().unwrap_or(""), r.verified, r.status))
            .collect();
        assert_eq!(
            seen,
            [
                ("evt_1", true, 200),
                ("evt_2", false, 401),
                ("evt_3", true, 500),
                ("evt_3", true, 500),
                ("evt_3", true, 200),
                ("evt_5", true, 200),
            ]
        );
        assert_eq!(records[0].event_type.as_deref(), Some("order.confirmed"));
        assert!(records[1].error.contains("signature"), "{:?}", records[1]);
    }
}
