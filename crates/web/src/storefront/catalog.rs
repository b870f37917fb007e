//! Browsing: the home page, search with facets and filters, and the product page.

use super::views::{self, Category, Product, ProductPage, SearchResult};
use super::{Chrome, failure, see_other};
use crate::page::render;
use crate::session::Session;
use askama::Template;
use axum::extract::{Path, Query};
use axum::response::Response;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "shop/home.html")]
struct Home {
    chrome: Chrome,
    categories: Vec<Category>,
    products: Vec<Product>,
}

/// `/s/{store}` → `/s/{store}/`.
pub(super) async fn to_home(Path(store): Path<String>) -> Response {
    see_other(&format!("/s/{store}/"))
}

/// The home page: the category tree and the newest products.
pub(super) async fn home(session: Session) -> Response {
    let chrome = match Chrome::load(&session).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let base = format!("/v1/stores/{}", chrome.store.slug);
    let categories = session.get(&format!("{base}/categories")).send::<Vec<Category>>();
    let products = session
        .get(&format!("{base}/products?per_page=12&sort=newest"))
        .send::<ProductPage>();
    let (categories, products) = tokio::join!(categories, products);
    let (categories, products) = match (categories, products) {
        (Ok(c), Ok(p)) => (c, p.items),
        (Err(e), _) | (_, Err(e)) => return failure(&e, "/"),
    };
    render(&Home {
        chrome,
        categories,
        products,
    })
}

#[derive(Deserialize, Default)]
pub(super) struct SearchParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    category: String,
    min_price: Option<i64>,
    max_price: Option<i64>,
    page: Option<u32>,
    /// The filter form's prices, in the store's currency units (`12.50`).
    #[serde(default)]
    min: String,
    #[serde(default)]
    max: String,
}

/// A price typed in currency units (`12`, `12.5`, `12,50`) as minor units; `None` when empty
/// or not a price.
fn minor_units(text: &str, currency: &str) -> Option<i64> {
    let text = text.trim().replace(',', ".");
    if text.is_empty() {
        return None;
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let decimals = if views::money(0, currency).contains('.') {
        2
    } else {
        0
    };
    if !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > decimals
    {
        return None;
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let fraction: i64 = format!("{fraction:0<decimals$}").parse().unwrap_or(0);
    whole
        .checked_mul(10_i64.pow(decimals as u32))?
        .checked_add(fraction)
}

/// Hits per search page.
const PER_PAGE: u32 = 24;

#[derive(Template)]
#[template(path = "shop/search.html")]
struct Search {
    chrome: Chrome,
    q: String,
    category: String,
    min_price: Option<i64>,
    max_price: Option<i64>,
    /// 1-based.
    page: u32,
    /// Category names by slug (facets and hits name categories by slug).
    names: std::collections::HashMap<String, String>,
    result: SearchResult,
    /// The price ranges as links: label, `min_price`, `max_price` (empty when open-ended).
    ranges: Vec<(String, i64, String, u64)>,
}

impl Search {
    /// The search URL with these words and filters, for facet links.
    fn link(&self, category: &str, min: Option<i64>, max: Option<i64>) -> String {
        let mut pairs = vec![("q", self.q.clone())];
        if !category.is_empty() {
            pairs.push(("category", category.to_owned()));
        }
        if let Some(min) = min {
            pairs.push(("min_price", min.to_string()));
        }
        if let Some(max) = max {
            pairs.push(("max_price", max.to_string()));
        }
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        self.chrome.url(&format!("/search?{query}"))
    }

    fn category_link(&self, category: &str) -> String {
        self.link(category, self.min_price, self.max_price)
    }

    fn price_link(&self, min: &i64, max: &str) -> String {
        self.link(&self.category, Some(*min), max.parse().ok())
    }

    fn without_category(&self) -> String {
        self.link("", self.min_price, self.max_price)
    }

    fn without_price(&self) -> String {
        self.link(&self.category, None, None)
    }

    /// A category's name for a shopper, from its slug.
    fn category_name<'a>(&'a self, slug: &'a str) -> &'a str {
        self.names.get(slug).map_or(slug, String::as_str)
    }

    /// The same search on another page.
    fn page_link(&self, page: u32) -> String {
        format!(
            "{}&page={page}",
            self.link(&self.category, self.min_price, self.max_price)
        )
    }

    fn has_next(&self) -> bool {
        u64::from(self.page * PER_PAGE) < self.result.total
    }

    /// A minor-unit bound as the filter form shows it (`12.50`).
    fn major(&self, minor: &Option<i64>) -> String {
        minor
            .map(|m| views::money(m, &self.chrome.store.currency))
            .and_then(|text| text.split(' ').next().map(str::to_owned))
            .unwrap_or_default()
    }

    fn filtered_by_price(&self) -> bool {
        self.min_price.is_some() || self.max_price.is_some()
    }
}

/// Search: words (typos tolerated by the API), category and price facets as links.
pub(super) async fn search(session: Session, Query(mut params): Query<SearchParams>) -> Response {
    let mut chrome = match Chrome::load(&session).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let currency = chrome.store.currency.clone();
    if let Some(min) = minor_units(&params.min, &currency) {
        params.min_price = Some(min);
    }
    if let Some(max) = minor_units(&params.max, &currency) {
        params.max_price = Some(max);
    }
    chrome.query = params.q.clone();
    // Results are ranked, so deep pages are refused by the API (offset + limit ≤ 10,000).
    let page = params.page.unwrap_or(1).clamp(1, 10_000 / PER_PAGE);
    let mut pairs = vec![
        ("q", params.q.clone()),
        ("limit", PER_PAGE.to_string()),
        ("offset", ((page - 1) * PER_PAGE).to_string()),
    ];
    if !params.category.is_empty() {
        pairs.push(("category", params.category.clone()));
    }
    if let Some(min) = params.min_price {
        pairs.push(("min_price", min.to_string()));
    }
    if let Some(max) = params.max_price {
        pairs.push(("max_price", max.to_string()));
    }
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    let path = format!("/v1/stores/{}/search?{query}", chrome.store.slug);
    let categories = format!("/v1/stores/{}/categories", chrome.store.slug);
    let (result, categories) = tokio::join!(
        session.get(&path).send::<SearchResult>(),
        session.get(&categories).send::<Vec<Category>>()
    );
    let result = match result {
        Ok(r) => r,
        Err(e) => return failure(&e, &chrome.home()),
    };
    let mut names = std::collections::HashMap::new();
    let mut stack = categories.unwrap_or_default();
    while let Some(c) = stack.pop() {
        names.insert(c.slug, c.name);
        stack.extend(c.children);
    }
    let ranges = result
        .facets
        .price_ranges
        .iter()
        .filter(|r| r.count > 0)
        .map(|r| {
            let label = match r.to_minor {
                Some(to) => format!(
                    "{} to {}",
                    views::money(r.from_minor, &currency),
                    views::money(to, &currency)
                ),
                None => format!("{} and more", views::money(r.from_minor, &currency)),
            };
            let to = r.to_minor.map(|t| t.to_string()).unwrap_or_default();
            (label, r.from_minor, to, r.count)
        })
        .collect();
    render(&Search {
        chrome,
        q: params.q,
        category: params.category,
        min_price: params.min_price,
        max_price: params.max_price,
        page,
        names,
        result,
        ranges,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_typed_price_is_read_as_minor_units() {
        assert_eq!(super::minor_units("12", "EUR"), Some(1200));
        assert_eq!(super::minor_units("12,5", "EUR"), Some(1250));
        assert_eq!(super::minor_units(" 0.05 ", "EUR"), Some(5));
        assert_eq!(super::minor_units("1200", "JPY"), Some(1200));
        for bad in ["", "abc", "1.234", "-3", "1.2.3"] {
            assert_eq!(super::minor_units(bad, "EUR"), None, "{bad}");
        }
    }
}

#[derive(Template)]
#[template(path = "shop/product.html")]
struct ProductView {
    chrome: Chrome,
    product: Product,
    /// Units that can be bought now, per variant (in the variants' order); `None` unknown.
    available: Vec<Option<i64>>,
    added: bool,
    error: Option<String>,
}

impl ProductView {
    fn availability(&self, index: &usize) -> String {
        match self.available.get(index - 1).copied().flatten() {
            Some(n) if n > 0 => format!("In stock ({n})"),
            Some(_) => "Out of stock".to_owned(),
            None => String::new(),
        }
    }
}

/// Units of each SKU that can be bought now (public), in order; `None` where unknown.
pub(super) async fn availability(session: &Session, skus: &[&str]) -> Vec<Option<i64>> {
    #[derive(Deserialize)]
    struct Availability {
        available: i64,
    }
    let calls = skus.iter().map(|sku| {
        let path = format!(
            "/v1/stores/{}/inventory/{}/availability",
            session.store,
            encode(sku)
        );
        async move {
            session
                .get(&path)
                .send::<Availability>()
                .await
                .ok()
                .map(|a| a.available)
        }
    });
    futures::future::join_all(calls).await
}

#[derive(Deserialize, Default)]
pub(super) struct ProductParams {
    #[serde(default)]
    added: bool,
    #[serde(default)]
    error: Option<String>,
}

/// A product: its variants with their prices, and availability that changes live (the stock
/// channel of each SKU, through `/s/{store}/live`).
pub(super) async fn product(
    session: Session,
    Path((_, key)): Path<(String, String)>,
    Query(params): Query<ProductParams>,
) -> Response {
    let chrome = match Chrome::load(&session).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let path = format!("/v1/stores/{}/products/{}", chrome.store.slug, encode(&key));
    let product = match session.get(&path).send::<Product>().await {
        Ok(p) => p,
        Err(e) => return failure(&e, &chrome.home()),
    };
    // Only known messages are shown: a link cannot make the page say anything else.
    let error = params
        .error
        .as_deref()
        .and_then(super::cart::known_message)
        .map(str::to_owned);
    let skus: Vec<&str> = product.variants.iter().map(|v| v.sku.as_str()).collect();
    let available = availability(&session, &skus).await;
    render(&ProductView {
        chrome,
        product,
        available,
        added: params.added,
        error,
    })
}

/// A path segment, percent-encoded.
pub(super) fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
