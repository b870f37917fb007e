//! WooCommerce's URLs that moved: once a route sends a client to Mercato, the legacy shop's
//! product and category pages answer 301 with the storefront's page for the same slug.

/// Where `path` moved to in `store`'s storefront, if it is one of WooCommerce's page URLs:
/// `/product/{slug}/` → `/s/{store}/p/{slug}`, `/product-category/{…/}{slug}/` (a nested
/// category's path ends with its own slug) → the storefront's search in that category.
pub fn moved(store: &str, path: &str) -> Option<String> {
    let rest = path.strip_prefix('/')?;
    let (kind, slugs) = rest.split_once('/')?;
    let slug = slugs
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| is_slug(s))?;
    match kind {
        "product" if !slugs.trim_end_matches('/').contains('/') => Some(format!("/s/{store}/p/{slug}")),
        "product-category" => Some(format!("/s/{store}/search?category={slug}")),
        _ => None,
    }
}

/// A slug as the catalog allows it (and so safe in a URL as it is).
fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::moved;

    #[test]
    fn product_and_category_pages_move_and_nothing_else() {
        assert_eq!(
            moved("acme", "/product/blue-shirt/").as_deref(),
            Some("/s/acme/p/blue-shirt")
        );
        assert_eq!(
            moved("acme", "/product/blue-shirt").as_deref(),
            Some("/s/acme/p/blue-shirt")
        );
        assert_eq!(
            moved("acme", "/product-category/clothing/shirts/").as_deref(),
            Some("/s/acme/search?category=shirts")
        );
        assert_eq!(moved("acme", "/product/a/b/"), None);
        assert_eq!(moved("acme", "/product/"), None);
        assert_eq!(moved("acme", "/cart/"), None);
        assert_eq!(moved("acme", "/product/%3Cscript%3E/"), None);
    }
}
