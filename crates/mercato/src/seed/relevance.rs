//! The search relevance set: hand-written queries over the demo catalog, each with what a
//! shopper typing it wants, scored by precision@5 and nDCG@10 with floors that must not regress.
//!
//! `relevance.txt` holds one query a line: `query | wanted`. `wanted` is words that must all be
//! in a product's title (whole words, any case; `a/b` accepts either, `cat:slug` means the
//! product's category). A product that meets them is relevant; the ranking is judged on the
//! first 5 and 10 hits. The catalog is [`super::demo_catalog`] with the demo's 500 products,
//! indexed directly (no database), and the store's synonyms are `sneakers = trainers`. A last
//! test checks that the catalog accepts the demo products at all.

use super::{demo_catalog, demo_category_name};
use mercato_catalog::search::{Change, IndexedProduct, SearchIndex, SearchParams};
use mercato_proto::catalog::CreateProductRequest;
use std::time::{Duration, Instant};

const SET: &str = include_str!("relevance.txt");
const PRODUCTS: u32 = 500;
const STORE: &str = "demo-store";

/// The scores reached by the ranking of issue 12 (precision@5 1.000, nDCG@10 0.995; before it,
/// 0.944 and 0.944), less a small margin: a change that ranks worse fails here.
const MIN_PRECISION_AT_5: f64 = 0.98;
const MIN_NDCG_AT_10: f64 = 0.975;

struct Judged {
    query: String,
    wanted: Vec<Vec<String>>,
}

fn judged() -> Vec<Judged> {
    SET.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (query, wanted) = line.split_once('|').expect("query | wanted");
            Judged {
                query: query.trim().to_owned(),
                wanted: wanted
                    .split_whitespace()
                    .map(|w| w.split('/').map(str::to_lowercase).collect())
                    .collect(),
            }
        })
        .collect()
}

fn relevant(p: &CreateProductRequest, wanted: &[Vec<String>]) -> bool {
    let words: Vec<String> = p.title.split_whitespace().map(str::to_lowercase).collect();
    wanted.iter().all(|any| {
        any.iter().any(|w| match w.strip_prefix("cat:") {
            Some(slug) => p.category == slug,
            None => words.contains(w),
        })
    })
}

fn index(products: &[CreateProductRequest]) -> SearchIndex {
    let index = SearchIndex::new().unwrap();
    let changes = products.iter().enumerate().map(|(i, p)| {
        Change::Upsert(IndexedProduct {
            store_id: STORE.into(),
            product_id: format!("p{i}"),
            slug: p.slug.clone(),
            title: p.title.clone(),
            description: p.description.clone(),
            skus: p.variants.iter().map(|v| v.sku.clone()).collect(),
            category_slug: p.category.clone(),
            category_name: demo_category_name(&p.category).unwrap_or_default().into(),
            min_price: p.variants.iter().map(|v| v.price_minor).min().unwrap_or(0),
            currency: "EUR".into(),
            version: 1,
        })
    });
    index.apply(changes.collect::<Vec<_>>()).unwrap();
    index
}

fn search(index: &SearchIndex, query: &str) -> Vec<String> {
    let params = SearchParams {
        store_id: STORE.into(),
        text: query.into(),
        category: String::new(),
        min_price: None,
        max_price: None,
        limit: 10,
        offset: 0,
        synonyms: vec![vec!["sneakers".into(), "trainers".into()]],
    };
    index
        .search(&params)
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.slug)
        .collect()
}

/// (precision@5, nDCG@10) of one ranking against the relevant slugs.
fn scores(ranked: &[String], relevant: &[&str]) -> (f64, f64) {
    let hit = |slug: &String| relevant.contains(&slug.as_str());
    let top5 = ranked.iter().take(5).filter(|s| hit(s)).count();
    let precision = top5 as f64 / relevant.len().min(5) as f64;
    let gain = |i: usize| 1.0 / ((i + 2) as f64).log2();
    let dcg: f64 = ranked
        .iter()
        .take(10)
        .enumerate()
        .filter(|(_, s)| hit(s))
        .map(|(i, _)| gain(i))
        .sum();
    let ideal: f64 = (0..relevant.len().min(10)).map(gain).sum();
    (precision, dcg / ideal)
}

#[test]
fn the_relevance_set_scores_above_its_floors() {
    let products = demo_catalog(STORE, PRODUCTS);
    let index = index(&products);
    let set = judged();
    assert!(set.len() >= 50, "the set has {} queries", set.len());
    let (mut precision, mut ndcg) = (0.0, 0.0);
    let mut slowest = Duration::ZERO;
    let mut report = String::new();
    let empty: Vec<&str> = set
        .iter()
        .filter(|j| !products.iter().any(|p| relevant(p, &j.wanted)))
        .map(|j| j.query.as_str())
        .collect();
    assert!(
        empty.is_empty(),
        "queries that want nothing of the catalog: {empty:?}"
    );
    for j in &set {
        let wanted: Vec<&str> = products
            .iter()
            .filter(|p| relevant(p, &j.wanted))
            .map(|p| p.slug.as_str())
            .collect();
        let started = Instant::now();
        let ranked = search(&index, &j.query);
        slowest = slowest.max(started.elapsed());
        let (p, n) = scores(&ranked, &wanted);
        precision += p;
        ndcg += n;
        if p < 1.0 || n < 1.0 {
            report.push_str(&format!(
                "{:?}: p@5 {p:.2} nDCG@10 {n:.2}, top {:?}\n",
                j.query,
                &ranked[..ranked.len().min(5)]
            ));
        }
    }
    let (precision, ndcg) = (precision / set.len() as f64, ndcg / set.len() as f64);
    println!(
        "{} queries: precision@5 {precision:.3}, nDCG@10 {ndcg:.3}, slowest {slowest:?}\n{report}",
        set.len()
    );
    assert!(
        precision >= MIN_PRECISION_AT_5,
        "precision@5 {precision:.3}\n{report}"
    );
    assert!(ndcg >= MIN_NDCG_AT_10, "nDCG@10 {ndcg:.3}\n{report}");
}

#[test]
fn scores_count_hits_in_the_first_places_and_the_best_possible() {
    let ranked: Vec<String> = ["a", "x", "b"].map(String::from).to_vec();
    let (p, n) = scores(&ranked, &["a", "b"]);
    assert_eq!(p, 1.0);
    assert!(n < 1.0 && n > 0.9, "{n}");
    let (p, n) = scores(&ranked[1..], &["a"]);
    assert_eq!((p, n), (0.0, 0.0));
}

#[test]
fn a_word_found_exactly_matches_nothing_that_is_only_a_typo_of_it() {
    let products = demo_catalog(STORE, PRODUCTS);
    let index = index(&products);
    for (query, noun) in [("boots", "boots"), ("books", "books"), ("bowl", "bowl")] {
        let wanted = products
            .iter()
            .filter(|p| relevant(p, &[vec![noun.into()]]))
            .count();
        let params = SearchParams {
            store_id: STORE.into(),
            text: query.into(),
            category: String::new(),
            min_price: None,
            max_price: None,
            limit: 10,
            offset: 0,
            synonyms: Vec::new(),
        };
        let total = index.search(&params).unwrap().total;
        let in_category = products.iter().filter(|p| p.category == query).count();
        assert!(
            total as usize == wanted || total as usize == in_category.max(wanted),
            "{query}: {total} matches, {wanted} products are {noun}"
        );
    }
}

/// The demo catalog passes the catalog's own checks (options, currencies, SKUs): the seed
/// would stop half-way otherwise. Four products of every leaf category.
#[tokio::test]
async fn the_catalog_accepts_the_demo_products() {
    use mercato_catalog::CatalogService;
    use mercato_runtime::cache::{MemoryCache, TieredCache};
    use mercato_runtime::clients::catalog::CatalogClient;
    use mercato_runtime::db::Db;
    use std::sync::Arc;

    let cache = Arc::new(TieredCache::new(
        "catalog",
        MemoryCache::new(1_000, Duration::from_secs(60)),
        None,
    ));
    let db = Db::sqlite_temp().await.unwrap();
    let service = CatalogService::new(db, cache, Arc::new(tokio::sync::Notify::new()))
        .await
        .unwrap();
    let catalog = CatalogClient::local(service, Duration::from_secs(10));
    let store = mercato_runtime::ids::StoreId::new().to_string();
    super::create_categories(&catalog, &store).await.unwrap();
    for product in demo_catalog(&store, 48) {
        let slug = product.slug.clone();
        let created = catalog.create_product(product).await;
        assert!(created.is_ok(), "{slug}: {created:?}");
    }
}
