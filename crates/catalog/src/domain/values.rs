//! Value types built once at the boundary (`parse`), then trusted everywhere else. A refused
//! value is a [`FieldError`] naming the field and the reason; the edge makes it an answer.

use mercato_runtime::error::FieldError;
pub use mercato_runtime::text::Lines;
use mercato_runtime::text::refuse_controls;

mercato_runtime::define_id!(
    /// A product of one store.
    ProductId
);
mercato_runtime::define_id!(
    /// One sellable variant (a SKU) of a product.
    VariantId
);
mercato_runtime::define_id!(
    /// A category of one store.
    CategoryId
);

/// A URL-safe, store-unique name: `[a-z0-9-]`, 1–80 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Slug(String);

impl Slug {
    pub fn parse(field: &str, s: &str) -> Result<Slug, FieldError> {
        let ok_chars = s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if s.is_empty() || s.len() > 80 || !ok_chars {
            return Err(FieldError::new(
                field,
                "must be 1-80 characters of a-z, 0-9 and -",
            ));
        }
        Ok(Slug(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub use mercato_runtime::sku::Sku;

/// The tax category a product is taxed under: `[a-z0-9-]`, 1–32 characters; the orders service
/// holds the rates per category.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TaxCategory(String);

impl TaxCategory {
    pub const STANDARD: &str = "standard";

    /// Parses a category; empty means [`TaxCategory::STANDARD`].
    pub fn parse(field: &str, s: &str) -> Result<TaxCategory, FieldError> {
        if s.is_empty() {
            return Ok(TaxCategory(Self::STANDARD.to_owned()));
        }
        let ok_chars = s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if s.len() > 32 || !ok_chars {
            return Err(FieldError::new(
                field,
                "must be 1-32 characters of a-z, 0-9 and - (such as standard, reduced, zero)",
            ));
        }
        Ok(TaxCategory(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a product is in its life: only active products are public.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProductStatus {
    /// Being prepared; seen by the store's owner and staff only.
    Draft,
    Active,
    /// No longer sold; kept for the orders and links that name it.
    Archived,
}

impl ProductStatus {
    /// Parses a status; empty means [`ProductStatus::Active`] (the default, and what events
    /// published before statuses existed mean).
    pub fn parse(field: &str, s: &str) -> Result<ProductStatus, FieldError> {
        match s {
            "" | "active" => Ok(ProductStatus::Active),
            "draft" => Ok(ProductStatus::Draft),
            "archived" => Ok(ProductStatus::Archived),
            _ => Err(FieldError::new(field, "must be one of draft, active, archived")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProductStatus::Draft => "draft",
            ProductStatus::Active => "active",
            ProductStatus::Archived => "archived",
        }
    }

    /// Whether shoppers may see (and buy) the product.
    pub fn is_public(self) -> bool {
        self == ProductStatus::Active
    }
}

/// The heaviest variant accepted, in grams (a tonne): a larger value is a typo, not a parcel.
pub const MAX_WEIGHT_GRAMS: i64 = 1_000_000;

/// Checks a variant's weight in grams: 0 to [`MAX_WEIGHT_GRAMS`].
pub fn weight_grams(field: &str, grams: i64) -> Result<i64, FieldError> {
    if !(0..=MAX_WEIGHT_GRAMS).contains(&grams) {
        return Err(FieldError::new(field, "must be 0-1000000 grams"));
    }
    Ok(grams)
}

/// Checks a free-text field's length in characters (`min` of 1 also refuses blank text) and its
/// characters: no control characters, except line feeds and tabs in [`Lines::Many`] text.
pub fn text(field: &str, s: &str, lines: Lines, min: usize, max: usize) -> Result<String, FieldError> {
    let len = s.chars().count();
    if min > 0 && s.trim().is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    if len < min || len > max {
        return Err(FieldError::new(field, format!("must be {min}-{max} characters")));
    }
    refuse_controls(field, s, lines)?;
    Ok(s.to_owned())
}

/// The orders a product listing can be sorted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    Newest,
    PriceAsc,
    PriceDesc,
    Title,
}

impl Sort {
    /// Parses the `sort` parameter; empty means the default, `newest`.
    pub fn parse(s: &str) -> Result<Sort, FieldError> {
        match s {
            "" | "newest" => Ok(Sort::Newest),
            "price_asc" => Ok(Sort::PriceAsc),
            "price_desc" => Ok(Sort::PriceDesc),
            "title" => Ok(Sort::Title),
            _ => Err(FieldError::new(
                "sort",
                "must be one of newest, price_asc, price_desc, title",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_accept_lower_case_digits_and_dashes_only() {
        assert!(Slug::parse("slug", "blue-shirt-2").is_ok());
        assert!(Slug::parse("slug", "Blue").is_err());
        assert!(Slug::parse("slug", "").is_err());
        assert!(Slug::parse("slug", "a_b").is_err());
        assert!(Slug::parse("slug", &"a".repeat(81)).is_err());
        let e = Slug::parse("parent", "A").unwrap_err();
        assert_eq!(
            e,
            FieldError::new("parent", "must be 1-80 characters of a-z, 0-9 and -")
        );
    }

    #[test]
    fn skus_accept_dots_underscores_and_dashes() {
        assert!(Sku::parse("sku", "TS-BLU_M.2").is_ok());
        assert!(Sku::parse("sku", "TS BLU").is_err());
        assert!(Sku::parse("sku", &"A".repeat(65)).is_err());
    }

    #[test]
    fn tax_categories_default_to_standard_and_are_short_slugs() {
        assert_eq!(TaxCategory::parse("t", "").unwrap().as_str(), "standard");
        assert_eq!(TaxCategory::parse("t", "reduced").unwrap().as_str(), "reduced");
        assert!(TaxCategory::parse("t", "Reduced").is_err());
        assert!(TaxCategory::parse("t", "zero rate").is_err());
        assert!(TaxCategory::parse("t", &"a".repeat(33)).is_err());
    }

    #[test]
    fn statuses_default_to_active_and_only_active_is_public() {
        assert_eq!(ProductStatus::parse("s", "").unwrap(), ProductStatus::Active);
        for s in ["draft", "active", "archived"] {
            assert_eq!(ProductStatus::parse("s", s).unwrap().as_str(), s);
        }
        assert!(ProductStatus::parse("s", "Active").is_err());
        assert!(ProductStatus::parse("s", "deleted").is_err());
        assert!(ProductStatus::Active.is_public());
        assert!(!ProductStatus::Draft.is_public() && !ProductStatus::Archived.is_public());
    }

    #[test]
    fn weights_are_between_zero_and_a_tonne() {
        assert_eq!(weight_grams("w", 0), Ok(0));
        assert_eq!(weight_grams("w", MAX_WEIGHT_GRAMS), Ok(MAX_WEIGHT_GRAMS));
        assert!(weight_grams("w", -1).is_err());
        assert!(weight_grams("w", MAX_WEIGHT_GRAMS + 1).is_err());
    }

    #[test]
    fn unknown_sorts_are_refused() {
        assert_eq!(Sort::parse("").unwrap(), Sort::Newest);
        assert_eq!(Sort::parse("price_desc").unwrap(), Sort::PriceDesc);
        assert!(Sort::parse("random").is_err());
    }

    #[test]
    fn blank_required_text_is_refused_and_length_counts_characters() {
        assert!(text("title", "   ", Lines::One, 1, 200).is_err());
        assert!(text("title", &"é".repeat(200), Lines::One, 1, 200).is_ok());
        assert!(text("title", &"é".repeat(201), Lines::One, 1, 200).is_err());
    }
}
