//! The strangler fig's settings (ADR 0016): where the routing file is that says, per store,
//! which paths go to the legacy shop and which to Mercato, and that file's shape.
//!
//! The routing file is TOML, owned by the operator (the legacy upstream is infrastructure: an
//! owner must never be able to point the gateway at an internal address):
//!
//! ```toml
//! [[stores]]
//! store = "acme"                       # the store's slug
//! legacy = "http://10.0.0.7:8080"      # the legacy shop (http), the operator's host
//! hosts = ["shop.acme.example"]        # requests for these hosts belong to this store
//!
//! [[stores.routes]]
//! prefix = "/product/"                 # longest matching prefix wins
//! to = "split"                         # legacy | mercato | split
//! percent = 25                         # with split: the share sent to Mercato, sticky per client
//! shadow = true                        # GET/HEAD also sent to the other side and compared
//! ignore = ["generated_at", "/meta/request_id"]  # field names, or JSON pointers
//! unordered = ["/variants"]            # arrays compared as multisets
//! ```

use figment::Figment;
use figment::providers::{Format, Toml};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// Off unless `routes_file` is set.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StranglerSettings {
    /// The routing file (TOML), re-read when it changes, without a restart.
    pub routes_file: Option<PathBuf>,
    /// How often the routing file is looked at (a change applies within this).
    #[serde(with = "humantime_serde")]
    pub reload_interval: Duration,
    /// How long a call to the legacy shop may take, response head included.
    #[serde(with = "humantime_serde")]
    pub upstream_timeout: Duration,
    /// Shadow comparisons running at once; beyond, a request is not shadowed (counted as
    /// skipped), so shadowing never queues behind itself.
    pub shadow_concurrency: usize,
    /// The largest body a shadow comparison reads from either side; larger: an error.
    pub shadow_body_limit_bytes: usize,
    /// Differing pairs kept per route for the owner to look at (the newest).
    pub shadow_samples: usize,
    /// Whether `x-mercato-route: legacy|mercato` picks the side. For testing a migration only:
    /// with it on, any client can reach routes not cut over yet and step out of the split.
    pub allow_route_header: bool,
}

impl Default for StranglerSettings {
    fn default() -> Self {
        StranglerSettings {
            routes_file: None,
            reload_interval: Duration::from_millis(500),
            upstream_timeout: Duration::from_secs(30),
            shadow_concurrency: 16,
            shadow_body_limit_bytes: 1 << 20,
            shadow_samples: 20,
            allow_route_header: false,
        }
    }
}

/// The routing file: one entry per store in migration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingFile {
    #[serde(default)]
    pub stores: Vec<StoreRouting>,
}

/// One store's routing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreRouting {
    /// The store's slug.
    pub store: String,
    /// The legacy shop's base URL (`http://host[:port]`, no path).
    pub legacy: url::Url,
    /// Host names whose requests belong to this store (the legacy shop's own URLs carry no
    /// store slug).
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub routes: Vec<RouteRule>,
}

/// Where a path prefix goes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    /// The path prefix (starts with `/`); the longest matching one wins.
    pub prefix: String,
    pub to: Target,
    /// With `split`: the share of clients (0–100) sent to Mercato.
    #[serde(default)]
    pub percent: Option<u8>,
    /// GET and HEAD requests are also sent to the other side and the answers compared.
    #[serde(default)]
    pub shadow: bool,
    /// Fields left out of the comparison: a bare name anywhere, or a JSON pointer (`/a/0/b`).
    #[serde(default)]
    pub ignore: Vec<String>,
    /// JSON pointers of arrays compared as multisets (order not significant).
    #[serde(default)]
    pub unordered: Vec<String>,
}

/// The side a route sends its requests to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Legacy,
    Mercato,
    /// `percent` of clients to Mercato, the rest to the legacy shop, each client always the same.
    Split,
}

impl RoutingFile {
    /// Parses and checks a routing file's text; the error says what is wrong and where.
    pub fn parse(text: &str) -> Result<RoutingFile, String> {
        let file: RoutingFile = Figment::from(Toml::string(text))
            .extract()
            .map_err(|e| e.to_string())?;
        file.check()?;
        Ok(file)
    }

    fn check(&self) -> Result<(), String> {
        let mut slugs = std::collections::HashSet::new();
        let mut hosts = std::collections::HashSet::new();
        for store in &self.stores {
            if !slugs.insert(store.store.as_str()) {
                return Err(format!("store {:?} appears twice", store.store));
            }
            for host in &store.hosts {
                if !hosts.insert(host.to_ascii_lowercase()) {
                    return Err(format!("host {host:?} names two stores"));
                }
            }
            store.check()?;
        }
        Ok(())
    }
}

impl StoreRouting {
    fn check(&self) -> Result<(), String> {
        let at = &self.store;
        if self.legacy.scheme() != "http" {
            return Err(format!(
                "store {at:?}: legacy must be an http:// URL (https upstreams are not supported yet)"
            ));
        }
        if self.legacy.host_str().is_none_or(str::is_empty) {
            return Err(format!("store {at:?}: legacy has no host"));
        }
        if self.legacy.path() != "/" || self.legacy.query().is_some() {
            return Err(format!("store {at:?}: legacy must have no path or query"));
        }
        let mut prefixes = std::collections::HashSet::new();
        for route in &self.routes {
            if !route.prefix.starts_with('/') {
                return Err(format!(
                    "store {at:?}: prefix {:?} must start with /",
                    route.prefix
                ));
            }
            if !prefixes.insert(route.prefix.as_str()) {
                return Err(format!("store {at:?}: prefix {:?} appears twice", route.prefix));
            }
            match (route.to, route.percent) {
                (Target::Split, None) => {
                    return Err(format!(
                        "store {at:?}: prefix {:?}: split needs percent",
                        route.prefix
                    ));
                }
                (Target::Split, Some(p)) if p > 100 => {
                    return Err(format!(
                        "store {at:?}: prefix {:?}: percent over 100",
                        route.prefix
                    ));
                }
                (Target::Legacy | Target::Mercato, Some(_)) => {
                    return Err(format!(
                        "store {at:?}: prefix {:?}: percent only with split",
                        route.prefix
                    ));
                }
                _ => {}
            }
            let bad_pointer = route
                .unordered
                .iter()
                .find(|p| !p.is_empty() && !p.starts_with('/'));
            if let Some(pointer) = bad_pointer {
                return Err(format!(
                    "store {at:?}: unordered {pointer:?} is not a JSON pointer"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        [[stores]]
        store = "acme"
        legacy = "http://127.0.0.1:8080"
        hosts = ["shop.acme.test"]
        [[stores.routes]]
        prefix = "/product/"
        to = "split"
        percent = 30
        shadow = true
        ignore = ["generated_at"]
    "#;

    #[test]
    fn a_good_file_parses_with_its_routes() {
        let file = RoutingFile::parse(GOOD).expect("parses");
        let route = &file.stores[0].routes[0];
        assert_eq!(
            (route.to, route.percent, route.shadow),
            (Target::Split, Some(30), true)
        );
        assert_eq!(file.stores[0].hosts, ["shop.acme.test"]);
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        let cases = [
            (GOOD.replace("percent = 30", ""), "split needs percent"),
            (GOOD.replace("30", "130"), "percent over 100"),
            (GOOD.replace("http://", "https://"), "http://"),
            (GOOD.replace("8080", "8080/shop"), "no path"),
            (GOOD.replace("\"/product/\"", "\"product\""), "must start with /"),
            (GOOD.replace("to = ", "too = "), "too"),
            (GOOD[..GOOD.len() / 2].to_owned(), ""),
        ];
        for (text, reason) in cases {
            let error = RoutingFile::parse(&text).expect_err(&text);
            assert!(error.contains(reason), "{error} should say {reason}");
        }
    }
}
