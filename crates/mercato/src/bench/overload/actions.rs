//! What one arrival of the overload bench does: a shopper action drawn from a mix (product
//! reads, cart writes, checkouts), and the status, `Retry-After` and latency of each request it
//! sends. Actions are independent of one another so that arrivals can be open loop; carts live
//! in a shared pool, taken by one action at a time.

use mercato_payments::provider::test::approving_card as card;
use rand::Rng;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

use super::super::shop::mix::Shop;

/// The request mixes the bench can offer.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mix {
    /// The shopper mix of `bench shop`: product 10 : view cart 3 : add to cart 2 : search 2 :
    /// listing 1 : checkout 1. Public reads the gateway's cache holds are answered before its
    /// concurrency limit; the writes are what overload queues.
    Shop,
    /// Writes only: add to cart 6 : view cart 2 : checkout 2.
    Writes,
}

#[derive(Clone, Copy, Debug)]
enum Action {
    Product,
    Listing,
    Search,
    ViewCart,
    AddToCart,
    Checkout,
}

impl Mix {
    fn weights(self) -> &'static [(Action, u32)] {
        match self {
            Mix::Shop => &[
                (Action::Product, 10),
                (Action::ViewCart, 3),
                (Action::AddToCart, 2),
                (Action::Search, 2),
                (Action::Listing, 1),
                (Action::Checkout, 1),
            ],
            Mix::Writes => &[
                (Action::AddToCart, 6),
                (Action::ViewCart, 2),
                (Action::Checkout, 2),
            ],
        }
    }

    fn pick(self) -> Action {
        let weights = self.weights();
        let total: u32 = weights.iter().map(|(_, w)| w).sum();
        let mut pick = rand::thread_rng().gen_range(0..total);
        for (action, weight) in weights {
            if pick < *weight {
                return *action;
            }
            pick -= weight;
        }
        weights[0].0
    }
}

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// An HTTP status, and whether it carried `Retry-After`.
    Status(u16, bool),
    /// The client gave up waiting (its timeout).
    TimedOut,
    /// No answer: the connection failed or broke.
    Failed,
}

/// One request: when its action was due (µs since the run's epoch), how long it took from then
/// (the first request of an action is timed from its scheduled instant, so a late sender does
/// not hide queueing; the later ones from their own send), and how it ended.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    pub due_us: u64,
    pub latency_us: u64,
    /// From the moment the request was handed to the HTTP client (a connection free) to its
    /// answer: the latency without the wait for one of the bounded connections.
    pub wire_us: u64,
    pub answer: Answer,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        matches!(self.answer, Answer::Status(200..=299, _))
    }

    pub fn done_us(&self) -> u64 {
        self.due_us + self.latency_us
    }
}

/// A shopper's cart in the pool: id, token and lines in it.
struct Cart {
    id: String,
    token: String,
    lines: u32,
}

/// Carts kept for later actions at most; beyond it new carts are abandoned, as shoppers do.
const POOL_LIMIT: usize = 20_000;
/// A cart with this many lines is checked out or abandoned rather than grown.
const CART_LINES_LIMIT: u32 = 20;

/// Everything the actions share: the client, the prepared store, the gateways and the cart pool.
pub struct Shoppers {
    pub http: reqwest::Client,
    pub shop: Shop,
    pub urls: Vec<String>,
    pub mix: Mix,
    pub epoch: Instant,
    carts: Mutex<Vec<Cart>>,
    checkouts: AtomicU64,
    /// The open-loop phases' connections, when bounded.
    connections: Option<Arc<Semaphore>>,
}

impl Shoppers {
    pub fn new(
        http: reqwest::Client,
        shop: Shop,
        urls: Vec<String>,
        mix: Mix,
        connections: Option<Arc<Semaphore>>,
    ) -> Self {
        Shoppers {
            http,
            shop,
            urls,
            mix,
            epoch: Instant::now(),
            carts: Mutex::new(Vec::new()),
            checkouts: AtomicU64::new(0),
            connections,
        }
    }

    /// [`Shoppers::act`] once one of the bounded connections is free (at once when they are
    /// not bounded); the action is still timed from `due`.
    pub async fn act_when_connected(&self, n: usize, due: Instant) -> Vec<Outcome> {
        let _connection = match &self.connections {
            Some(connections) => Some(connections.clone().acquire_owned().await.expect("never closed")),
            None => None,
        };
        self.act(n, due).await
    }

    /// Runs one action drawn from the mix, due at `due`, against gateway `n` (modulo their
    /// number); returns each request's outcome.
    pub async fn act(&self, n: usize, due: Instant) -> Vec<Outcome> {
        let mut run = Run {
            shoppers: self,
            url: &self.urls[n % self.urls.len()],
            due: Some(due),
            out: Vec::with_capacity(3),
        };
        match self.mix.pick() {
            Action::Product => run.get(&self.product_path()).await,
            Action::Listing => run.get(&self.listing_path()).await,
            Action::Search => run.get(&self.search_path()).await,
            Action::ViewCart => run.view_cart().await,
            Action::AddToCart => run.add_to_cart().await,
            Action::Checkout => run.check_out().await,
        }
        run.out
    }

    fn product_path(&self) -> String {
        let ids = &self.shop.product_ids;
        let id = &ids[rand::thread_rng().gen_range(0..ids.len())];
        format!("/v1/stores/{}/products/{id}", self.shop.store)
    }

    fn listing_path(&self) -> String {
        let page = rand::thread_rng().gen_range(1..=self.shop.pages);
        let sort = ["newest", "price_asc"][rand::thread_rng().gen_range(0..2)];
        format!("/v1/stores/{}/products?page={page}&sort={sort}", self.shop.store)
    }

    fn search_path(&self) -> String {
        let words = &self.shop.words;
        let word = words[rand::thread_rng().gen_range(0..words.len())];
        format!("/v1/stores/{}/search?q={word}", self.shop.store)
    }

    fn take_cart(&self, with_lines: bool) -> Option<Cart> {
        let mut carts = self.carts.lock().unwrap_or_else(|e| e.into_inner());
        let at = carts.iter().rposition(|c| !with_lines || c.lines > 0)?;
        Some(carts.swap_remove(at))
    }

    fn put_cart(&self, cart: Cart) {
        let mut carts = self.carts.lock().unwrap_or_else(|e| e.into_inner());
        if carts.len() < POOL_LIMIT && cart.lines < CART_LINES_LIMIT {
            carts.push(cart);
        }
    }
}

/// One action in progress: where it sends, and what its requests gave.
struct Run<'a> {
    shoppers: &'a Shoppers,
    url: &'a str,
    /// The action's scheduled instant, until its first request has used it.
    due: Option<Instant>,
    out: Vec<Outcome>,
}

impl Run<'_> {
    fn store_url(&self, rest: &str) -> String {
        format!("{}/v1/stores/{}{rest}", self.url, self.shoppers.shop.store)
    }

    async fn get(&mut self, path: &str) {
        let request = self.shoppers.http.get(format!("{}{path}", self.url));
        self.send(request, false).await;
    }

    async fn view_cart(&mut self) {
        let Some(cart) = self.shoppers.take_cart(false) else {
            return self.add_to_cart().await;
        };
        let request = self
            .shoppers
            .http
            .get(self.store_url(&format!("/carts/{}", cart.id)))
            .header("x-cart-token", &cart.token);
        self.send(request, false).await;
        self.shoppers.put_cart(cart);
    }

    async fn add_to_cart(&mut self) {
        let cart = match self.shoppers.take_cart(false) {
            Some(cart) => cart,
            None => match self.new_cart().await {
                Some(cart) => cart,
                None => return,
            },
        };
        if let Some(cart) = self.add_line(cart).await {
            self.shoppers.put_cart(cart);
        }
    }

    /// Tokenizes a card of its own and checks a cart with lines out (a new one when the pool has
    /// none); the cart is used up either way.
    async fn check_out(&mut self) {
        let cart = match self.shoppers.take_cart(true) {
            Some(cart) => Some(cart),
            None => match self.new_cart().await {
                Some(cart) => self.add_line(cart).await,
                None => None,
            },
        };
        let Some(cart) = cart.filter(|c| c.lines > 0) else {
            return;
        };
        let n = self.shoppers.checkouts.fetch_add(1, Ordering::Relaxed);
        let tokenize = self
            .shoppers
            .http
            .post(self.store_url("/payment-methods"))
            .json(&json!({"card_number": card(n)}));
        let Some(method) = self.send(tokenize, true).await else {
            return;
        };
        let Some(method) = method["id"].as_str() else {
            return;
        };
        let checkout = self
            .shoppers
            .http
            .post(self.store_url("/checkout"))
            .header("x-cart-token", &cart.token)
            .header("idempotency-key", format!("overload-{n}"))
            .json(&crate::bench::checkout_body(&cart.id, method));
        self.send(checkout, false).await;
    }

    async fn new_cart(&mut self) -> Option<Cart> {
        let request = self.shoppers.http.post(self.store_url("/carts"));
        let body = self.send(request, true).await?;
        Some(Cart {
            id: body["id"].as_str()?.to_owned(),
            token: body["cart_token"].as_str()?.to_owned(),
            lines: 0,
        })
    }

    /// Adds one line of a random SKU; `None` when the cart is no use any more (refused).
    async fn add_line(&mut self, mut cart: Cart) -> Option<Cart> {
        let skus = &self.shoppers.shop.skus;
        let sku = &skus[rand::thread_rng().gen_range(0..skus.len())];
        let request = self
            .shoppers
            .http
            .post(self.store_url(&format!("/carts/{}/items", cart.id)))
            .header("x-cart-token", &cart.token)
            .json(&json!({"sku": sku, "quantity": 1}));
        self.send(request, false).await?;
        cart.lines += 1;
        Some(cart)
    }

    /// Sends one request and reads its whole answer, recording the outcome; returns the body
    /// (parsed when `want_body`, else `Null`) of a 2xx answer only.
    async fn send(&mut self, request: reqwest::RequestBuilder, want_body: bool) -> Option<Value> {
        let sent = self.due.take().unwrap_or_else(Instant::now);
        let handed = Instant::now();
        let (answer, body) = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = response.headers().contains_key("retry-after");
                match response.bytes().await {
                    Ok(bytes) => {
                        let body = (want_body && (200..300).contains(&status))
                            .then(|| serde_json::from_slice(&bytes).unwrap_or(Value::Null));
                        (Answer::Status(status, retry_after), body)
                    }
                    Err(e) => (failure(&e), None),
                }
            }
            Err(e) => (failure(&e), None),
        };
        let outcome = Outcome {
            due_us: micros(sent.saturating_duration_since(self.shoppers.epoch)),
            latency_us: micros(sent.elapsed()),
            wire_us: micros(handed.elapsed()),
            answer,
        };
        self.out.push(outcome);
        match answer {
            Answer::Status(200..=299, _) => Some(body.unwrap_or(Value::Null)),
            _ => None,
        }
    }
}

fn failure(e: &reqwest::Error) -> Answer {
    if e.is_timeout() {
        Answer::TimedOut
    } else {
        Answer::Failed
    }
}

fn micros(d: Duration) -> u64 {
    d.as_micros().min(u128::from(u64::MAX)) as u64
}
