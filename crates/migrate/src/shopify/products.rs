//! One product from its handle's lines: the product line (the first, with the Title) gives the
//! product's fields and option names, every line with a variant cell gives a variant, every
//! line with an `Image Src` an image — or the fault that skips the product whole.

use super::columns::{Cells, Fault, MAX_OPTIONS};
use super::synthetic_sku;
use super::values::flag;
use super::variants::{StockCell, VariantLine, is_variant, variant_line};
use mercato_proto::imports::{ImportedOption, ImportedOptionValue, ImportedProduct};

/// Shopify's name and value for the one variant of a product without options.
const DEFAULT_OPTION: (&str, &str) = ("Title", "Default Title");

/// A handle's lines, in the file's order.
pub(super) struct Group<'a> {
    pub handle: String,
    pub lines: Vec<Cells<'a>>,
}

/// A product built from its group, with what the other entities take from it.
#[derive(Debug)]
pub(super) struct Built {
    pub product: ImportedProduct,
    /// Its category's path (`Product Category`'s segments, or `Type`); empty for none.
    pub category: Vec<String>,
    pub stock: Vec<StockCell>,
    /// Each variant's SKU, the line it is on, and whether the SKU is made up.
    pub skus: Vec<(String, u64, bool)>,
}

/// The product of `group`, prices in a currency of `digits` minor digits.
pub(super) fn build(group: &Group, digits: u8) -> Result<Built, Fault> {
    for line in &group.lines {
        line.check_width()?;
    }
    let first = group.lines[0];
    let title = product_title(group)?;
    let names = option_names(first)?;
    let variants = variant_lines(group, &names, digits)?;
    let options = options(&names, &variants, first.number())?;
    let variants = keyed(&group.handle, title, &options, variants)?;
    let category = category(first)?;
    Ok(Built {
        product: ImportedProduct {
            legacy_key: group.handle.clone(),
            slug: group.handle.clone(),
            title: title.to_owned(),
            description: first
                .raw("Body (HTML)")
                .map_err(|r| Fault::at(first.number(), r))?
                .trim()
                .replace("\r\n", "\n")
                .replace('\r', "\n"),
            status: status(first)?.to_owned(),
            category_legacy_key: category.join(super::catalog::SEPARATOR),
            options,
            variants: variants.iter().map(|v| v.variant.clone()).collect(),
            image_urls: image_urls(&group.lines, &variants)?,
            modified_at_ms: 0,
        },
        category,
        stock: variants
            .iter()
            .filter_map(|v| {
                v.stock.clone().map(|on_hand| StockCell {
                    sku: v.variant.sku.clone(),
                    line: v.line,
                    on_hand,
                })
            })
            .collect(),
        skus: variants
            .iter()
            .map(|v| (v.variant.sku.clone(), v.line, v.made_up))
            .collect(),
    })
}

/// The Title of the group's product line, which must be its first line (a handle whose lines
/// start without one has lost its product line), and the only one: a later line with another
/// Title is a second product under the same handle. The handle must make a slug.
fn product_title<'a>(group: &Group<'a>) -> Result<&'a str, Fault> {
    let first = group.lines[0];
    // A handle that is not UTF-8 says so first (it was grouped by its bytes).
    first.get("Handle")?;
    let title = first.get("Title")?;
    if title.is_empty() {
        return Err(Fault::at(
            first.number(),
            format!(
                "no product line for handle {:?}: its first line has no Title",
                group.handle
            ),
        ));
    }
    check_slug(&group.handle).map_err(|r| Fault::at(first.number(), r))?;
    for later in &group.lines[1..] {
        let other = later.get("Title")?;
        if !other.is_empty() && other != title {
            return Err(Fault::at(
                later.number(),
                format!(
                    "a second product line for handle {:?} (Title {other:?})",
                    group.handle
                ),
            ));
        }
    }
    Ok(title)
}

/// The group's variant lines (at least one), read; lines with only an image are left out.
fn variant_lines(group: &Group, names: &[String], digits: u8) -> Result<Vec<VariantLine>, Fault> {
    let mut variants = Vec::new();
    for cells in &group.lines {
        if let Some(column) = cells.beyond_options().map_err(|r| Fault::at(cells.number(), r))? {
            return Err(Fault::at(
                cells.number(),
                format!("{column} is set: Shopify products have at most {MAX_OPTIONS} options"),
            ));
        }
        if is_variant(*cells)? {
            variants.push(variant_line(*cells, names, digits)?);
        }
    }
    if variants.is_empty() {
        return Err(Fault::at(
            group.lines[0].number(),
            "the product has no variant line",
        ));
    }
    Ok(variants)
}

/// A handle is the product's slug, so it must be one the platform takes.
fn check_slug(handle: &str) -> Result<(), String> {
    let ok = handle
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if handle.is_empty() || handle.len() > 80 || !ok {
        return Err(format!(
            "Handle {handle:?} cannot be the product's slug (1-80 characters of a-z, 0-9 and -)"
        ));
    }
    Ok(())
}

/// `Option1 Name` … `Option3 Name` of the product line, without gaps.
fn option_names(first: Cells) -> Result<Vec<String>, Fault> {
    let mut names = Vec::new();
    for n in 1..=MAX_OPTIONS {
        let name = first.get(&format!("Option{n} Name"))?;
        if name.is_empty() {
            continue;
        }
        if names.len() + 1 != n {
            return Err(Fault::at(
                first.number(),
                format!(
                    "Option{n} Name {name:?} is set but Option{} Name is empty",
                    names.len() + 1
                ),
            ));
        }
        names.push(name.to_owned());
    }
    Ok(names)
}

/// The options with their values in the order first seen; none for Shopify's "Default Title".
fn options(names: &[String], variants: &[VariantLine], line: u64) -> Result<Vec<ImportedOption>, Fault> {
    let default = names.len() == 1
        && names[0] == DEFAULT_OPTION.0
        && variants.len() == 1
        && variants[0].values == [DEFAULT_OPTION.1];
    if default || names.is_empty() {
        if variants.len() > 1 {
            return Err(Fault::at(
                line,
                format!("{} variants but no option names", variants.len()),
            ));
        }
        return Ok(Vec::new());
    }
    Ok(names
        .iter()
        .enumerate()
        .map(|(i, name)| ImportedOption {
            name: name.clone(),
            values: first_of_each(variants.iter().map(|v| v.values[i].clone())),
        })
        .collect())
}

/// Each variant's legacy key, title, option values and, when the line had none, its made-up
/// SKU. A variant is known by its option values (Shopify's export has no variant id, and a
/// product's combinations are unique): its key is `<handle>/<value>/<value>`, the handle alone
/// for the one variant of a product without options.
fn keyed(
    handle: &str,
    title: &str,
    options: &[ImportedOption],
    mut variants: Vec<VariantLine>,
) -> Result<Vec<VariantLine>, Fault> {
    let mut seen: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for v in &mut variants {
        v.variant.legacy_key = if options.is_empty() {
            handle.to_owned()
        } else {
            variant_key(handle, &v.values)
        };
        if v.made_up {
            v.variant.sku = synthetic_sku(&v.variant.legacy_key);
        }
        if options.is_empty() {
            v.variant.title = title.to_owned();
            continue;
        }
        v.variant.title = v.values.join(" / ");
        v.variant.option_values = options
            .iter()
            .zip(&v.values)
            .map(|(o, value)| ImportedOptionValue {
                option: o.name.clone(),
                value: value.clone(),
            })
            .collect();
        if let Some(line) = seen.get(&v.variant.legacy_key) {
            return Err(Fault::at(
                v.line,
                format!(
                    "the variant's option values {:?} are line {line}'s too",
                    v.variant.title
                ),
            ));
        }
        seen.insert(v.variant.legacy_key.clone(), v.line);
    }
    Ok(variants)
}

/// A variant's legacy key: `<handle>/<value>/<value>` (the handle alone without values), each
/// value's `%` and `/` percent-encoded so that `S/M` + `L` and `S` + `M/L` stay two keys.
fn variant_key(handle: &str, values: &[String]) -> String {
    let mut key = handle.to_owned();
    for value in values {
        key.push('/');
        key.push_str(&value.replace('%', "%25").replace('/', "%2F"));
    }
    key
}

/// `Status` (active, draft, archived); an active product not published to the online store
/// (`Published` FALSE) is a draft here, where active means shoppers see it. Exports from before
/// `Status` have `Published` alone.
fn status(first: Cells) -> Result<&'static str, Fault> {
    let at = |reason| Fault::at(first.number(), reason);
    let published = flag("Published", first.get("Published")?, true).map_err(at)?;
    let status = first.get("Status")?.to_ascii_lowercase();
    match status.as_str() {
        "" | "active" if published => Ok("active"),
        "" | "active" | "draft" => Ok("draft"),
        "archived" => Ok("archived"),
        _ => Err(at(format!("Status {status:?} is not active, draft or archived"))),
    }
}

/// `Product Category`'s path (`Apparel & Accessories > Clothing > Shirts`), else `Type` as a
/// top-level category; empty for none.
fn category(first: Cells) -> Result<Vec<String>, Fault> {
    let path: Vec<String> = first
        .get("Product Category")?
        .split('>')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if !path.is_empty() {
        return Ok(path);
    }
    let kind = first.get("Type")?;
    Ok(if kind.is_empty() {
        Vec::new()
    } else {
        vec![kind.to_owned()]
    })
}

/// The images in `Image Position` order (lines without a position after, in file order), then
/// the variants' images; each URL once.
fn image_urls(lines: &[Cells], variants: &[VariantLine]) -> Result<Vec<String>, Fault> {
    let mut placed: Vec<(u64, String)> = Vec::new();
    for cells in lines {
        let src = cells.get("Image Src")?;
        if src.is_empty() {
            continue;
        }
        let position = cells.get("Image Position")?;
        let position = match position {
            "" => u64::MAX,
            p => p.parse().map_err(|_| {
                Fault::at(
                    cells.number(),
                    format!("Image Position {p:?} is not a whole number"),
                )
            })?,
        };
        placed.push((position, src.to_owned()));
    }
    placed.sort_by_key(|(position, _)| *position);
    let variant_images = variants.iter().map(|v| v.image.clone()).filter(|u| !u.is_empty());
    Ok(first_of_each(
        placed.into_iter().map(|(_, u)| u).chain(variant_images),
    ))
}

/// Each distinct text once, in the order it first came (linear: a product may have thousands
/// of variants).
fn first_of_each(texts: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    texts.filter(|t| seen.insert(t.clone())).collect()
}

#[cfg(test)]
mod key_tests {
    use super::variant_key;

    #[test]
    fn slashes_in_option_values_do_not_make_two_variants_one_key() {
        let key =
            |values: &[&str]| variant_key("tee", &values.iter().map(|v| v.to_string()).collect::<Vec<_>>());
        assert_ne!(key(&["S/M", "L"]), key(&["S", "M/L"]));
        assert_eq!(key(&["S/M", "100%"]), "tee/S%2FM/100%25");
        assert_eq!(key(&[]), "tee");
    }
}
