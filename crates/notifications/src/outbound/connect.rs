//! Resolving a host, checking every address it resolved to, and connecting to a checked address
//! (never resolving twice, so a name cannot answer differently between check and connect).

use super::policy;
use super::{OutboundError, Reason};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use tokio::net::TcpStream;

/// Where a URL points: its host as written, its port, and whether TLS is spoken.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    pub https: bool,
    /// The host as the URL has it (a name, or an address literal without brackets).
    pub host: String,
    pub port: u16,
}

impl Origin {
    pub fn of(url: &url::Url) -> Result<Origin, OutboundError> {
        let host = match url.host() {
            Some(url::Host::Domain(name)) => name.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(OutboundError::refused("the URL has no host")),
        };
        let port = url
            .port_or_known_default()
            .ok_or_else(|| OutboundError::refused("the URL has no port"))?;
        Ok(Origin {
            https: url.scheme() == "https",
            host,
            port,
        })
    }
}

/// Resolves `origin`'s host (an address literal stands for itself) and checks every address;
/// one refused address refuses the whole name, since a resolver may hand out any of them.
pub async fn resolve_checked(origin: &Origin, allowed: &[IpNet]) -> Result<Vec<SocketAddr>, OutboundError> {
    let addrs: Vec<SocketAddr> = match origin.host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, origin.port)],
        Err(_) => tokio::net::lookup_host((origin.host.as_str(), origin.port))
            .await
            .map_err(|e| {
                OutboundError::Failed(Reason::private(
                    format!("DNS lookup of {} failed", origin.host),
                    format!("DNS lookup of {} failed: {e}", origin.host),
                ))
            })?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(OutboundError::failed(format!(
            "DNS lookup of {} failed",
            origin.host
        )));
    }
    for addr in &addrs {
        if let Some(why) = policy::refusal(addr.ip(), allowed) {
            return Err(OutboundError::Refused(refused_name(origin, &why)));
        }
    }
    Ok(addrs)
}

/// The refusal of a name: the owner learns only that it resolves somewhere deliveries may not
/// go (naming the address would make the platform's resolver an oracle for internal names).
fn refused_name(origin: &Origin, why: &str) -> Reason {
    if origin.host.parse::<IpAddr>().is_ok() {
        return Reason::public(why.to_owned());
    }
    Reason::private(
        format!("{} resolves to an address deliveries may not reach", origin.host),
        format!("{} resolves to {why}", origin.host),
    )
}

/// Connects to the first of `addrs` that answers (all of them already checked).
pub async fn connect_tcp(origin: &Origin, addrs: &[SocketAddr]) -> Result<TcpStream, OutboundError> {
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                // Deliveries are small requests answered quickly: do not wait to coalesce.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => {
                last = Some(Reason::private(
                    format!("connecting to {} failed: {e}", origin.host),
                    format!("connecting to {} ({addr}) failed: {e}", origin.host),
                ));
            }
        }
    }
    Err(OutboundError::Failed(last.unwrap_or_else(|| {
        Reason::public(format!("{} has no address to connect to", origin.host))
    })))
}
