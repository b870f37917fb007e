//! A lean WebSocket client for the real-time benchmarks (tens of thousands of these live in one
//! process, so buffers are small), plus the clock and memory readings the reports need.

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// An open connection to `/v1/realtime`.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long opening a connection, or any awaited reply, may take.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);
/// The header the realtime replicas of the local cluster require from callers.
const INTERNAL_TOKEN_HEADER: &str = "x-mercato-internal-token";

/// Where connections go: a base URL (`http://host:port`) and the internal token a realtime
/// replica of the distributed topology asks for (gateways and the embedded server ask none).
#[derive(Clone, Debug)]
pub struct Target {
    pub base: String,
    pub internal_token: Option<String>,
}

impl Target {
    /// Targets for base URLs, all with the same internal token (if any).
    pub fn all(bases: &[String], internal_token: Option<&str>) -> Vec<Target> {
        bases
            .iter()
            .map(|b| Target {
                base: b.trim_end_matches('/').to_owned(),
                internal_token: internal_token.map(str::to_owned),
            })
            .collect()
    }
}

/// Opens a connection and waits for the server's `connected` greeting; with a token, then
/// authenticates with a `connect` frame.
pub async fn open(target: &Target, token: Option<&str>) -> anyhow::Result<Ws> {
    open_from(target, token, None).await
}

/// Like `open`, from the given local address when the server is an IP literal. Loopback
/// benchmarks spread their connections over many source addresses: the kernel's search for a
/// free ephemeral port grows with the ports in use on one address, and with 20,000 connections
/// from 127.0.0.1 that search, not the server, dominated opening time.
pub async fn open_from(target: &Target, token: Option<&str>, source: Option<IpAddr>) -> anyhow::Result<Ws> {
    let url = format!("{}/v1/realtime", target.base.replacen("http", "ws", 1));
    let mut request = url.as_str().into_client_request()?;
    if let Some(t) = &target.internal_token {
        request.headers_mut().insert(INTERNAL_TOKEN_HEADER, t.parse()?);
    }
    // The server's frames are small; the default 128 KiB read buffer per connection would
    // make the clients, not the server, the memory bound of this machine.
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0);
    let handshake = async {
        match (source, server_address(&target.base)) {
            (Some(source), Some(server)) => {
                let stream = connect_tcp(source, server).await?;
                let plain = MaybeTlsStream::Plain(stream);
                Ok(tokio_tungstenite::client_async_with_config(request, plain, Some(config)).await?)
            }
            _ => tokio_tungstenite::connect_async_with_config(request, Some(config), true)
                .await
                .map_err(anyhow::Error::from),
        }
    };
    let (mut ws, _) = tokio::time::timeout(REPLY_TIMEOUT, handshake)
        .await
        .with_context(|| format!("opening {url} timed out"))?
        .with_context(|| format!("opening {url}"))?;
    let hello = next_json(&mut ws).await?;
    anyhow::ensure!(hello["type"] == "connected", "unexpected greeting: {hello}");
    if let Some(token) = token {
        let frame = serde_json::json!({"type": "connect", "id": 0, "v": 1, "token": token});
        request_reply(&mut ws, frame, "connected").await?;
    }
    Ok(ws)
}

/// The server's socket address when its URL names an IP literal.
fn server_address(base: &str) -> Option<SocketAddr> {
    let url = reqwest::Url::parse(base).ok()?;
    let ip: IpAddr = url.host_str()?.trim_matches(['[', ']']).parse().ok()?;
    Some(SocketAddr::new(ip, url.port_or_known_default()?))
}

/// A TCP connection from `source` (any port) to `server`, without Nagle's delay.
async fn connect_tcp(source: IpAddr, server: SocketAddr) -> anyhow::Result<TcpStream> {
    let socket = match source {
        IpAddr::V4(_) => TcpSocket::new_v4()?,
        IpAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket
        .bind(SocketAddr::new(source, 0))
        .with_context(|| format!("binding {source}"))?;
    let stream = socket.connect(server).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// A loopback source address for the n-th connection of a fleet: a thousand per address.
pub fn loopback_source(n: usize) -> IpAddr {
    let k = n / 1000;
    IpAddr::V4(Ipv4Addr::new(127, 1, (k / 250) as u8, (k % 250 + 1) as u8))
}

/// Sends a request (which must carry an `id`) and returns its reply of type `expect`; an
/// `error` frame, or a reply of another type, is an error.
pub async fn request_reply(ws: &mut Ws, frame: Value, expect: &str) -> anyhow::Result<Value> {
    let id = frame["id"].clone();
    send(ws, &frame).await?;
    loop {
        let reply = next_json(ws).await?;
        if reply["id"] != id {
            continue;
        }
        anyhow::ensure!(reply["type"] == expect, "{frame} was answered with {reply}");
        return Ok(reply);
    }
}

/// Subscribes to `channel`.
pub async fn subscribe(ws: &mut Ws, channel: &str) -> anyhow::Result<()> {
    let frame = serde_json::json!({"type": "subscribe", "id": 1, "channel": channel});
    request_reply(ws, frame, "subscribed").await.map(|_| ())
}

/// Sends one JSON frame.
pub async fn send(ws: &mut Ws, frame: &Value) -> anyhow::Result<()> {
    ws.send(Message::Text(frame.to_string().into()))
        .await
        .context("sending a frame")
}

/// The next text frame as JSON, skipping control frames.
pub async fn next_json(ws: &mut Ws) -> anyhow::Result<Value> {
    loop {
        let next = tokio::time::timeout(REPLY_TIMEOUT, ws.next())
            .await
            .context("no frame from the server in time")?;
        match next {
            Some(Ok(Message::Text(t))) => return Ok(serde_json::from_str(t.as_str())?),
            Some(Ok(Message::Close(frame))) => anyhow::bail!("the server closed: {frame:?}"),
            Some(Err(e)) => return Err(e).context("reading a frame"),
            None => anyhow::bail!("the connection ended"),
            Some(Ok(_)) => continue,
        }
    }
}

/// Microseconds since the Unix epoch. Processes of the same machine share this clock, which is
/// what lets a coordinator compare its send instant with the receive instants of its workers.
pub fn epoch_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Resident memory of a process, in KiB, from `/proc/<pid>/status`.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    proc_kib(&format!("/proc/{pid}/status"), "VmRSS:")
}

/// CPU time a process has used, in milliseconds: (user, system), from `/proc/<pid>/stat`
/// (clock ticks of 10 ms: Linux reports them at USER_HZ = 100).
pub fn cpu_ms(pid: u32) -> anyhow::Result<Cpu> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // The command name, in parentheses, may hold spaces: count fields after it.
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => Ok(Cpu {
            user_ms: user * 10,
            system_ms: system * 10,
        }),
        _ => anyhow::bail!("unexpected {path}: {stat}"),
    }
}

/// CPU milliseconds in user space and in the kernel (for loopback TCP, the kernel time of the
/// sender includes delivering into the receiver's socket).
#[derive(Clone, Copy, Debug, Default)]
pub struct Cpu {
    pub user_ms: u64,
    pub system_ms: u64,
}

impl Cpu {
    pub fn total_ms(self) -> u64 {
        self.user_ms + self.system_ms
    }

    /// What was used since `earlier`.
    pub fn since(self, earlier: Cpu) -> Cpu {
        Cpu {
            user_ms: self.user_ms.saturating_sub(earlier.user_ms),
            system_ms: self.system_ms.saturating_sub(earlier.system_ms),
        }
    }
}

/// Summed CPU time of several processes (those that cannot be read count nothing).
pub fn total_cpu(pids: &[u32]) -> Cpu {
    pids.iter()
        .filter_map(|p| cpu_ms(*p).ok())
        .fold(Cpu::default(), |a, b| Cpu {
            user_ms: a.user_ms + b.user_ms,
            system_ms: a.system_ms + b.system_ms,
        })
}

/// The kernel's slab memory on this machine, in KiB (`/proc/meminfo`): where socket structures
/// live, outside every process's resident memory. 0 when unreadable.
pub fn slab_kib() -> u64 {
    proc_kib("/proc/meminfo", "Slab:").unwrap_or(0)
}

/// A `Name:   123 kB` line of a `/proc` file, in KiB.
fn proc_kib(path: &str, field: &str) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no {field} in {path}"))
}

/// Resident memory of this process, in KiB (0 when unreadable).
pub fn own_rss_kib() -> u64 {
    rss_kib(std::process::id()).unwrap_or(0)
}
