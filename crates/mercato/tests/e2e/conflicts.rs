//! 409s through the edge carry the code that names the conflict, in both topologies (in the
//! distributed one the code crosses catalog's or identity's gRPC in the status metadata).

use crate::harness::platforms;
use serde_json::json;

#[tokio::test]
async fn a_taken_product_slug_or_sku_and_category_slug_answer_slug_taken_or_sku_taken() {
    for p in platforms().await {
        let (store, _) = p.provision(0).await;
        let (owner, _) = p
            .sign_in(1, &store, "owner@example.com", "correct horse battery")
            .await;
        let products = format!("/v1/stores/{store}/products");
        let product = |slug: &str, sku: &str| {
            json!({"slug": slug, "title": "Mug", "variants": [
                {"sku": sku, "price": {"amount_minor": 900, "currency": "EUR"}}]})
        };
        let first = p.post(0, &products, Some(&owner), &product("mug", "MUG-1")).await;
        assert_eq!(first.status, 201, "{}: {}", p.name, first.body);

        let same_slug = p.post(1, &products, Some(&owner), &product("mug", "MUG-2")).await;
        assert_eq!(same_slug.status, 409, "{}: {}", p.name, same_slug.body);
        assert_eq!(same_slug.body["code"], "slug_taken", "{}", p.name);
        assert_eq!(same_slug.body["title"], "Slug taken", "{}", p.name);
        assert_eq!(same_slug.body["errors"][0]["field"], "slug", "{}", p.name);

        let same_sku = p.post(0, &products, Some(&owner), &product("cup", "MUG-1")).await;
        assert_eq!(same_sku.status, 409, "{}: {}", p.name, same_sku.body);
        assert_eq!(same_sku.body["code"], "sku_taken", "{}", p.name);
        assert_eq!(same_sku.body["errors"][0]["field"], "sku", "{}", p.name);

        let categories = format!("/v1/stores/{store}/categories");
        let category = json!({"slug": "kitchen", "name": "Kitchen"});
        assert_eq!(p.post(0, &categories, Some(&owner), &category).await.status, 201);
        let again = p.post(1, &categories, Some(&owner), &category).await;
        assert_eq!(again.status, 409, "{}: {}", p.name, again.body);
        assert_eq!(again.body["code"], "slug_taken", "{}", p.name);
    }
}

#[tokio::test]
async fn a_taken_store_slug_and_a_registered_email_answer_slug_taken_and_email_taken() {
    for p in platforms().await {
        let (store, _) = p.provision(0).await;
        let again = json!({"slug": store, "name": "Copy", "currency": "EUR",
            "owner": {"email": "someone@example.com", "password": "correct horse battery"}});
        let taken = p.post(1, "/v1/stores", None, &again).await;
        assert_eq!(taken.status, 409, "{}: {}", p.name, taken.body);
        assert_eq!(taken.body["code"], "slug_taken", "{}", p.name);
        assert_eq!(taken.error_fields(), ["slug"], "{}", p.name);

        let customers = format!("/v1/stores/{store}/customers");
        let ann = json!({"email": "ann@example.com", "password": "correct horse battery"});
        assert_eq!(p.post(0, &customers, None, &ann).await.status, 201, "{}", p.name);
        let twice = p.post(1, &customers, None, &ann).await;
        assert_eq!(twice.status, 409, "{}: {}", p.name, twice.body);
        assert_eq!(twice.body["code"], "email_taken", "{}", p.name);
        assert_eq!(twice.body["title"], "Email taken", "{}", p.name);
        assert_eq!(twice.error_fields(), ["email"], "{}", p.name);
    }
}
