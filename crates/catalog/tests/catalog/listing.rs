//! Listing products and categories, on every configured database.

use crate::support::{Catalog, code};
use mercato_proto::catalog::*;
use mercato_runtime::error::ErrorCode;
use mercato_runtime::ids::StoreId;

mercato_runtime::backend_tests! {
    setup: Catalog::on,
    cases: [
        listing_pages_through_products_with_the_total_and_their_variants,
        listing_a_category_includes_its_descendants_by_id_or_slug,
        every_sort_orders_the_listing_and_an_unknown_sort_is_refused,
        categories_form_a_tree_and_bad_or_taken_ones_are_refused,
    ],
}

async fn list(
    c: &Catalog,
    store: &StoreId,
    category: &str,
    sort: &str,
    page: u32,
    per_page: u32,
) -> ListProductsResponse {
    c.client
        .list_products(ListProductsRequest {
            include_hidden: false,
            store_id: store.to_string(),
            category: category.into(),
            sort: sort.into(),
            page,
            per_page,
        })
        .await
        .expect("listing answers")
}

fn slugs(r: &ListProductsResponse) -> Vec<&str> {
    r.products.iter().map(|p| p.slug.as_str()).collect()
}

async fn listing_pages_through_products_with_the_total_and_their_variants(c: Catalog) {
    let store = StoreId::new();
    for i in 0..5 {
        let sku = format!("P-{i}");
        c.product(
            &store,
            &format!("p{i}"),
            &format!("P {i}"),
            "",
            &[(&sku, 100 * i), (&format!("{sku}-B"), 1)],
        )
        .await;
    }
    let first = list(&c, &store, "", "", 0, 2).await;
    assert_eq!((first.total, first.page, first.per_page), (5, 1, 2));
    assert_eq!(slugs(&first), ["p4", "p3"], "newest first");
    assert!(first.products.iter().all(|p| p.variants.len() == 2));
    assert_eq!(slugs(&list(&c, &store, "", "", 3, 2).await), ["p0"]);
    assert!(list(&c, &store, "", "", 4, 2).await.products.is_empty());
    let defaults = list(&c, &store, "", "", 0, 0).await;
    assert_eq!((defaults.per_page, defaults.products.len()), (20, 5));
    assert_eq!(list(&c, &store, "", "", 1, 1000).await.per_page, 100);
}

async fn listing_a_category_includes_its_descendants_by_id_or_slug(c: Catalog) {
    let store = StoreId::new();
    let clothing = c.category(&store, "clothing", "Clothing", "").await;
    let tops = c.category(&store, "tops", "Tops", &clothing.id).await;
    c.category(&store, "tees", "Tees", "tops").await;
    c.category(&store, "garden", "Garden", "").await;
    c.product(&store, "coat", "Coat", "clothing", &[("C-1", 1)]).await;
    c.product(&store, "shirt", "Shirt", &tops.id, &[("S-1", 1)]).await;
    c.product(&store, "tee", "Tee", "tees", &[("T-1", 1)]).await;
    c.product(&store, "rake", "Rake", "garden", &[("R-1", 1)]).await;
    c.product(&store, "misc", "Misc", "", &[("M-1", 1)]).await;

    let all = list(&c, &store, "clothing", "title", 1, 20).await;
    assert_eq!((slugs(&all), all.total), (vec!["coat", "shirt", "tee"], 3));
    let by_id = list(&c, &store, &tops.id, "title", 1, 20).await;
    assert_eq!(slugs(&by_id), ["shirt", "tee"]);
    assert_eq!(slugs(&list(&c, &store, "tees", "", 1, 20).await), ["tee"]);
    assert_eq!(list(&c, &store, "", "", 1, 20).await.total, 5);
    let unknown = c
        .client
        .list_products(ListProductsRequest {
            include_hidden: false,
            store_id: store.to_string(),
            category: "no-such".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(code(unknown), ErrorCode::NotFound);
    let other_store = c
        .client
        .list_products(ListProductsRequest {
            include_hidden: false,
            store_id: StoreId::new().to_string(),
            category: clothing.id.clone(),
            ..Default::default()
        })
        .await;
    assert_eq!(code(other_store), ErrorCode::NotFound, "another store's category");
}

async fn every_sort_orders_the_listing_and_an_unknown_sort_is_refused(c: Catalog) {
    let store = StoreId::new();
    c.product(&store, "b", "banana", "", &[("B-1", 300), ("B-2", 50)])
        .await;
    c.product(&store, "a", "Apple", "", &[("A-1", 200)]).await;
    c.product(&store, "c", "cherry", "", &[("C-1", 100)]).await;
    assert_eq!(
        slugs(&list(&c, &store, "", "newest", 1, 10).await),
        ["c", "a", "b"]
    );
    assert_eq!(slugs(&list(&c, &store, "", "", 1, 10).await), ["c", "a", "b"]);
    assert_eq!(
        slugs(&list(&c, &store, "", "price_asc", 1, 10).await),
        ["b", "c", "a"]
    );
    assert_eq!(
        slugs(&list(&c, &store, "", "price_desc", 1, 10).await),
        ["a", "c", "b"]
    );
    assert_eq!(
        slugs(&list(&c, &store, "", "title", 1, 10).await),
        ["a", "b", "c"],
        "case-insensitive"
    );
    let bad = c
        .client
        .list_products(ListProductsRequest {
            include_hidden: false,
            store_id: store.to_string(),
            sort: "random".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(code(bad), ErrorCode::ValidationFailed);
}

async fn categories_form_a_tree_and_bad_or_taken_ones_are_refused(c: Catalog) {
    let store = StoreId::new();
    let home = c.category(&store, "home", "Home", "").await;
    let kitchen = c.category(&store, "kitchen", "Kitchen", "home").await;
    assert_eq!(kitchen.parent_id, home.id);
    let taken = c
        .client
        .create_category(CreateCategoryRequest {
            store_id: store.to_string(),
            slug: "home".into(),
            name: "Home again".into(),
            parent: String::new(),
        })
        .await;
    assert_eq!(code(taken), ErrorCode::SlugTaken);
    let bad = c
        .client
        .create_category(CreateCategoryRequest {
            store_id: store.to_string(),
            slug: "Bad Slug".into(),
            name: String::new(),
            parent: "nowhere".into(),
        })
        .await
        .unwrap_err();
    let fields: Vec<_> = bad.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["slug", "name", "parent"]);
    let listed = c
        .client
        .list_categories(ListCategoriesRequest {
            store_id: store.to_string(),
        })
        .await
        .unwrap();
    assert_eq!(listed.categories, vec![home, kitchen]);
    let elsewhere = c
        .client
        .list_categories(ListCategoriesRequest {
            store_id: StoreId::new().to_string(),
        })
        .await
        .unwrap();
    assert!(elsewhere.categories.is_empty());
}
