//! A real SMTP server for tests: `scripts/smtp-test-server.py` (`aiosmtpd`), which stores every
//! message it accepts (the raw `.eml` and a `.json` summary: envelope, headers, text and HTML
//! parts) and can be told to answer 451 to the first recipients or 550 to given addresses.
//!
//! The Python comes from `MERCATO_TEST_PYTHON`, else a `python3` that can import `aiosmtpd`;
//! with neither, [`SmtpServer::start`] says why and returns `None` (the test passes without
//! running) unless `MERCATO_TEST_REQUIRE_PYTHON=1`, which makes it a failure (see
//! [`super::webhook_receiver::test_python`]).

use super::webhook_receiver::test_python;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One message the server accepted.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct ReceivedMail {
    /// The envelope's sender and recipients.
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// The `From`, `To` and `Subject` headers, decoded.
    pub from: String,
    pub to: String,
    pub subject: String,
    /// Every header, in order, decoded.
    pub headers: Vec<(String, String)>,
    /// The `text/plain` and `text/html` parts, decoded.
    pub text: String,
    pub html: String,
}

impl ReceivedMail {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The running server; killed when dropped.
pub struct SmtpServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl SmtpServer {
    /// Starts the server on a free port of 127.0.0.1, or `None` when no Python can run it.
    pub fn start() -> Option<SmtpServer> {
        let python = test_python(&["aiosmtpd"], "this SMTP test")?;
        let dir = std::env::temp_dir()
            .join("mercato-tests")
            .join(format!("smtp-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("SMTP server directory");
        let mut child = Command::new(python)
            .arg(script())
            .arg("--dir")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the SMTP test server starts");
        let port = read_port(&mut child);
        Some(SmtpServer { child, port, dir })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `notifications.smtp_url` that reaches it.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Answers 451 (try again later) to the next `n` recipients, counted from the start, and
    /// 550 (mailbox unavailable) to every address in `reject`.
    pub fn set_failures(&self, tempfail_first: u32, reject: &[&str]) {
        let control = serde_json::json!({ "tempfail_first": tempfail_first, "reject": reject });
        let temporary = self.dir.join("control.json.new");
        std::fs::write(&temporary, control.to_string()).expect("control written");
        std::fs::rename(&temporary, self.dir.join("control.json")).expect("control replaced");
    }

    /// Every message accepted so far, in arrival order.
    pub fn received(&self) -> Vec<ReceivedMail> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut names: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.ends_with("control.json"))
            .collect();
        names.sort();
        names
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .filter_map(|text| serde_json::from_str(&text).ok())
            .collect()
    }

    /// Answers 550 (sender rejected) to every `MAIL FROM`, or no longer.
    pub fn reject_sender(&self, on: bool) {
        let control = serde_json::json!({ "reject_sender": on });
        let temporary = self.dir.join("control.json.new");
        std::fs::write(&temporary, control.to_string()).expect("control written");
        std::fs::rename(&temporary, self.dir.join("control.json")).expect("control replaced");
    }

    /// The messages once `done` holds for them, or all of them after `timeout` (for the test's
    /// assertion to say what was missing).
    pub async fn wait_until(
        &self,
        timeout: Duration,
        done: impl Fn(&[ReceivedMail]) -> bool,
    ) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + timeout;
        loop {
            let mail = self.received();
            if done(&mail) || Instant::now() >= deadline {
                return mail;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `scripts/smtp-test-server.py` of this workspace.
fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/smtp-test-server.py")
}

/// The port from the server's first line, `PORT <n>`.
fn read_port(child: &mut Child) -> u16 {
    let stdout = child.stdout.take().expect("SMTP server's standard output");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the SMTP server says its port");
    line.trim()
        .strip_prefix("PORT ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("the SMTP server did not say its port: {line:?}"))
}
