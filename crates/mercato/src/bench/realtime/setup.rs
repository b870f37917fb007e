//! What the real-time scenarios need before measuring, made over the REST API of a gateway: a
//! store with its owner signed in, stock levels, and customers with a conversation each.

use reqwest::Client;
use serde_json::{Value, json};

const PASSWORD: &str = "benchmark password";

/// A freshly provisioned store and its owner's access token.
pub struct Store {
    pub slug: String,
    pub id: String,
    pub owner_token: String,
}

/// A customer's access token and the conversation channel they opened.
pub struct Customer {
    pub token: String,
    pub channel: String,
}

/// Provisions a store with a unique slug and signs its owner in.
pub async fn store(http: &Client, url: &str) -> anyhow::Result<Store> {
    let slug = format!("rt-{}", &uuid::Uuid::now_v7().simple().to_string()[16..]);
    let body = json!({"slug": slug, "name": "Realtime bench", "currency": "EUR",
                      "owner": {"email": "owner@bench.test", "password": PASSWORD}});
    let provisioned = expect_json(http.post(format!("{url}/v1/stores")).json(&body), 201).await?;
    let id = provisioned["store"]["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no store id in {provisioned}"))?
        .to_owned();
    let owner_token = sign_in(http, url, &slug, "owner@bench.test").await?;
    Ok(Store {
        slug,
        id,
        owner_token,
    })
}

/// Sets the on-hand stock of `sku` (which makes the inventory service publish `stock_changed`).
pub async fn set_stock(
    http: &Client,
    url: &str,
    store: &Store,
    sku: &str,
    on_hand: i64,
) -> anyhow::Result<()> {
    let request = http
        .put(format!("{url}/v1/stores/{}/inventory/{sku}", store.slug))
        .bearer_auth(&store.owner_token)
        .json(&json!({"on_hand": on_hand}));
    expect_json(request, 200).await.map(|_| ())
}

/// Registers customer `n`, signs them in and opens a conversation as them.
pub async fn customer(http: &Client, url: &str, store: &Store, n: usize) -> anyhow::Result<Customer> {
    let email = format!("customer{n}@bench.test");
    let body = json!({"email": email, "password": PASSWORD});
    let request = http
        .post(format!("{url}/v1/stores/{}/customers", store.slug))
        .json(&body);
    expect_json(request, 201).await?;
    let token = sign_in(http, url, &store.slug, &email).await?;
    let request = http
        .post(format!("{url}/v1/stores/{}/conversations", store.slug))
        .bearer_auth(&token)
        .json(&json!({}));
    let conversation = expect_json(request, 201).await?;
    let id = conversation["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no conversation id in {conversation}"))?;
    Ok(Customer {
        channel: format!("conversation:{id}"),
        token,
    })
}

/// A password grant for a user of the store.
async fn sign_in(http: &Client, url: &str, slug: &str, email: &str) -> anyhow::Result<String> {
    let form = [
        ("grant_type", "password"),
        ("store", slug),
        ("username", email),
        ("password", PASSWORD),
    ];
    let request = http.post(format!("{url}/v1/oauth/token")).form(&form);
    let token = expect_json(request, 200).await?;
    token["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no access token in {token}"))
}

/// Sends a request and returns its JSON body, failing (with the body) on another status.
async fn expect_json(request: reqwest::RequestBuilder, status: u16) -> anyhow::Result<Value> {
    let response = request.send().await?;
    let (got, url) = (response.status().as_u16(), response.url().clone());
    let text = response.text().await?;
    anyhow::ensure!(got == status, "{url} answered {got}: {text}");
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}
