//! WooCommerce's URLs that moved: once a route sends a client to Mercato, the legacy shop's
//! product and category pages answer 301 with the storefront's page for the same slug — the
//! slug the importer made of it (`mercato_runtime::legacy_slugs`: percent-encoded letters
//! decoded and folded to ASCII). A slug the importer had to give an id cannot be found from the
//! URL alone and is not redirected.

use mercato_runtime::legacy_slugs::catalog_slug_without_id;

/// Where `path` moved to in `store`'s storefront, if it is one of WooCommerce's page URLs:
/// `/product/{slug}/` → `/s/{store}/p/{slug}`, `/product-category/{…/}{slug}/` (a nested
/// category's path ends with its own slug) → the storefront's search in that category.
pub fn moved(store: &str, path: &str) -> Option<String> {
    let rest = path.strip_prefix('/')?;
    let (kind, slugs) = rest.split_once('/')?;
    let raw = slugs.trim_end_matches('/').rsplit('/').next()?;
    if raw.len() > MAX_RAW_SLUG {
        return None;
    }
    let slug = catalog_slug_without_id(raw)?;
    match kind {
        "product" if !slugs.trim_end_matches('/').contains('/') => Some(format!("/s/{store}/p/{slug}")),
        "product-category" => Some(format!("/s/{store}/search?category={slug}")),
        _ => None,
    }
}

/// The longest legacy slug looked at (WordPress's are at most 200 bytes, encoded).
const MAX_RAW_SLUG: usize = 600;

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
        assert_eq!(
            moved("acme", "/product/caf%C3%A9-au-lait/").as_deref(),
            Some("/s/acme/p/cafe-au-lait")
        );
        assert_eq!(moved("acme", "/product/%E6%97%A5%E6%9C%AC%E8%8C%B6/"), None);
        assert_eq!(
            moved("acme", "/product/%3Cscript%3E/").as_deref(),
            Some("/s/acme/p/script")
        );
    }
}
