//! Roles: the services one process runs. `all` (the default) is the embedded topology.

use std::fmt;

/// One service of the platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Gateway,
    Identity,
    Catalog,
    Inventory,
    Payments,
    Orders,
    Realtime,
    Analytics,
    Notifications,
}

impl Role {
    pub const ALL: [Role; 9] = [
        Role::Gateway,
        Role::Identity,
        Role::Catalog,
        Role::Inventory,
        Role::Payments,
        Role::Orders,
        Role::Realtime,
        Role::Analytics,
        Role::Notifications,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Gateway => "gateway",
            Role::Identity => "identity",
            Role::Catalog => "catalog",
            Role::Inventory => "inventory",
            Role::Payments => "payments",
            Role::Orders => "orders",
            Role::Realtime => "realtime",
            Role::Analytics => "analytics",
            Role::Notifications => "notifications",
        }
    }
}

/// A non-empty set of roles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roles(Vec<Role>);

impl Roles {
    pub fn all() -> Roles {
        Roles(Role::ALL.to_vec())
    }

    /// Parses `gateway,catalog` or `all`.
    pub fn parse(s: &str) -> Result<Roles, String> {
        let mut roles = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part == "all" {
                return Ok(Roles::all());
            }
            let role = Role::ALL.into_iter().find(|r| r.name() == part).ok_or_else(|| {
                format!("unknown role {part:?}; expected all or a list of gateway, identity, catalog, inventory, payments, orders, realtime, analytics, notifications")
            })?;
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
        if roles.is_empty() {
            return Err("no roles given".to_owned());
        }
        roles.sort();
        Ok(Roles(roles))
    }

    pub fn has(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    /// Whether this process runs the gateway beside at least one service (embedded, say).
    pub fn gateway_with_services(&self) -> bool {
        self.has(Role::Gateway) && self.0.len() > 1
    }

    pub fn is_all(&self) -> bool {
        Role::ALL.iter().all(|r| self.has(*r))
    }
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = self.0.iter().map(|r| r.name()).collect();
        f.write_str(&names.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_from_comma_lists() {
        let r = Roles::parse("catalog, gateway").unwrap();
        assert!(r.has(Role::Catalog) && r.has(Role::Gateway) && !r.has(Role::Identity));
        assert!(Roles::parse("all").unwrap().is_all());
        assert!(Roles::parse("shipping").is_err());
        assert!(Roles::parse("inventory,payments").unwrap().has(Role::Payments));
        assert!(Roles::parse("").is_err());
    }
}
