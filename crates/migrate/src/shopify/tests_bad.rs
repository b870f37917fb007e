//! Each kind of bad line skips its product whole — never half of it — and is reported with the
//! physical line it is on and the reason.

use super::ShopifyCsv;
use super::tests::{bad_rows, export, products, read, simple};
use mercato_proto::imports::Entity;

/// The bad product rows as (handle, line, reason).
fn skipped(csv: &ShopifyCsv) -> Vec<(String, String, String)> {
    bad_rows(csv, Entity::Product)
        .into_iter()
        .map(|b| (b.legacy_key, b.location, b.reason))
        .collect()
}

fn assert_skipped(csv: &ShopifyCsv, handle: &str, line: u64, reason: &str) {
    let all = skipped(csv);
    let found = all
        .iter()
        .find(|(h, _, _)| h == handle)
        .unwrap_or_else(|| panic!("{handle} not skipped: {all:?}"));
    assert_eq!(found.1, format!("products.csv line {line}"), "{found:?}");
    assert!(found.2.contains(reason), "{found:?} lacks {reason:?}");
    assert!(
        products(csv).iter().all(|p| p.legacy_key != handle),
        "{handle} half imported"
    );
}

#[test]
fn negative_and_unparsable_prices_skip_the_product() {
    let csv = read(export(&[
        &simple("neg", "N-1", "-1.00"),
        &simple("text", "T-1", "12,50"),
        &simple("ok", "O-1", "12.50"),
    ]));
    assert_skipped(&csv, "neg", 2, "negative");
    assert_skipped(&csv, "text", 3, "not a number");
    assert_eq!(products(&csv).len(), 1);
}

#[test]
fn a_variant_line_without_its_product_line_is_skipped() {
    let orphan = [
        ("Handle", "ghost"),
        ("Option1 Value", "S"),
        ("Variant SKU", "G-S"),
        ("Variant Price", "1"),
    ];
    let csv = read(export(&[&simple("ok", "O-1", "1"), &orphan]));
    assert_skipped(&csv, "ghost", 3, "no product line");
}

#[test]
fn a_sku_repeated_in_the_file_skips_the_later_product() {
    let csv = read(export(&[
        &simple("first", "DUP-1", "1"),
        &simple("second", "DUP-1", "1"),
    ]));
    assert_skipped(&csv, "second", 3, "already on line 2 (first)");
    assert_eq!(products(&csv)[0].legacy_key, "first");

    let size = |v: &'static str, sku: &'static str| -> Vec<(&'static str, &'static str)> {
        vec![
            ("Handle", "twice"),
            ("Option1 Value", v),
            ("Variant SKU", sku),
            ("Variant Price", "1"),
        ]
    };
    let mut head = size("S", "TW-1");
    head.extend([("Title", "Twice"), ("Option1 Name", "Size")]);
    let csv = read(export(&[&head, &size("M", "TW-1")]));
    assert_skipped(&csv, "twice", 3, "this product");
}

#[test]
fn text_that_is_not_utf8_skips_the_product_and_names_the_column() {
    let text = export(&[&simple("latin", "L-1", "1"), &simple("fine", "F-1", "1")]);
    // "Caf" and a Latin-1 é: what a spreadsheet saving in Windows-1252 leaves.
    let mut bytes = text.replace("latin,Simple", "latin,Caf#").into_bytes();
    let at = bytes.iter().position(|b| *b == b'#').unwrap();
    bytes[at] = 0xe9;
    let csv = read(bytes);
    assert_skipped(&csv, "latin", 2, "Title is not UTF-8");
    assert_eq!(products(&csv).len(), 1);
}

#[test]
fn a_handle_that_is_not_utf8_is_reported_under_its_own_column_wherever_it_is() {
    // Handle is not the first column here; its Latin-1 é becomes U+FFFD in the report.
    // Two different bad handles (é and è in Latin-1) stay two products, each reported.
    let text =
        "Title,Handle,Variant SKU,Variant Price\nCafe,caf#,C-1,1\nFine,fine,F-1,1\nCafe 2,caf#,C-2,1\n";
    let mut bytes = text.as_bytes().to_vec();
    let marks: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] == b'#').collect();
    bytes[marks[0]] = 0xe9;
    bytes[marks[1]] = 0xe8;
    let csv = read(bytes);
    let bad = skipped(&csv);
    let lines: Vec<&str> = bad.iter().map(|(_, line, _)| line.as_str()).collect();
    assert_eq!(lines, ["products.csv line 2", "products.csv line 4"], "{bad:?}");
    assert!(
        bad.iter()
            .all(|(h, _, r)| h == "caf\u{fffd}" && r.contains("Handle is not UTF-8")),
        "{bad:?}"
    );
    assert_eq!(products(&csv).len(), 1);
}

#[test]
fn option_values_without_names_and_a_fourth_option_are_refused() {
    let mut nameless = simple("nameless", "NL-1", "1");
    nameless.retain(|(c, _)| !c.starts_with("Option1"));
    nameless.push(("Option2 Value", "Blue"));
    let csv = read(export(&[&nameless]));
    assert_skipped(&csv, "nameless", 2, "without option names");

    let text = "Handle,Title,Option1 Name,Option1 Value,Option4 Name,Option4 Value,Variant SKU,Variant Price\n\
                four,Four,Size,S,Fit,Slim,F-1,1\n";
    assert_skipped(&read(text), "four", 2, "at most 3 options");
}

#[test]
fn a_handle_that_is_no_slug_and_a_bad_sku_are_refused() {
    let csv = read(export(&[
        &simple("Über Tee", "U-1", "1"),
        &simple("spaced", "A SKU", "1"),
    ]));
    assert_skipped(&csv, "Über Tee", 2, "cannot be the product's slug");
    assert_skipped(&csv, "spaced", 3, "Variant SKU \"A SKU\" must be");
}

#[test]
fn a_made_up_sku_that_is_another_variant_s_real_one_skips_its_product() {
    let made_up = super::synthetic_sku("plain");
    let csv = read(export(&[
        &simple("plain", "", "1"),
        &simple("real", &made_up, "1"),
    ]));
    assert_skipped(&csv, "plain", 2, "made up for it");
    assert_eq!(products(&csv)[0].variants[0].sku, made_up);
}

#[test]
fn lines_are_counted_physically_past_multi_line_bodies() {
    let text = "Handle,Title,Body (HTML),Variant SKU,Variant Price\n\
                long,Long,\"<p>one</p>\n<p>two</p>\n<p>three</p>\",L-1,1\n\
                after,After,,A-1,-3\n";
    assert_skipped(&read(text), "after", 5, "negative");
}

#[test]
fn lines_without_a_handle_are_reported_once() {
    let text = "Handle,Title,Variant SKU,Variant Price\nok,Ok,O-1,1\n,Lost,X-1,1\n,Lost,X-2,1\n";
    let csv = read(text);
    assert_skipped(&csv, "", 3, "nor have lines 4");
    assert_eq!(products(&csv).len(), 1);
}

#[test]
fn a_file_that_is_not_a_product_export_is_an_error() {
    let err = ShopifyCsv::read("x.csv", "Email,First Name\na@b.c,Ann\n".as_bytes(), "EUR").unwrap_err();
    assert!(err.to_string().contains("Handle"), "{err}");
    assert!(ShopifyCsv::read("x.csv", "Handle,Title,Variant Price\n".as_bytes(), "XYZ").is_err());
}

#[test]
fn a_product_line_alone_a_second_product_line_and_repeated_values_are_refused() {
    let text = "Handle,Title,Option1 Name,Option1 Value,Option2 Name,Variant SKU,Variant Price,Image Src,Status\n\
                bare,Bare,,,,,,https://cdn.example/bare.jpg,active\n\
                twin,Twin,,,,T-1,1,,active\n\
                twin,Other Twin,,,,T-2,1,,active\n\
                same,Same,Size,S,,S-1,1,,active\n\
                same,,,S,,S-2,1,,active\n\
                gap,Gap,,,Fit,G-1,1,,active\n\
                odd,Odd,,,,O-1,1,,hidden\n\
                cents,Cents,,,,C-1,1.005,,active\n";
    let csv = read(text);
    assert_skipped(&csv, "bare", 2, "no variant line");
    assert_skipped(&csv, "twin", 4, "a second product line");
    assert_skipped(&csv, "same", 6, "line 5's too");
    assert_skipped(
        &csv,
        "gap",
        7,
        "Option2 Name \"Fit\" is set but Option1 Name is empty",
    );
    assert_skipped(&csv, "odd", 8, "not active, draft or archived");
    assert_skipped(&csv, "cents", 9, "more decimals");
    assert!(products(&csv).is_empty());
}

#[test]
fn a_line_with_a_cell_too_many_or_too_few_is_refused_not_read_shifted() {
    let good = export(&[&simple("ok", "O-1", "12.50")]);
    let (header, ok_line) = good.trim_end().split_once('\n').unwrap();
    // An unquoted thousands separator: `1,500.00` splits into two cells, shifting the rest.
    let shifted = ok_line
        .replacen("ok,", "shifted,", 1)
        .replacen("12.50", "1,500.00", 1)
        .replacen("O-1", "S-1", 1);
    let short = ok_line.replacen("ok,", "short,", 1).replacen("O-1", "H-1", 1);
    let short = &short[..short.rfind(',').unwrap()];
    let csv = read(format!("{header}\n{ok_line}\n{shifted}\n{short}\n"));
    assert_skipped(&csv, "shifted", 3, "cells where the header has");
    assert_skipped(&csv, "short", 4, "cells where the header has");
    assert_eq!(products(&csv).len(), 1);
}
