//! The benchmark scenarios of `benchmarks/README.md`: catalog reads and store provisioning.

use super::LoadArgs;
use super::load::{client, percentile, run_load};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const PASSWORD: &str = "benchmark password";
/// Words the generated products are made of; searches pick one.
pub(super) const WORDS: &[&str] = &[
    "shirt", "blue", "lamp", "oak", "leather", "mug", "wool", "boots", "navy", "chair",
];

/// Provisions a store with a unique slug through `url`; returns its slug and the owner's token.
pub(super) async fn fresh_store(http: &reqwest::Client, url: &str) -> anyhow::Result<(String, String)> {
    let slug = format!("bench-{}", &uuid::Uuid::now_v7().simple().to_string()[16..]);
    let body = json!({"slug": slug, "name": "Bench", "currency": "EUR",
                      "owner": {"email": "owner@bench.test", "password": PASSWORD}});
    let r = http.post(format!("{url}/v1/stores")).json(&body).send().await?;
    anyhow::ensure!(r.status() == 201, "provisioning failed: {}", r.text().await?);
    let token: Value = http
        .post(format!("{url}/v1/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("store", &slug),
            ("username", "owner@bench.test"),
            ("password", PASSWORD),
        ])
        .send()
        .await?
        .json()
        .await?;
    let token = token["access_token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no token: {token}"))?
        .to_owned();
    Ok((slug, token))
}

/// The `i`-th generated product, with one variant `sku`: a title and description of two of
/// [`WORDS`] (what searches look for) and a price that varies with `i`.
pub(super) fn product_body(i: u32, sku: &str, category: Option<&str>) -> Value {
    let word = WORDS[i as usize % WORDS.len()];
    let other = WORDS[(i as usize * 7 + 3) % WORDS.len()];
    let mut body = json!({
        "slug": format!("p-{i}"), "title": format!("{word} {other} {i}"),
        "description": format!("A {word} made for everyday use, with a {other} finish."),
        "variants": [{"sku": sku, "price": {"amount_minor": 500 + (i64::from(i) * 37) % 20000, "currency": "EUR"}}]
    });
    if let Some(category) = category {
        body["category"] = json!(category);
    }
    body
}

/// Creates a product as the owner; returns its id.
pub(super) async fn create_product(
    http: &reqwest::Client,
    url: &str,
    store: &str,
    token: &str,
    body: &Value,
) -> anyhow::Result<String> {
    let created: Value = http
        .post(format!("{url}/v1/stores/{store}/products"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(created["id"].as_str().unwrap_or_default().to_owned())
}

/// Sets a SKU's stock (default location) as the owner.
pub(super) async fn set_stock(
    http: &reqwest::Client,
    url: &str,
    store: &str,
    token: &str,
    sku: &str,
    on_hand: i64,
) -> anyhow::Result<()> {
    http.put(format!("{url}/v1/stores/{store}/inventory/{sku}"))
        .bearer_auth(token)
        .json(&json!({"on_hand": on_hand}))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// Creates product `i` (see [`product_body`]) with one SKU and `on_hand` units of it; returns
/// the product's id.
pub(super) async fn stocked_product(
    http: &reqwest::Client,
    url: &str,
    (store, token): (&str, &str),
    i: u32,
    sku: &str,
    on_hand: i64,
) -> anyhow::Result<String> {
    let id = create_product(http, url, store, token, &product_body(i, sku, None)).await?;
    set_stock(http, url, store, token, sku, on_hand).await?;
    Ok(id)
}

/// Creates a store with `products` products, then measures product, listing and search reads.
pub async fn catalog(args: &LoadArgs, products: u32) -> anyhow::Result<()> {
    let http = client();
    let url = &args.urls[0];
    let (slug, token) = fresh_store(&http, url).await?;
    for c in ["apparel", "home", "outdoors"] {
        http.post(format!("{url}/v1/stores/{slug}/categories"))
            .bearer_auth(&token)
            .json(&json!({"slug": c, "name": c}))
            .send()
            .await?
            .error_for_status()?;
    }
    let mut ids = Vec::new();
    for i in 0..products {
        let category = ["apparel", "home", "outdoors"][i as usize % 3];
        let body = product_body(i, &format!("SKU-{i}"), Some(category));
        ids.push(create_product(&http, url, &slug, &token, &body).await?);
    }
    // Wait until search has indexed everything (it follows events).
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let r: Value = http
            .get(format!("{url}/v1/stores/{slug}/search?limit=1"))
            .send()
            .await?
            .json()
            .await?;
        if r["total"].as_u64() == Some(u64::from(products)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("store {slug}: {products} products created and indexed");

    let product_paths = ids
        .iter()
        .map(|id| format!("/v1/stores/{slug}/products/{id}"))
        .collect();
    run_load("product", args, product_paths).await?.print()?;
    let pages = (u32::max(products / 20, 1)).min(10);
    let listing_paths = (1..=pages)
        .flat_map(|p| {
            ["newest", "price_asc"].map(|s| format!("/v1/stores/{slug}/products?page={p}&sort={s}"))
        })
        .collect();
    run_load("listing", args, listing_paths).await?.print()?;
    let search_paths = WORDS
        .iter()
        .map(|w| format!("/v1/stores/{slug}/search?q={w}"))
        .collect();
    run_load("search", args, search_paths).await?.print()?;
    Ok(())
}

/// Measures provisioning latency over `count` stores after `preload` stores exist.
pub async fn provision(url: &str, count: usize, preload: usize, concurrency: usize) -> anyhow::Result<()> {
    let http = client();
    if preload > 0 {
        let started = Instant::now();
        let mut done = 0;
        while done < preload {
            let batch = concurrency.min(preload - done);
            let futures = (0..batch).map(|_| fresh_store(&http, url));
            for r in futures::future::join_all(futures).await {
                r?;
            }
            done += batch;
        }
        println!(
            "preloaded {preload} stores in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let mut latencies = Vec::with_capacity(count);
    for _ in 0..count {
        let slug = format!("prov-{}", &uuid::Uuid::now_v7().simple().to_string()[16..]);
        let body = json!({"slug": slug, "name": "Bench", "currency": "EUR",
                          "owner": {"email": "owner@bench.test", "password": PASSWORD}});
        let sent = Instant::now();
        let r = http.post(format!("{url}/v1/stores")).json(&body).send().await?;
        let status = r.status();
        r.bytes().await?;
        anyhow::ensure!(status == 201, "provisioning failed with {status}");
        latencies.push(sent.elapsed().as_micros() as u64);
    }
    latencies.sort_unstable();
    let report = json!({
        "phase": "provision", "preloaded": preload, "count": count,
        "p50_ms": percentile(&latencies, 50.0), "p90_ms": percentile(&latencies, 90.0),
        "p99_ms": percentile(&latencies, 99.0), "max_ms": percentile(&latencies, 100.0),
    });
    println!(
        "provision  after {preload} stores: p50 {:.2} ms  p99 {:.2} ms over {count}",
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0)
    );
    println!("{report}");
    Ok(())
}
