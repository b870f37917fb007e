//! WordPress's and WooCommerce's table names under a site's table prefix (`wp_` by default).

use anyhow::bail;

/// The prefixed table names of one WordPress site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tables {
    pub prefix: String,
    pub posts: String,
    pub postmeta: String,
    pub terms: String,
    pub term_taxonomy: String,
    pub term_relationships: String,
    pub users: String,
    pub usermeta: String,
    pub options: String,
    pub orders: String,
    pub order_addresses: String,
    pub order_operational_data: String,
    pub orders_meta: String,
    pub order_items: String,
    pub order_itemmeta: String,
}

impl Tables {
    /// The names under `prefix`, which must be letters, digits and underscores (it is written
    /// into SQL).
    pub fn new(prefix: &str) -> anyhow::Result<Self> {
        let valid = prefix.len() <= 32 && prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            bail!("table prefix {prefix:?} must be up to 32 letters, digits or underscores");
        }
        let name = |table: &str| format!("`{prefix}{table}`");
        Ok(Self {
            prefix: prefix.to_owned(),
            posts: name("posts"),
            postmeta: name("postmeta"),
            terms: name("terms"),
            term_taxonomy: name("term_taxonomy"),
            term_relationships: name("term_relationships"),
            users: name("users"),
            usermeta: name("usermeta"),
            options: name("options"),
            orders: name("wc_orders"),
            order_addresses: name("wc_order_addresses"),
            order_operational_data: name("wc_order_operational_data"),
            orders_meta: name("wc_orders_meta"),
            order_items: name("woocommerce_order_items"),
            order_itemmeta: name("woocommerce_order_itemmeta"),
        })
    }

    /// The user-meta key of a user's roles (`wp_capabilities` under prefix `wp_`).
    pub fn capabilities_key(&self) -> String {
        format!("{}capabilities", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_checked_and_applied() {
        let t = Tables::new("wp_").unwrap();
        assert_eq!(t.posts, "`wp_posts`");
        assert_eq!(t.orders, "`wp_wc_orders`");
        assert_eq!(t.capabilities_key(), "wp_capabilities");
        assert!(Tables::new("wp`; DROP").is_err());
    }
}
