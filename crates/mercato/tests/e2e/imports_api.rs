//! The legacy import routes through the edge, in both topologies: an owner imports categories,
//! products, stock and customers; outcomes name the derived ids, a repeat is `unchanged`, the
//! checksums and records of a range are what was sent (no password hash comes back), progress
//! lists every entity; a batch over the gateway's usual body limit goes through; staff and
//! customers are 403, another store's owner 404, bad paths 404, bad batches and ranges 422.

use crate::harness::{Platform, Reply, platforms};
use mercato_gateway::dto_imports::{ImportBatch, ImportCustomer, ImportProduct, ImportStock};
use mercato_proto::imports::{
    Entity, ImportedCategory, ImportedCustomer, ImportedProduct, ImportedStock, ImportedVariant,
};
use mercato_runtime::imports::{Canonical, numeric_key, target_id};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";
const LEGACY_HASH: &str = "$P$BK2ZJm2ci9yX5ZSFLLH5cOvBz7VrHh.";

/// A simple product with one variant, priced in the store's currency.
fn product(id: u64, description: &str) -> ImportedProduct {
    ImportedProduct {
        legacy_key: numeric_key(id),
        slug: format!("legacy-{id}"),
        title: format!("Legacy product {id}"),
        description: description.to_owned(),
        status: "active".into(),
        category_legacy_key: numeric_key(1),
        variants: vec![ImportedVariant {
            legacy_key: numeric_key(id),
            sku: format!("LEG-{id}"),
            price_minor: 1000 + id as i64,
            weight_grams: 200,
            requires_shipping: true,
            ..Default::default()
        }],
        modified_at_ms: 1_700_000_000_000,
        ..Default::default()
    }
}

fn body(batch: ImportBatch) -> Value {
    serde_json::to_value(batch).unwrap()
}

fn products_body(products: &[ImportedProduct]) -> Value {
    let products = products.iter().cloned().map(ImportProduct::from).collect();
    body(ImportBatch {
        products,
        ..Default::default()
    })
}

fn outcomes(reply: &Reply) -> Vec<&str> {
    let list = reply.body["outcomes"].as_array().expect("outcomes");
    list.iter().map(|o| o["outcome"].as_str().unwrap()).collect()
}

/// The wrapping sum of the records' checksums, as a segment reports it.
fn sum<T: Canonical>(records: &[T]) -> String {
    let total = records.iter().fold(0u64, |sum, r| sum.wrapping_add(r.checksum()));
    format!("{total:016x}")
}

async fn owner_of_new_store(p: &Platform) -> (String, String, String) {
    let (store, provisioned) = p.provision(0).await;
    let store_id = provisioned["store"]["id"].as_str().unwrap().to_owned();
    let (owner, _) = p.sign_in(0, &store, "owner@example.com", PASSWORD).await;
    (store, store_id, owner)
}

#[tokio::test]
async fn an_owner_imports_a_catalog_and_reads_back_its_checksums_records_and_progress() {
    for p in platforms().await {
        let (store, store_id, owner) = owner_of_new_store(&p).await;
        let base = format!("/v1/stores/{store}/imports/woocommerce");
        let category = ImportedCategory {
            legacy_key: numeric_key(1),
            name: "Tops".into(),
            slug: "tops".into(),
            ..Default::default()
        };
        let categories = body(ImportBatch {
            categories: vec![category.into()],
            ..Default::default()
        });
        let made = p
            .post(0, &format!("{base}/categories"), Some(&owner), &categories)
            .await;
        assert_eq!(
            (made.status, outcomes(&made)),
            (200, vec!["created"]),
            "{}: {}",
            p.name,
            made.body
        );

        let products = vec![product(10, "Cotton."), product(20, "Wool.")];
        let made = p
            .post(
                1,
                &format!("{base}/products"),
                Some(&owner),
                &products_body(&products),
            )
            .await;
        assert_eq!(
            (made.status, outcomes(&made)),
            (200, vec!["created"; 2]),
            "{}: {}",
            p.name,
            made.body
        );
        let id = target_id(&store_id, "woocommerce", Entity::Product, &numeric_key(10)).to_string();
        assert_eq!(made.body["outcomes"][0]["target_id"], json!(id), "{}", p.name);
        let shown = p
            .get(0, &format!("/v1/stores/{store}/products/{id}"), Some(&owner))
            .await;
        assert_eq!(
            shown.body["title"], "Legacy product 10",
            "{}: {}",
            p.name, shown.body
        );
        let again = p
            .post(
                0,
                &format!("{base}/products"),
                Some(&owner),
                &products_body(&products),
            )
            .await;
        assert_eq!(outcomes(&again), ["unchanged"; 2], "{}: {}", p.name, again.body);

        let stock: Vec<ImportStock> = [("LEG-10", 5), ("LEG-20", 0)]
            .into_iter()
            .map(|(sku, on_hand)| {
                ImportStock::from(ImportedStock {
                    sku: sku.into(),
                    on_hand,
                    modified_at_ms: 1,
                })
            })
            .collect();
        let stocked = p
            .post(
                1,
                &format!("{base}/stock"),
                Some(&owner),
                &body(ImportBatch {
                    stock,
                    ..Default::default()
                }),
            )
            .await;
        assert_eq!(stocked.status, 200, "{}: {}", p.name, stocked.body);
        let level = p
            .get(0, &format!("/v1/stores/{store}/inventory/LEG-10"), Some(&owner))
            .await;
        assert!(
            level.body.to_string().contains("\"on_hand\":5"),
            "{}: {}",
            p.name,
            level.body
        );

        let sums = p
            .get(0, &format!("{base}/products/checksums?segments=1"), Some(&owner))
            .await;
        assert_eq!(sums.status, 200, "{}: {}", p.name, sums.body);
        let segment = &sums.body["segments"][0];
        assert_eq!(
            (segment["count"].as_u64(), &segment["checksum"]),
            (Some(2), &json!(sum(&products)))
        );
        let upper = numeric_key(20);
        let half = p
            .get(
                0,
                &format!("{base}/products/checksums?segments=4&to_key={upper}"),
                Some(&owner),
            )
            .await;
        let counted: u64 = half.body["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["count"].as_u64().unwrap())
            .sum();
        assert_eq!(counted, 1, "{}: {}", p.name, half.body);

        let records = p
            .get(1, &format!("{base}/products/records?limit=1"), Some(&owner))
            .await;
        let listed: Vec<ImportProduct> = serde_json::from_value(records.body["products"].clone()).unwrap();
        assert_eq!(listed.len(), 1, "{}: {}", p.name, records.body);
        let stored = ImportedProduct::from(listed[0].clone());
        assert_eq!(
            stored.checksum(),
            products[0].checksum(),
            "{}: {}",
            p.name,
            records.body
        );

        let progress = p.get(0, &base, Some(&owner)).await;
        assert_eq!(progress.status, 200, "{}: {}", p.name, progress.body);
        let entities: Vec<(&str, u64, &str)> = progress.body["entities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["entity"].as_str().unwrap(),
                    e["count"].as_u64().unwrap(),
                    e["last_key"].as_str().unwrap(),
                )
            })
            .collect();
        let (one, twenty) = (numeric_key(1), numeric_key(20));
        let expected = [
            ("categories", 1, one.as_str()),
            ("products", 2, twenty.as_str()),
            ("stock", 2, "LEG-20"),
            ("customers", 0, ""),
            ("orders", 0, ""),
        ];
        assert_eq!(entities, expected, "{}: {}", p.name, progress.body);
    }
}

#[tokio::test]
async fn a_thousand_products_over_the_usual_body_limit_import_in_one_batch() {
    for p in platforms().await {
        let (store, _, owner) = owner_of_new_store(&p).await;
        let base = format!("/v1/stores/{store}/imports/woocommerce");
        let category = ImportedCategory {
            legacy_key: numeric_key(1),
            name: "All".into(),
            slug: "all".into(),
            ..Default::default()
        };
        let categories = body(ImportBatch {
            categories: vec![category.into()],
            ..Default::default()
        });
        assert_eq!(
            p.post(0, &format!("{base}/categories"), Some(&owner), &categories)
                .await
                .status,
            200
        );
        let long = "A description long enough to matter. ".repeat(40);
        let products: Vec<ImportedProduct> = (1..=1000).map(|i| product(1000 + i, &long)).collect();
        let batch = products_body(&products);
        assert!(
            batch.to_string().len() > 1024 * 1024,
            "the batch must exceed the usual limit"
        );
        let made = p.post(0, &format!("{base}/products"), Some(&owner), &batch).await;
        assert_eq!(made.status, 200, "{}: {}", p.name, made.body);
        assert_eq!(outcomes(&made), vec!["created"; 1000], "{}", p.name);
        let sums = p
            .get(0, &format!("{base}/products/checksums?segments=8"), Some(&owner))
            .await;
        let segments = sums.body["segments"].as_array().unwrap();
        let counted: u64 = segments.iter().map(|s| s["count"].as_u64().unwrap()).sum();
        assert_eq!(counted, 1000, "{}: {}", p.name, sums.body);
    }
}

#[tokio::test]
async fn only_the_owner_imports_and_bad_paths_batches_and_ranges_are_refused() {
    for p in platforms().await {
        let (store, _, owner) = owner_of_new_store(&p).await;
        let staff = json!({"email": "sam@example.com", "password": PASSWORD});
        let made = p
            .post(0, &format!("/v1/stores/{store}/staff"), Some(&owner), &staff)
            .await;
        assert_eq!(made.status, 201, "{}: {}", p.name, made.body);
        let (staff, _) = p.sign_in(0, &store, "sam@example.com", PASSWORD).await;
        let ann = json!({"email": "ann@example.com", "password": PASSWORD});
        let made = p
            .post(0, &format!("/v1/stores/{store}/customers"), None, &ann)
            .await;
        assert_eq!(made.status, 201, "{}: {}", p.name, made.body);
        let (customer, _) = p.sign_in(0, &store, "ann@example.com", PASSWORD).await;
        let (_, _, stranger) = owner_of_new_store(&p).await;

        let base = format!("/v1/stores/{store}/imports/woocommerce");
        let legacy = ImportedCustomer {
            legacy_key: numeric_key(7),
            email: "legacy@example.com".into(),
            first_name: "Lea".into(),
            password_hash: LEGACY_HASH.into(),
            ..Default::default()
        };
        // The REST shape never carries a hash out, so the one going in is set by hand.
        let mut sent = ImportCustomer::from(legacy);
        sent.password_hash = LEGACY_HASH.into();
        let customers = body(ImportBatch {
            customers: vec![sent],
            ..Default::default()
        });
        let path = format!("{base}/customers");
        for (token, status) in [
            (None, 401),
            (Some(&staff), 403),
            (Some(&customer), 403),
            (Some(&stranger), 404),
        ] {
            let reply = p.post(0, &path, token.map(String::as_str), &customers).await;
            assert_eq!(reply.status, status, "{}: {}", p.name, reply.body);
            let reply = p.get(0, &base, token.map(String::as_str)).await;
            assert_eq!(reply.status, status, "{}: {}", p.name, reply.body);
            let began = json!({"event": "began", "source_clock_ms": 5_000});
            let reply = p
                .post(0, &format!("{base}/passes"), token.map(String::as_str), &began)
                .await;
            assert_eq!(reply.status, status, "{}: {}", p.name, reply.body);
        }
        the_owner_keeps_the_follow_watermark(&p, &base, &owner).await;
        let made = p.post(0, &path, Some(&owner), &customers).await;
        assert_eq!(
            (made.status, outcomes(&made)),
            (200, vec!["created"]),
            "{}: {}",
            p.name,
            made.body
        );
        let records = p.get(0, &format!("{path}/records"), Some(&owner)).await;
        assert_eq!(
            records.body["customers"][0]["email"], "legacy@example.com",
            "{}: {}",
            p.name, records.body
        );
        assert!(
            !records.body.to_string().contains(LEGACY_HASH),
            "{}: the hash came back",
            p.name
        );

        for bad in [
            format!("/v1/stores/{store}/imports/magento/customers"),
            format!("{base}/posts"),
            format!("/v1/stores/{store}/imports/magento"),
            format!("{base}/posts/checksums"),
        ] {
            let reply = if bad.ends_with("customers") || bad.ends_with("posts") {
                p.post(0, &bad, Some(&owner), &customers).await
            } else {
                p.get(0, &bad, Some(&owner)).await
            };
            assert_eq!(reply.status, 404, "{}: {bad}: {}", p.name, reply.body);
        }
        let wrong_list = p
            .post(0, &format!("{base}/stock"), Some(&owner), &customers)
            .await;
        assert_eq!(
            (wrong_list.status, wrong_list.error_fields()),
            (422, vec!["customers"]),
            "{}",
            p.name
        );
        let stock = (0..1001)
            .map(|i| ImportStock {
                sku: format!("S-{i}"),
                on_hand: 1,
                modified_at_ms: 0,
            })
            .collect();
        let too_many = p
            .post(
                0,
                &format!("{base}/stock"),
                Some(&owner),
                &body(ImportBatch {
                    stock,
                    ..Default::default()
                }),
            )
            .await;
        assert_eq!(
            (too_many.status, too_many.error_fields()),
            (422, vec!["stock"]),
            "{}",
            p.name
        );
        for (query, field) in [
            ("checksums?segments=0", "segments"),
            ("checksums?segments=257", "segments"),
            ("records?limit=1001", "limit"),
            ("records?from_key=b&to_key=a", "to_key"),
        ] {
            let reply = p.get(0, &format!("{base}/customers/{query}"), Some(&owner)).await;
            assert_eq!(
                (reply.status, reply.error_fields()),
                (422, vec![field]),
                "{}: {query}: {}",
                p.name,
                reply.body
            );
        }
    }
}

/// `POST …/passes`: a start with the source's clock, its finish making it the watermark, which
/// the progress shows; malformed events are refused and change nothing.
async fn the_owner_keeps_the_follow_watermark(p: &Platform, base: &str, owner: &str) {
    let passes = format!("{base}/passes");
    for bad in [
        json!({"event": "began"}),
        json!({"event": "began", "source_clock_ms": 0}),
        json!({"event": "finished"}),
        json!({"event": "paused", "source_clock_ms": 5_000}),
        json!({"event": "began", "source_clock_ms": 5_000, "extra": 1}),
    ] {
        let reply = p.post(0, &passes, Some(owner), &bad).await;
        assert!(
            [400, 422].contains(&reply.status),
            "{}: {bad} → {} {}",
            p.name,
            reply.status,
            reply.body
        );
    }
    let began = json!({"event": "began", "source_clock_ms": 5_000});
    let reply = p.post(0, &passes, Some(owner), &began).await;
    assert_eq!(
        reply.body,
        json!({"watermark_ms": 0, "pass_began_ms": 5_000}),
        "{}",
        p.name
    );
    let finished = json!({"event": "finished", "source_clock_ms": 5_000});
    let reply = p.post(0, &passes, Some(owner), &finished).await;
    assert_eq!(
        reply.body,
        json!({"watermark_ms": 5_000, "pass_began_ms": 0}),
        "{}",
        p.name
    );
    let progress = p.get(0, base, Some(owner)).await;
    assert_eq!(
        progress.body["watermark_ms"], 5_000,
        "{}: {}",
        p.name, progress.body
    );
}
