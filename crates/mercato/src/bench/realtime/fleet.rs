//! The coordinator's side of the subscriber workers: spawns `mercato bench realtime subscribe`
//! processes (one process holds at most ~20,000 sockets on this machine), splits the
//! connections between them, and reads their JSON-line reports.

use super::worker::WorkerArgs;
use anyhow::Context;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;
use tokio::sync::mpsc;

/// Where the fleet's connections go and how many there are.
#[derive(clap::Args, Debug, Clone)]
pub struct FleetArgs {
    /// Base URLs of the servers to connect to (`http://host:port`); connections are spread over
    /// them in turn. Repeat for several realtime replicas.
    #[arg(long = "url", default_value = "http://127.0.0.1:8080")]
    pub urls: Vec<String>,
    /// Connections to open and hold.
    #[arg(long, short = 'n', default_value_t = 1000)]
    pub connections: usize,
    /// Connections per worker process; keep it under this process's open-file limit.
    #[arg(long, default_value_t = 19_000)]
    pub per_process: usize,
    /// Connections each worker opens at once.
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,
    /// File holding the internal token the cluster's realtime replicas require.
    #[arg(long)]
    pub internal_token_file: Option<std::path::PathBuf>,
}

/// What a worker reported once its connections were open.
#[derive(Debug, Default)]
pub struct Ready {
    pub ready: usize,
    pub failed: usize,
    /// Resident memory the workers grew by while opening their connections.
    pub rss_kib: u64,
    pub errors: Vec<String>,
}

/// The running workers; dropping the fleet ends them.
pub struct Fleet {
    workers: Vec<(Child, ChildStdin)>,
    /// (worker index, report line); `None` as the line when a worker's output ended.
    reports: mpsc::UnboundedReceiver<(usize, Option<Value>)>,
}

impl Fleet {
    /// Starts enough workers for `args.connections`, every one subscribing to `channels`.
    pub fn spawn(args: &FleetArgs, channels: &[String]) -> anyhow::Result<Fleet> {
        let exe = std::env::current_exe().context("locating the mercato binary")?;
        let (tx, reports) = mpsc::unbounded_channel();
        let mut workers = Vec::new();
        let per = args.per_process.max(1);
        for (index, offset) in (0..args.connections).step_by(per).enumerate() {
            let worker = WorkerArgs {
                urls: args.urls.clone(),
                channels: channels.to_vec(),
                count: per.min(args.connections - offset),
                offset,
                connect_concurrency: args.connect_concurrency,
                internal_token_file: args.internal_token_file.clone(),
            };
            workers.push(start(&exe, &worker, index, tx.clone())?);
        }
        Ok(Fleet { workers, reports })
    }

    /// Waits until every worker has opened its connections.
    pub async fn ready(&mut self, timeout: Duration) -> anyhow::Result<Ready> {
        let mut total = Ready::default();
        let lines = self.collect(timeout, |r| r.get("ready").is_some()).await?;
        for line in lines {
            total.ready += line["ready"].as_u64().unwrap_or(0) as usize;
            total.failed += line["failed"].as_u64().unwrap_or(0) as usize;
            total.rss_kib += line["rss_kib"].as_u64().unwrap_or(0);
            let errors = line["errors"].as_array().cloned().unwrap_or_default();
            total
                .errors
                .extend(errors.iter().filter_map(|e| e.as_str().map(str::to_owned)));
        }
        Ok(total)
    }

    /// Connections still open across the workers.
    pub async fn alive(&mut self) -> anyhow::Result<usize> {
        self.broadcast("status")?;
        let lines = self
            .collect(Duration::from_secs(30), |r| r.get("alive").is_some())
            .await?;
        let alive: u64 = lines.iter().map(|l| l["alive"].as_u64().unwrap_or(0)).sum();
        Ok(alive as usize)
    }

    /// Receive instants (epoch µs) of round `round` across the workers.
    pub async fn round(&mut self, round: i64, timeout: Duration) -> anyhow::Result<Vec<u64>> {
        let lines = self
            .collect(timeout, |r| r["round"].as_i64() == Some(round))
            .await?;
        let times = lines
            .iter()
            .flat_map(|l| l["times_us"].as_array().cloned().unwrap_or_default())
            .filter_map(|t| t.as_u64())
            .collect();
        Ok(times)
    }

    /// The workers' process ids.
    pub fn pids(&self) -> Vec<u32> {
        self.workers.iter().map(|(child, _)| child.id()).collect()
    }

    /// Sends a command line to every worker.
    fn broadcast(&mut self, command: &str) -> anyhow::Result<()> {
        for (_, stdin) in &mut self.workers {
            writeln!(stdin, "{command}").context("writing to a worker")?;
            stdin.flush().context("writing to a worker")?;
        }
        Ok(())
    }

    /// One report matching `wanted` from every worker; reports that do not match are skipped.
    async fn collect(
        &mut self,
        timeout: Duration,
        wanted: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Vec<Value>> {
        let mut got: Vec<Option<Value>> = vec![None; self.workers.len()];
        let deadline = tokio::time::Instant::now() + timeout;
        while got.iter().any(Option::is_none) {
            let next = tokio::time::timeout_at(deadline, self.reports.recv())
                .await
                .context("workers did not report in time")?;
            match next {
                Some((i, Some(report))) if wanted(&report) => got[i] = Some(report),
                Some((i, None)) => anyhow::bail!("worker {i} exited; see its stderr"),
                Some(_) => {}
                None => anyhow::bail!("every worker exited"),
            }
        }
        Ok(got.into_iter().flatten().collect())
    }
}

impl Drop for Fleet {
    /// Closing a worker's stdin ends it; waiting keeps no zombie behind.
    fn drop(&mut self) {
        for (mut child, stdin) in self.workers.drain(..) {
            drop(stdin);
            let _ = child.wait();
        }
    }
}

/// Spawns one worker and a thread that forwards its report lines.
fn start(
    exe: &std::path::Path,
    args: &WorkerArgs,
    index: usize,
    tx: mpsc::UnboundedSender<(usize, Option<Value>)>,
) -> anyhow::Result<(Child, ChildStdin)> {
    let mut command = Command::new(exe);
    command.args(["bench", "realtime", "subscribe"]);
    command.arg("--count").arg(args.count.to_string());
    command.arg("--offset").arg(args.offset.to_string());
    command
        .arg("--connect-concurrency")
        .arg(args.connect_concurrency.to_string());
    for url in &args.urls {
        command.arg("--url").arg(url);
    }
    for channel in &args.channels {
        command.arg("--channel").arg(channel);
    }
    if let Some(file) = &args.internal_token_file {
        command.arg("--internal-token-file").arg(file);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting a subscriber worker")?;
    let stdout = child.stdout.take().context("worker stdout")?;
    let stdin = child.stdin.take().context("worker stdin")?;
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Ok(report) = serde_json::from_str(&line) {
                let _ = tx.send((index, Some(report)));
            }
        }
        let _ = tx.send((index, None));
    });
    Ok((child, stdin))
}
