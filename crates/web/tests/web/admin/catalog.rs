//! Products, their variants and options, field errors and escaping; stock per SKU and location.

use super::{Browser, api, store};
use crate::harness::Platform;
use serde_json::json;

#[tokio::test]
async fn a_product_refused_by_the_api_shows_the_error_next_to_its_field() {
    let p = Platform::start().await;
    store(&p, "fields").await;
    let mut browser = Browser::new(&p);
    browser.sign_in("fields", "owner@fields.test").await;
    let answer = browser
        .post(
            "/admin/fields/products",
            &[
                ("rows", "1"),
                ("title", "   "),
                ("slug", "a-lamp"),
                ("status", "active"),
                ("v0_sku", "LAMP-1"),
                ("v0_price", "12.50"),
            ],
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.html);
    let title_error = answer
        .html
        .split("id=\"title-error\"")
        .nth(1)
        .expect("an error next to the title");
    assert!(
        title_error.starts_with(" class=\"field-error\" role=\"alert\">"),
        "{title_error}"
    );
    assert!(
        answer
            .html
            .contains("aria-invalid=\"true\" aria-describedby=\"title-error\"")
    );
    // What was typed is kept.
    assert!(answer.html.contains("value=\"LAMP-1\"") && answer.html.contains("value=\"12.50\""));
    // A price the form cannot read is said next to that variant's price.
    let answer = browser
        .post(
            "/admin/fields/products",
            &[
                ("rows", "1"),
                ("title", "Lamp"),
                ("v0_sku", "LAMP-1"),
                ("v0_price", "twelve"),
            ],
        )
        .await;
    assert_eq!(answer.status, 422);
    assert!(answer.html.contains("id=\"v0-price-error\""), "{}", answer.html);
}

#[tokio::test]
async fn a_product_title_with_markup_is_shown_as_text_in_the_admin_list() {
    let p = Platform::start().await;
    store(&p, "escaping").await;
    let mut browser = Browser::new(&p);
    browser.sign_in("escaping", "owner@escaping.test").await;
    let title = "<img src=x onerror=alert(1)>";
    let created = browser
        .post(
            "/admin/escaping/products",
            &[
                ("rows", "1"),
                ("title", title),
                ("status", "draft"),
                ("v0_sku", "XSS-1"),
                ("v0_price", "1"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.html);
    assert!(created.location.contains("done=created"));
    let list = browser.get("/admin/escaping/products").await;
    assert_eq!(list.status, 200);
    assert!(!list.html.contains(title), "{}", list.html);
    assert!(
        list.html.contains("&#60;img src=x onerror=alert(1)&#62;"),
        "{}",
        list.html
    );
    // The edit page too, in its title, heading and field.
    let edit = browser.get(&created.location).await;
    assert!(!edit.html.contains(title));
    assert!(edit.html.contains("The product is created."));
}

#[tokio::test]
async fn stock_is_set_per_location_from_a_skus_page_even_before_any_was_recorded() {
    let p = Platform::start().await;
    let token = store(&p, "stocked").await;
    api(
        &p,
        reqwest::Method::POST,
        "/v1/stores/stocked/products",
        &token,
        json!({
        "slug": "mug", "title": "Mug", "variants": [{"sku": "MUG-1", "price": {"amount_minor": 900}}]}),
    )
    .await;
    let mut browser = Browser::new(&p);
    browser.sign_in("stocked", "owner@stocked.test").await;
    let list = browser.get("/admin/stocked/stock").await;
    assert_eq!(list.status, 200, "{}", list.html);
    assert!(list.html.contains("href=\"/admin/stocked/stock/MUG-1\""));
    let page = browser.get("/admin/stocked/stock/MUG-1").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("No stock is recorded for this SKU yet"));
    let bad = browser
        .post(
            "/admin/stocked/stock/MUG-1",
            &[("location", ""), ("on_hand", "many")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.html.contains("id=\"on_hand-error\""), "{}", bad.html);
    let saved = browser
        .post(
            "/admin/stocked/stock/MUG-1",
            &[
                ("location", "back-room"),
                ("on_hand", "7"),
                ("low_stock_threshold", "10"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let page = browser.get(&saved.location).await;
    assert!(
        page.html.contains("The stock is saved.") && page.html.contains("back-room"),
        "{}",
        page.html
    );
    assert!(
        page.html.contains("<span class=\"status low\">low</span> 7"),
        "{}",
        page.html
    );
    let list = browser.get("/admin/stocked/stock").await;
    assert!(
        list.html.contains("<span class=\"status low\">low</span> 7"),
        "{}",
        list.html
    );
}

#[tokio::test]
async fn a_product_with_sizes_is_created_and_edited_with_a_value_per_variant() {
    let p = Platform::start().await;
    store(&p, "sizes").await;
    let mut browser = Browser::new(&p);
    browser.sign_in("sizes", "owner@sizes.test").await;
    // Naming the option and asking for rows shows each variant a field for its size.
    let rows = browser
        .post(
            "/admin/sizes/products",
            &[
                ("rows", "2"),
                ("title", "Tee"),
                ("opt0_name", "Size"),
                ("opt0_values", "S, M"),
                ("action", "more"),
            ],
        )
        .await;
    assert_eq!(rows.status, 200, "{}", rows.html);
    assert!(rows.html.contains(">Variant 1 Size</label>") && rows.html.contains("name=\"v3_sku\""));
    let fields = [
        ("rows", "2"),
        ("title", "Tee"),
        ("status", "active"),
        ("opt0_name", "Size"),
        ("opt0_values", "S, M"),
        ("v0_sku", "TEE-S"),
        ("v0_price", "10"),
        ("v0_opt0", "S"),
        ("v1_sku", "TEE-M"),
        ("v1_price", "10.50"),
        ("v1_opt0", "M"),
        ("v1_weight", "180"),
    ];
    let created = browser.post("/admin/sizes/products", &fields).await;
    assert_eq!(created.status, 303, "{}", created.html);
    let edit = browser.get(&created.location).await;
    assert!(edit.html.contains("value=\"TEE-M\"") && edit.html.contains("value=\"10.50\""));
    assert!(
        edit.html.contains("name=\"v1_opt0\" type=\"text\" value=\"M\""),
        "{}",
        edit.html
    );
    // Two variants with the same size are refused next to the second.
    let mut same = fields.to_vec();
    same[10] = ("v1_opt0", "S");
    let id = created
        .location
        .split('/')
        .nth(4)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let refused = browser.post(&format!("/admin/sizes/products/{id}"), &same).await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(
        refused.html.contains("the same as another variant"),
        "{}",
        refused.html
    );
}

#[tokio::test]
async fn a_category_is_created_chosen_for_a_product_which_is_then_saved_and_deleted() {
    let p = Platform::start().await;
    store(&p, "lamps").await;
    let mut browser = Browser::new(&p);
    browser.sign_in("lamps", "owner@lamps.test").await;
    let created = browser
        .post(
            "/admin/lamps/categories",
            &[("name", "Desk Lamps"), ("slug", ""), ("parent", "")],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.html);
    let list = browser.get(&created.location).await;
    assert!(list.html.contains("The category is created.") && list.html.contains("desk-lamps"));
    let taken = browser
        .post(
            "/admin/lamps/categories",
            &[("name", "Again"), ("slug", "desk-lamps")],
        )
        .await;
    assert_eq!(taken.status, 422, "{}", taken.html);
    assert!(taken.html.contains("id=\"slug-error\""), "{}", taken.html);
    let form = browser.get("/admin/lamps/products/new").await;
    let category = form
        .html
        .split("<option value=\"")
        .find(|s| s.contains(">Desk Lamps</option>"))
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let fields = [
        ("rows", "1"),
        ("title", "Brass lamp"),
        ("category", category.as_str()),
        ("status", "draft"),
        ("v0_sku", "BRASS-1"),
        ("v0_price", "80"),
        ("v0_ships", "1"),
    ];
    let made = browser.post("/admin/lamps/products", &fields).await;
    assert_eq!(made.status, 303, "{}", made.html);
    let product = made.location.split('?').next().unwrap().to_owned();
    let mut changed = fields.to_vec();
    changed[1] = ("title", "Brass desk lamp");
    changed[3] = ("status", "active");
    let saved = browser.post(&product, &changed).await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    assert!(saved.location.ends_with("?done=saved"));
    let list = browser.get("/admin/lamps/products").await;
    assert!(
        list.html.contains("Brass desk lamp") && list.html.contains(">Desk Lamps</td>"),
        "{}",
        list.html
    );
    let kept = browser.post(&format!("{product}/delete"), &[]).await;
    assert!(kept.location.ends_with("?done=not-deleted"), "{}", kept.location);
    let deleted = browser
        .post(&format!("{product}/delete"), &[("confirm", "1")])
        .await;
    assert_eq!(deleted.status, 303);
    let list = browser.get(&deleted.location).await;
    assert!(list.html.contains("The product is deleted.") && !list.html.contains("Brass desk lamp"));
}

#[tokio::test]
async fn products_are_imported_from_pasted_csv_with_a_report_per_line() {
    let p = Platform::start().await;
    store(&p, "imports").await;
    let mut browser = Browser::new(&p);
    browser.sign_in("imports", "owner@imports.test").await;
    let form = browser.get("/admin/imports/products/import").await;
    assert!(form.html.contains("<label for=\"text\">Products (CSV)</label>"));
    let text = "title,sku,price,status\n\"Lamp, brass\",LB-1,49.90,draft\nMug,MUG-1,nine\nCup,LB-1,3\nBowl,BOWL-1,12";
    let report = browser
        .post("/admin/imports/products/import", &[("text", text)])
        .await;
    assert_eq!(report.status, 200, "{}", report.html);
    assert!(
        report.html.contains("2 created, 2 not created."),
        "{}",
        report.html
    );
    assert!(report.html.contains("Lamp, brass") && report.html.contains("The price is not a number"));
    let list = browser.get("/admin/imports/products").await;
    assert!(list.html.contains("Lamp, brass") && list.html.contains("Bowl") && !list.html.contains(">Cup<"));
}
