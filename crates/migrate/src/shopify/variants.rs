//! One variant line read: its option values, SKU, price, weight, shipping, image and units on
//! hand — or the fault that skips its product.

use super::columns::{Cells, Fault, MAX_OPTIONS};
use super::values::{flag, grams, price, quantity};
use mercato_proto::imports::ImportedVariant;
use mercato_runtime::sku::Sku;

/// A variant's units on hand as the export states them, keyed by its SKU.
#[derive(Clone, Debug)]
pub(super) struct StockCell {
    pub sku: String,
    pub line: u64,
    pub on_hand: Result<i64, String>,
}

/// A variant line's cells, read.
pub(super) struct VariantLine {
    pub line: u64,
    pub values: Vec<String>,
    pub variant: ImportedVariant,
    pub image: String,
    pub stock: Option<Result<i64, String>>,
    /// Whether its SKU is made up (`synthetic_sku`): the line has none.
    pub made_up: bool,
}

/// Whether a line carries a variant (a line with only an image does not).
pub(super) fn is_variant(cells: Cells) -> Result<bool, Fault> {
    for column in [
        "Option1 Value",
        "Option2 Value",
        "Option3 Value",
        "Variant SKU",
        "Variant Price",
        "Variant Grams",
    ] {
        if !cells.get(column)?.is_empty() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// One variant line's values, variant, image and stock.
pub(super) fn variant_line(cells: Cells, names: &[String], digits: u8) -> Result<VariantLine, Fault> {
    let line = cells.number();
    let at = |reason: String| Fault::at(line, reason);
    let mut values = Vec::new();
    for n in 1..=MAX_OPTIONS {
        let value = cells.get(&format!("Option{n} Value"))?;
        match (names.get(n - 1), value.is_empty()) {
            (Some(name), true) => {
                return Err(at(format!(
                    "Option{n} Value is empty; the product's option {n} is {name:?}"
                )));
            }
            (Some(_), false) => values.push(value.to_owned()),
            (None, false) if names.is_empty() => {
                return Err(at(format!(
                    "Option{n} Value {value:?} on a product without option names"
                )));
            }
            (None, false) => return Err(at(format!("Option{n} Value {value:?} but no Option{n} Name"))),
            (None, true) => {}
        }
    }
    // A variant without a SKU is given one when its key is known (`keyed`).
    let sku = cells.get("Variant SKU")?;
    if !sku.is_empty() {
        Sku::parse("Variant SKU", sku).map_err(|e| {
            let why = e
                .fields
                .first()
                .map_or(e.message.as_str(), |f| f.message.as_str());
            at(format!("Variant SKU {sku:?} {why}"))
        })?;
    }
    let amount = cells.get("Variant Price")?;
    if amount.is_empty() {
        return Err(at("Variant Price is empty".into()));
    }
    let variant = ImportedVariant {
        legacy_key: String::new(),
        sku: sku.to_owned(),
        title: String::new(),
        price_minor: price("Variant Price", amount, digits).map_err(at)?,
        weight_grams: weight(cells)?,
        requires_shipping: flag(
            "Variant Requires Shipping",
            cells.get("Variant Requires Shipping")?,
            true,
        )
        .map_err(at)?,
        option_values: Vec::new(),
    };
    Ok(VariantLine {
        line,
        values,
        variant,
        image: cells.get("Variant Image")?.to_owned(),
        stock: stock(cells)?,
        made_up: sku.is_empty(),
    })
}

/// `Variant Grams`, else `Variant Weight` in `Variant Weight Unit`; 0 when neither is given.
fn weight(cells: Cells) -> Result<i64, Fault> {
    let at = |reason| Fault::at(cells.number(), reason);
    let in_grams = cells.get("Variant Grams")?;
    if !in_grams.is_empty() {
        return grams("Variant Grams", in_grams, "g").map_err(at);
    }
    let weight = cells.get("Variant Weight")?;
    if weight.is_empty() {
        return Ok(0);
    }
    grams("Variant Weight", weight, cells.get("Variant Weight Unit")?).map_err(at)
}

/// The variant's units on hand when Shopify (or another tracker) counts them: `None` when the
/// variant is not tracked or the file has no quantity; a bad quantity is the stock's fault,
/// not the product's.
fn stock(cells: Cells) -> Result<Option<Result<i64, String>>, Fault> {
    let qty = cells.get("Variant Inventory Qty")?;
    let tracker = cells.get("Variant Inventory Tracker")?;
    let tracked = !tracker.is_empty() || !cells.columns.has("Variant Inventory Tracker");
    if qty.is_empty() || !tracked {
        return Ok(None);
    }
    Ok(Some(quantity("Variant Inventory Qty", qty).and_then(|n| {
        if n < 0 {
            Err(format!(
                "Variant Inventory Qty {n} is negative (oversold in Shopify); stock is never below 0 here"
            ))
        } else {
            Ok(n)
        }
    })))
}
