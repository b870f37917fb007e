//! The shopper mix: what one simulated shopper does next, and the requests each action sends.
//!
//! Weights (per 19 actions): product 10, view cart 3, add to cart 2, search 2, listing 1,
//! checkout 1. A shopper keeps one cart; adding to a cart that does not exist yet creates it
//! first (recorded as its own request kind), and a checkout of an empty cart adds a line first.

use mercato_payments::provider::test::approving_card as card;
use rand::Rng;
use serde_json::{Value, json};
use std::time::Instant;

/// The kinds of request the report breaks down by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Product,
    Listing,
    Search,
    CartView,
    CartCreate,
    CartAdd,
    /// Tokenizing the shopper's card, just before a checkout.
    PaymentMethod,
    Checkout,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Product,
        Kind::Listing,
        Kind::Search,
        Kind::CartView,
        Kind::CartCreate,
        Kind::CartAdd,
        Kind::PaymentMethod,
        Kind::Checkout,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Product => "product",
            Kind::Listing => "listing",
            Kind::Search => "search",
            Kind::CartView => "cart_view",
            Kind::CartCreate => "cart_create",
            Kind::CartAdd => "cart_add",
            Kind::PaymentMethod => "payment_method",
            Kind::Checkout => "checkout",
        }
    }
}

/// What a shopper chooses to do, with its weight in the mix.
#[derive(Clone, Copy, Debug)]
enum Action {
    Product,
    ViewCart,
    AddToCart,
    Search,
    Listing,
    Checkout,
}

const MIX: [(Action, u32); 6] = [
    (Action::Product, 10),
    (Action::ViewCart, 3),
    (Action::AddToCart, 2),
    (Action::Search, 2),
    (Action::Listing, 1),
    (Action::Checkout, 1),
];

/// One request's outcome: kind, when it was sent (µs since the run started), its latency (µs)
/// and whether it succeeded.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub kind: Kind,
    pub sent_us: u64,
    pub latency_us: u32,
    pub ok: bool,
}

/// What every shopper shares: the store and its products.
pub struct Shop {
    pub url: String,
    pub store: String,
    pub product_ids: Vec<String>,
    pub skus: Vec<String>,
    pub words: Vec<&'static str>,
    pub pages: u32,
}

/// One simulated shopper: a cart (id, token) once it has one, and how many lines it holds.
pub struct Shopper {
    cart: Option<(String, String)>,
    lines: u32,
}

impl Shopper {
    pub fn new() -> Self {
        Shopper { cart: None, lines: 0 }
    }

    /// Picks the next action by weight and runs it, recording each request.
    pub async fn act(
        &mut self,
        http: &reqwest::Client,
        shop: &Shop,
        started: Instant,
        checkout_number: impl FnOnce() -> usize,
        out: &mut Vec<Sample>,
    ) {
        let (kind, url) = match pick_action() {
            Action::Product => (Kind::Product, random_product(shop)),
            Action::Listing => (Kind::Listing, random_listing(shop)),
            Action::Search => (Kind::Search, random_search(shop)),
            Action::ViewCart => match &self.cart {
                Some((id, token)) => {
                    let url = format!("{}/v1/stores/{}/carts/{id}", shop.url, shop.store);
                    let request = http.get(url).header("x-cart-token", token);
                    out.push(timed(Kind::CartView, started, request).await.0);
                    return;
                }
                None => return self.add_line(http, shop, started, out).await,
            },
            Action::AddToCart => return self.add_line(http, shop, started, out).await,
            Action::Checkout => return self.check_out(http, shop, started, checkout_number, out).await,
        };
        out.push(timed(kind, started, http.get(url)).await.0);
    }

    /// Checks the cart out (adding a line first to an empty one), as a storefront does: the card
    /// is tokenized first and the checkout names the payment method. Each checkout has a card of
    /// its own (fraud screening would rightly flag one card used thousands of times a minute).
    /// The next action starts a new cart.
    async fn check_out(
        &mut self,
        http: &reqwest::Client,
        shop: &Shop,
        started: Instant,
        checkout_number: impl FnOnce() -> usize,
        out: &mut Vec<Sample>,
    ) {
        if self.lines == 0 {
            self.add_line(http, shop, started, out).await;
        }
        if let Some((id, token)) = self.cart.take() {
            let n = checkout_number();
            let url = format!("{}/v1/stores/{}/payment-methods", shop.url, shop.store);
            let tokenize = http.post(url).json(&json!({"card_number": card(n as u64)}));
            let (sample, method) = timed(Kind::PaymentMethod, started, tokenize).await;
            out.push(sample);
            let Some(method) = method["id"].as_str() else {
                return;
            };
            let url = format!("{}/v1/stores/{}/checkout", shop.url, shop.store);
            let request = http
                .post(url)
                .header("x-cart-token", token)
                .header("idempotency-key", format!("shop-{n}"))
                .json(&crate::bench::checkout_body(&id, method));
            out.push(timed(Kind::Checkout, started, request).await.0);
            self.lines = 0;
        }
    }

    /// Adds one line of a random SKU, creating the cart first when there is none. A cart at
    /// its line limit is checked out by the next checkout action; until then it is replaced.
    async fn add_line(
        &mut self,
        http: &reqwest::Client,
        shop: &Shop,
        started: Instant,
        out: &mut Vec<Sample>,
    ) {
        if self.cart.is_none() || self.lines >= 20 {
            let url = format!("{}/v1/stores/{}/carts", shop.url, shop.store);
            let (sample, body) = timed(Kind::CartCreate, started, http.post(url)).await;
            out.push(sample);
            let id = body["id"].as_str().unwrap_or_default().to_owned();
            let token = body["cart_token"].as_str().unwrap_or_default().to_owned();
            if !sample.ok || id.is_empty() {
                return;
            }
            self.cart = Some((id, token));
            self.lines = 0;
        }
        let Some((id, token)) = &self.cart else { return };
        let sku = &shop.skus[rand::thread_rng().gen_range(0..shop.skus.len())];
        let url = format!("{}/v1/stores/{}/carts/{id}/items", shop.url, shop.store);
        let request = http
            .post(url)
            .header("x-cart-token", token)
            .json(&json!({"sku": sku, "quantity": 1}));
        let (sample, _) = timed(Kind::CartAdd, started, request).await;
        out.push(sample);
        if sample.ok {
            self.lines += 1;
        }
    }
}

/// Sends one request and reads the whole answer; JSON bodies are parsed only for cart creation.
async fn timed(kind: Kind, started: Instant, request: reqwest::RequestBuilder) -> (Sample, Value) {
    let sent = Instant::now();
    let mut body = Value::Null;
    let ok = match request.send().await {
        Ok(response) => {
            let success = response.status().is_success();
            match response.bytes().await {
                Ok(bytes) if matches!(kind, Kind::CartCreate | Kind::PaymentMethod) => {
                    body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                    success
                }
                Ok(_) => success,
                Err(_) => false,
            }
        }
        Err(_) => false,
    };
    let sample = Sample {
        kind,
        sent_us: sent.duration_since(started).as_micros() as u64,
        latency_us: sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32,
        ok,
    };
    (sample, body)
}

/// The next action, drawn by the weights of [`MIX`].
fn pick_action() -> Action {
    let total: u32 = MIX.iter().map(|(_, w)| w).sum();
    let mut pick = rand::thread_rng().gen_range(0..total);
    MIX.iter()
        .find(|(_, w)| {
            if pick < *w {
                true
            } else {
                pick -= w;
                false
            }
        })
        .map(|(a, _)| *a)
        .unwrap_or(Action::Product)
}

fn random_product(shop: &Shop) -> String {
    let id = &shop.product_ids[rand::thread_rng().gen_range(0..shop.product_ids.len())];
    format!("{}/v1/stores/{}/products/{id}", shop.url, shop.store)
}

fn random_listing(shop: &Shop) -> String {
    let page = rand::thread_rng().gen_range(1..=shop.pages);
    let sort = ["newest", "price_asc"][rand::thread_rng().gen_range(0..2)];
    format!(
        "{}/v1/stores/{}/products?page={page}&sort={sort}",
        shop.url, shop.store
    )
}

fn random_search(shop: &Shop) -> String {
    let word = shop.words[rand::thread_rng().gen_range(0..shop.words.len())];
    format!("{}/v1/stores/{}/search?q={word}", shop.url, shop.store)
}
