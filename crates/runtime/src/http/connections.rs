//! The bound on a process's open connections, and the cheap refusal of one past it.
//!
//! A server out of file descriptors cannot even accept a connection to refuse it: the kernel's
//! accept queue fills, clients wait out SYN retransmissions, and every answer, a 503 included,
//! comes seconds late (`benchmarks/README.md`, "Overload"). So the process keeps a quarter of
//! its open-files limit for everything else (database pools, outgoing calls, files) and serves
//! at most the rest as connections; one more is accepted and answered at once with a fixed
//! `503` + `Retry-After: 1` + `connection: close`, its request never read or parsed. Stopping
//! accepting instead (backpressure) was not taken: it is the slow failure above. See ADR 0009.

use std::sync::{Arc, LazyLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Connections refused at the same time at most; one past these is closed without an answer,
/// so that refusing cannot itself run the process out of descriptors.
const REFUSING_AT_ONCE: usize = 256;
/// How long a refused client has to take the answer before its socket is closed.
const REFUSAL_LINGER: Duration = Duration::from_millis(500);

/// The refusal, byte for byte: a problem document like every other error.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/problem+json\r\n\
retry-after: 1\r\n\
connection: close\r\n\
content-length: 153\r\n\
\r\n\
{\"type\":\"urn:mercato:problem:unavailable\",\"title\":\"Service unavailable\",\"status\":503,\
\"detail\":\"too many connections; retry shortly\",\"code\":\"unavailable\"}";

/// How many connections a process serves at once; a clone shares the count.
#[derive(Clone, Debug)]
pub struct ConnectionLimit {
    open: Arc<Semaphore>,
    refusing: Arc<Semaphore>,
}

impl ConnectionLimit {
    /// At most `max` connections at once.
    pub fn new(max: usize) -> ConnectionLimit {
        ConnectionLimit {
            open: Arc::new(Semaphore::new(max.max(1))),
            refusing: Arc::new(Semaphore::new(REFUSING_AT_ONCE)),
        }
    }

    /// This process's limit: three quarters of its open-files limit, which the first call
    /// raises to the hard limit (containers and shells often start at a soft 1,024).
    pub fn of_process() -> ConnectionLimit {
        static MAX: LazyLock<usize> = LazyLock::new(|| connections_for(raise_open_files_limit()));
        ConnectionLimit::new(*MAX)
    }

    /// A slot for a connection just accepted, or `None` when every slot is taken.
    pub(super) fn admit(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.open).try_acquire_owned().ok()
    }

    /// Answers `stream` with the refusal and closes it, without reading its request.
    pub(super) fn refuse(&self, stream: TcpStream) {
        let Ok(refusing) = Arc::clone(&self.refusing).try_acquire_owned() else {
            return drop(stream);
        };
        tokio::spawn(async move {
            let _refusing = refusing;
            refuse(stream).await;
        });
    }
}

/// Writes the refusal, then reads and discards what the client sent until it closes (or
/// [`REFUSAL_LINGER`]): closing a socket with unread bytes resets it, and a reset may reach the
/// client before the answer does.
async fn refuse(mut stream: TcpStream) {
    let refused = async {
        stream.write_all(REFUSAL).await?;
        stream.shutdown().await?;
        let mut discard = [0u8; 4096];
        while stream.read(&mut discard).await? > 0 {}
        std::io::Result::Ok(())
    };
    let _ = tokio::time::timeout(REFUSAL_LINGER, refused).await;
}

/// The connections a process with `open_files` descriptors serves: a quarter is kept for
/// everything else, and the refusals in flight.
fn connections_for(open_files: u64) -> usize {
    let files = usize::try_from(open_files).unwrap_or(usize::MAX);
    (files / 4 * 3).saturating_sub(REFUSING_AT_ONCE).max(64)
}

/// Raises the soft limit on open files to the hard limit; returns the limit in force.
fn raise_open_files_limit() -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let (current, hard) = (limit.current, limit.maximum);
    if current != hard {
        match setrlimit(
            Resource::Nofile,
            Rlimit {
                current: hard,
                maximum: hard,
            },
        ) {
            Ok(()) => tracing::info!(from = ?current, to = ?hard, "raised the open-files limit"),
            Err(e) => tracing::warn!(?current, "open-files limit not raised: {e}"),
        }
    }
    // Unlimited (None) is treated as a generous finite number.
    getrlimit(Resource::Nofile).current.unwrap_or(1 << 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_is_a_well_formed_problem() {
        let text = std::str::from_utf8(REFUSAL).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(problem["status"], 503);
        assert_eq!(problem["code"], "unavailable");
    }

    #[test]
    fn a_quarter_of_the_descriptors_is_kept_for_everything_else() {
        assert_eq!(connections_for(20_000), 15_000 - REFUSING_AT_ONCE);
        assert_eq!(connections_for(1_024), 768 - REFUSING_AT_ONCE);
        assert_eq!(connections_for(100), 64, "never fewer than 64");
    }

    #[test]
    fn the_soft_open_files_limit_is_raised_to_the_hard_one() {
        let in_force = raise_open_files_limit();
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        assert_eq!(limit.current, limit.maximum);
        assert_eq!(Some(in_force), limit.current.or(Some(1 << 20)));
    }
}
