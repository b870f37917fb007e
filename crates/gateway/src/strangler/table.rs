//! The routing table compiled from the routing file, and the watch that re-reads the file: a
//! change applies within `strangler.reload_interval`; a file that does not parse (half written,
//! or wrong) leaves the last good table in place and says why in the log.

use super::compare::Rules;
use mercato_runtime::config::{RouteRule, RoutingFile, StoreRouting};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

/// One route of a store, with its comparison rules made once.
pub struct Route {
    pub rule: RouteRule,
    pub rules: Rules,
}

/// A store's routing: its legacy shop and its routes, longest prefix first.
pub struct StoreTable {
    pub config: StoreRouting,
    routes: Vec<Arc<Route>>,
}

impl StoreTable {
    /// The route whose prefix is the longest to match `path`.
    pub fn route(&self, path: &str) -> Option<&Arc<Route>> {
        self.routes.iter().find(|r| path.starts_with(&r.rule.prefix))
    }
}

/// Every store's routing, by slug and by host name.
#[derive(Default)]
pub struct Table {
    by_slug: HashMap<String, Arc<StoreTable>>,
    by_host: HashMap<String, Arc<StoreTable>>,
}

impl Table {
    /// Compiles a parsed (and checked) routing file.
    pub fn new(file: RoutingFile) -> Table {
        let mut table = Table::default();
        for config in file.stores {
            let mut routes: Vec<Arc<Route>> = config
                .routes
                .iter()
                .map(|rule| {
                    let rules = Rules::new(&rule.ignore, &rule.unordered);
                    Arc::new(Route {
                        rule: rule.clone(),
                        rules,
                    })
                })
                .collect();
            routes.sort_by_key(|r| std::cmp::Reverse(r.rule.prefix.len()));
            let store = Arc::new(StoreTable { config, routes });
            for host in &store.config.hosts {
                table.by_host.insert(host.to_ascii_lowercase(), store.clone());
            }
            table.by_slug.insert(store.config.store.clone(), store);
        }
        table
    }

    /// The store a request belongs to: the one its host names, else the one its path names
    /// (`/v1/stores/{store}/…`, `/s/{store}/…`, `/admin/{store}/…`), if that store is routed.
    pub fn store(&self, host: Option<&str>, path: &str) -> Option<&Arc<StoreTable>> {
        let by_host = host
            .map(|h| {
                h.rsplit_once(':')
                    .filter(|(_, port)| port.parse::<u16>().is_ok())
                    .map_or(h, |(name, _)| name)
            })
            .and_then(|h| self.by_host.get(&h.to_ascii_lowercase()));
        by_host.or_else(|| self.by_slug.get(slug_in(path)?))
    }

    /// A store's routing by slug.
    pub fn by_slug(&self, slug: &str) -> Option<&Arc<StoreTable>> {
        self.by_slug.get(slug)
    }
}

/// The store slug a Mercato path names, if any.
fn slug_in(path: &str) -> Option<&str> {
    let mut segments = path.trim_start_matches('/').split('/');
    let slug = match (segments.next()?, segments.next()?) {
        ("v1", "stores") => segments.next()?,
        ("s" | "admin", slug) => slug,
        _ => return None,
    };
    Some(slug).filter(|s| !s.is_empty())
}

/// The current table, swapped whole when the file changes.
pub struct Current {
    table: RwLock<Arc<Table>>,
}

impl Current {
    /// The table now (cheap: a shared pointer).
    pub fn get(&self) -> Arc<Table> {
        self.table.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, table: Table) {
        *self.table.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(table);
    }
}

/// Reads the routing file now (an unreadable or bad file: an empty table, everything to
/// Mercato, and the reason logged) and then every `interval` while `current` is in use.
pub fn watch(path: PathBuf, interval: Duration) -> Arc<Current> {
    let text = std::fs::read_to_string(&path).ok();
    let current = Arc::new(Current {
        table: RwLock::new(Arc::new(Table::default())),
    });
    apply(&current, &path, text.as_deref());
    let weak = Arc::downgrade(&current);
    tokio::spawn(reread(weak, path, interval, text));
    current
}

async fn reread(current: Weak<Current>, path: PathBuf, interval: Duration, mut seen: Option<String>) {
    loop {
        tokio::time::sleep(interval).await;
        let Some(current) = current.upgrade() else { return };
        let text = tokio::fs::read_to_string(&path).await.ok();
        if text != seen {
            apply(&current, &path, text.as_deref());
            seen = text;
        }
    }
}

fn apply(current: &Current, path: &Path, text: Option<&str>) {
    let file = path.display();
    let Some(text) = text else {
        tracing::warn!(%file, "strangler routing file unreadable; keeping the last good routing");
        return;
    };
    match RoutingFile::parse(text) {
        Ok(routing) => {
            tracing::info!(%file, stores = routing.stores.len(), "strangler routing loaded");
            current.set(Table::new(routing));
        }
        Err(reason) => {
            tracing::warn!(%file, %reason, "strangler routing file refused; keeping the last good routing");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let text = r#"
            [[stores]]
            store = "acme"
            legacy = "http://127.0.0.1:9"
            hosts = ["Shop.Acme.test"]
            routes = [{ prefix = "/", to = "legacy" }, { prefix = "/product/", to = "mercato" }]
        "#;
        Table::new(RoutingFile::parse(text).expect("parses"))
    }

    #[test]
    fn the_store_comes_from_the_host_or_the_path_and_the_longest_prefix_wins() {
        let table = table();
        let by_host = table
            .store(Some("shop.acme.test:8080"), "/product/x/")
            .expect("host");
        assert_eq!(
            by_host.route("/product/x/").map(|r| r.rule.prefix.as_str()),
            Some("/product/")
        );
        assert_eq!(by_host.route("/cart/").map(|r| r.rule.prefix.as_str()), Some("/"));
        assert!(table.store(None, "/v1/stores/acme/products/x").is_some());
        assert!(table.store(None, "/s/acme/p/x").is_some());
        assert!(
            table
                .store(Some("other.test"), "/v1/stores/other/products")
                .is_none()
        );
        assert!(table.store(None, "/product/x/").is_none());
    }
}
