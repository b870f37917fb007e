//! The shapes of the API's answers the storefront reads: only the fields a page shows (serde
//! ignores the rest, so the API may grow without breaking a page).

use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct Store {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub currency: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: String,
}

impl Money {
    pub fn show(&self) -> String {
        money(self.amount_minor, &self.currency)
    }
}

/// An amount in minor units as a shopper reads it: `12.99 EUR`, `1200 JPY`.
pub fn money(amount_minor: i64, currency: &str) -> String {
    let decimals = match currency {
        "JPY" | "KRW" | "CLP" | "ISK" | "VND" => 0,
        _ => 2,
    };
    if decimals == 0 {
        return format!("{amount_minor} {currency}");
    }
    let sign = if amount_minor < 0 { "-" } else { "" };
    let abs = amount_minor.unsigned_abs();
    format!("{sign}{}.{:02} {currency}", abs / 100, abs % 100)
}

#[derive(Clone, Debug, Deserialize)]
pub struct Category {
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub children: Vec<Category>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Variant {
    pub sku: String,
    pub title: String,
    pub price: Option<Money>,
    #[serde(default)]
    pub options: std::collections::BTreeMap<String, String>,
}

impl Variant {
    /// The variant's name for a shopper: its option values (`M / Blue`), else its title.
    pub fn label(&self) -> String {
        if self.options.is_empty() {
            self.title.clone()
        } else {
            self.options.values().cloned().collect::<Vec<_>>().join(" / ")
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct Product {
    pub slug: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub variants: Vec<Variant>,
    /// In order; only those whose sizes exist (`urls`) are shown.
    #[serde(default)]
    pub images: Vec<Image>,
}

/// A product image; `urls` once its sizes exist.
#[derive(Clone, Debug, Deserialize)]
pub struct Image {
    #[serde(default)]
    pub alt: String,
    pub urls: Option<ImageUrls>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ImageUrls {
    pub thumbnail: ImageFormats,
    pub card: ImageFormats,
    pub large: ImageFormats,
}

/// One size: WebP for browsers that take it, JPEG for the rest.
#[derive(Clone, Debug, Deserialize)]
pub struct ImageFormats {
    pub webp: String,
    pub jpeg: String,
}

/// An image that can be shown.
#[derive(Clone, Debug)]
pub struct Shown {
    pub alt: String,
    pub urls: ImageUrls,
}

impl Product {
    /// The images whose sizes exist, in order.
    pub fn gallery(&self) -> Vec<Shown> {
        self.images
            .iter()
            .filter_map(|i| {
                i.urls.clone().map(|urls| Shown {
                    alt: i.alt.clone(),
                    urls,
                })
            })
            .collect()
    }

    /// The first image that can be shown: the product's picture on cards.
    pub fn cover(&self) -> Option<Shown> {
        self.gallery().into_iter().next()
    }

    /// The lowest variant price.
    pub fn lowest_price(&self) -> Option<String> {
        self.variants
            .iter()
            .filter_map(|v| v.price.as_ref())
            .min_by_key(|p| p.amount_minor)
            .map(Money::show)
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct ProductPage {
    pub items: Vec<Product>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct SearchHit {
    pub slug: String,
    pub title: String,
    pub category: Option<String>,
    pub min_price: Option<Money>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PriceRange {
    pub from_minor: i64,
    pub to_minor: Option<i64>,
    pub count: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Facets {
    pub categories: Vec<FacetCount>,
    pub price_ranges: Vec<PriceRange>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct SearchResult {
    pub hits: Vec<SearchHit>,
    pub total: u64,
    pub facets: Facets,
}

#[derive(Clone, Debug, Deserialize)]
pub struct CartLine {
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub line_total_minor: i64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Charges {
    pub subtotal_minor: i64,
    #[serde(default)]
    pub discount_minor: i64,
    #[serde(default)]
    pub shipping_minor: i64,
    #[serde(default)]
    pub tax_minor: i64,
    pub total_minor: i64,
    #[serde(default)]
    pub prices_include_tax: bool,
    pub shipping_method_id: Option<String>,
    pub shipping_method_name: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ShippingOption {
    pub method_id: String,
    pub name: String,
    pub price_minor: i64,
}

#[derive(Clone, Debug, Deserialize, Default)]
pub struct ShippingOptions {
    #[serde(default)]
    pub options: Vec<ShippingOption>,
    #[serde(default)]
    pub shipping_required: bool,
}

#[derive(Clone, Debug, Deserialize, serde::Serialize, Default)]
pub struct Address {
    pub name: String,
    #[serde(default)]
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    pub country: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Cart {
    pub id: String,
    pub cart_token: Option<String>,
    #[serde(default)]
    pub lines: Vec<CartLine>,
    pub currency: String,
    pub total_minor: i64,
    pub status: String,
    pub charges: Option<Charges>,
    pub shipping_address: Option<Address>,
    pub promotion_code: Option<String>,
}

impl Cart {
    pub fn money(&self, minor: &i64) -> String {
        money(*minor, &self.currency)
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct OrderLine {
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
    #[serde(default)]
    pub refunded_quantity: i64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Order {
    pub id: String,
    pub number: Option<i64>,
    pub status: String,
    #[serde(default)]
    pub fulfilment_status: String,
    #[serde(default)]
    pub lines: Vec<OrderLine>,
    pub currency: String,
    pub total_minor: i64,
    #[serde(default)]
    pub refunded_minor: i64,
    pub created_at: String,
    pub shipping_address: Option<Address>,
    #[serde(default)]
    pub fulfilments: Vec<Fulfilment>,
}

/// A shipment of (some of) an order's units.
#[derive(Clone, Debug, Deserialize)]
pub struct Fulfilment {
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    pub status: String,
}

impl Fulfilment {
    /// The tracking link, only when it is a web address (never `javascript:` or the like).
    pub fn tracking_link(&self) -> Option<&str> {
        self.tracking_url
            .as_deref()
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
    }

    pub fn status_text(&self) -> String {
        status_text(&self.status)
    }
}

impl Order {
    pub fn money(&self, minor: &i64) -> String {
        money(*minor, &self.currency)
    }

    /// `#1001`, or the id's beginning while the order has no number yet.
    pub fn name(&self) -> String {
        match self.number {
            Some(n) => format!("#{n}"),
            None => self.id.chars().take(8).collect(),
        }
    }

    /// The status as a shopper reads it.
    pub fn status_text(&self) -> String {
        status_text(&self.status)
    }

    /// The day it was placed (`2026-12-06`).
    pub fn date(&self) -> &str {
        self.created_at.get(..10).unwrap_or(&self.created_at)
    }
}

/// An order status (`partially_refunded`) as words (`Partially refunded`).
pub fn status_text(status: &str) -> String {
    crate::api::sentence(&status.replace('_', " "))
        .trim_end_matches('.')
        .to_owned()
}

#[derive(Clone, Debug, Deserialize)]
pub struct OrderPage {
    pub items: Vec<Order>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Conversation {
    pub id: String,
    pub subject: String,
    pub channel: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ConversationPage {
    pub items: Vec<Conversation>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Message {
    pub seq: i64,
    pub sender_role: String,
    pub body: String,
    pub sent_at: String,
}

impl Message {
    /// Who wrote it, as the shopper reads it.
    pub fn who(&self) -> &'static str {
        if self.sender_role == "customer" {
            "You"
        } else {
            "Store"
        }
    }

    /// `HH:MM` of its sending time.
    pub fn time(&self) -> &str {
        self.sent_at.get(11..16).unwrap_or(&self.sent_at)
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct MessagePage {
    pub items: Vec<Message>,
    #[serde(default)]
    pub last_seq: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_addresses_become_tracking_links() {
        let shipment = |url: &str| Fulfilment {
            carrier: None,
            tracking_number: Some("1".into()),
            tracking_url: Some(url.into()),
            status: "shipped".into(),
        };
        assert_eq!(
            shipment("https://t.example/1").tracking_link(),
            Some("https://t.example/1")
        );
        assert_eq!(shipment("javascript:alert(1)").tracking_link(), None);
        assert_eq!(shipment("data:text/html,x").tracking_link(), None);
    }

    #[test]
    fn amounts_read_as_shoppers_read_them() {
        assert_eq!(money(1999, "EUR"), "19.99 EUR");
        assert_eq!(money(-5, "EUR"), "-0.05 EUR");
        assert_eq!(money(1200, "JPY"), "1200 JPY");
        assert_eq!(status_text("partially_refunded"), "Partially refunded");
    }
}
