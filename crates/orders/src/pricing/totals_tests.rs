//! Totals computed by hand to the cent (tax-exclusive and tax-inclusive stores, line,
//! order and shipping promotions), and a property test of the sums over random carts.

use super::*;
use crate::pricing::promotions::{DiscountValue, Promotion};
use crate::pricing::rounding::Rounding;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn line(sku: &str, quantity: i64, unit_price_minor: i64, tax_rate_bps: i64) -> LineInput {
    LineInput {
        sku: sku.into(),
        product_id: format!("prod-{sku}"),
        quantity,
        unit_price_minor,
        tax_rate_bps,
    }
}

fn promotion(id: &str, value: DiscountValue, target: DiscountTarget) -> Promotion {
    Promotion {
        id: id.into(),
        code: id.to_uppercase(),
        name: id.into(),
        value,
        target,
        min_subtotal_minor: 0,
        starts_at_ms: 0,
        ends_at_ms: 0,
        usage_limit: 0,
        per_customer_limit: 0,
        used: 0,
        active: true,
    }
}

#[test]
fn a_tax_exclusive_cart_with_ten_percent_off_and_shipping_adds_up_to_the_cent() {
    let totals = compute(&TotalsInput {
        lines: vec![line("A", 2, 1999, 1900), line("B", 1, 500, 700)],
        settings: TaxSettings::default(),
        shipping_minor: 490,
        shipping_tax_rate_bps: 1900,
        promotions: vec![promotion(
            "ten",
            DiscountValue::Percent { bps: 1000 },
            DiscountTarget::Order,
        )],
    });
    // 10 % of 4498 = 449.8 → 450, split 3998 : 500 → 399.96 / 50.02 → 400 / 50.
    assert_eq!(
        totals.lines,
        vec![
            // 3598 × 19 % = 683.62 → 684
            LineTotals {
                subtotal_minor: 3998,
                discount_minor: 400,
                tax_minor: 684,
                total_minor: 4282
            },
            // 450 × 7 % = 31.5 → 32
            LineTotals {
                subtotal_minor: 500,
                discount_minor: 50,
                tax_minor: 32,
                total_minor: 482
            },
        ]
    );
    // 490 × 19 % = 93.1 → 93
    assert_eq!(totals.shipping_tax_minor, 93);
    assert_eq!(totals.subtotal_minor, 4498);
    assert_eq!(totals.discount_minor, 450);
    assert_eq!(totals.tax_minor, 809);
    assert_eq!(totals.total_minor, 5347);
    assert_eq!(totals.promotions[0].amount_minor, 450);
}

#[test]
fn a_tax_inclusive_cart_with_five_off_shows_the_tax_inside_the_prices() {
    let totals = compute(&TotalsInput {
        lines: vec![line("A", 2, 2380, 1900), line("B", 1, 1070, 700)],
        settings: TaxSettings {
            prices_include_tax: true,
            rounding: Rounding::HalfUp,
        },
        shipping_minor: 595,
        shipping_tax_rate_bps: 1900,
        promotions: vec![promotion(
            "five",
            DiscountValue::Fixed { amount_minor: 500 },
            DiscountTarget::Order,
        )],
    });
    // 500 split 4760 : 1070 → 408.23 / 91.77 → 408 / 92.
    // 4352 × 19/119 = 694.86 → 695; 978 × 7/107 = 63.98 → 64; 595 × 19/119 = 95.
    assert_eq!(
        totals.lines,
        vec![
            LineTotals {
                subtotal_minor: 4760,
                discount_minor: 408,
                tax_minor: 695,
                total_minor: 4352
            },
            LineTotals {
                subtotal_minor: 1070,
                discount_minor: 92,
                tax_minor: 64,
                total_minor: 978
            },
        ]
    );
    assert_eq!(totals.shipping_tax_minor, 95);
    assert_eq!(totals.tax_minor, 854);
    assert_eq!(totals.total_minor, 5925);
}

#[test]
fn a_line_promotion_discounts_only_its_lines_and_a_shipping_one_only_shipping() {
    let totals = compute(&TotalsInput {
        lines: vec![line("A", 1, 1000, 0), line("B", 2, 750, 1000)],
        settings: TaxSettings::default(),
        shipping_minor: 500,
        shipping_tax_rate_bps: 1000,
        promotions: vec![
            promotion(
                "b20",
                DiscountValue::Percent { bps: 2000 },
                DiscountTarget::Lines {
                    skus: vec!["B".into()],
                    product_ids: vec![],
                },
            ),
            promotion(
                "ship",
                DiscountValue::Percent { bps: 10_000 },
                DiscountTarget::Shipping,
            ),
        ],
    });
    assert_eq!(totals.lines[0].discount_minor, 0);
    assert_eq!(totals.lines[1].discount_minor, 300);
    assert_eq!(totals.lines[1].tax_minor, 120);
    assert_eq!(totals.shipping_discount_minor, 500);
    assert_eq!(totals.shipping_tax_minor, 0);
    assert_eq!(totals.discount_minor, 800);
    assert_eq!(totals.total_minor, 2320);
}

#[test]
fn half_a_cent_of_line_tax_rounds_up_or_to_even_as_the_store_says() {
    let input = |rounding| TotalsInput {
        lines: vec![line("A", 1, 1225, 200)],
        settings: TaxSettings {
            prices_include_tax: false,
            rounding,
        },
        ..TotalsInput::default()
    };
    assert_eq!(compute(&input(Rounding::HalfUp)).tax_minor, 25);
    assert_eq!(compute(&input(Rounding::HalfEven)).tax_minor, 24);
}

fn random_input(rng: &mut StdRng, settings: TaxSettings) -> TotalsInput {
    const RATES: [i64; 8] = [0, 500, 550, 700, 1900, 2000, 2125, 10_000];
    let lines = (0..rng.gen_range(1..=6))
        .map(|i| {
            line(
                &format!("S{}", i % 3),
                rng.gen_range(1..=100),
                rng.gen_range(0..=250_000),
                RATES[rng.gen_range(0..RATES.len())],
            )
        })
        .collect();
    let promotions = (0..rng.gen_range(0..=3))
        .map(|i| {
            let value = if rng.gen_bool(0.5) {
                DiscountValue::Percent {
                    bps: rng.gen_range(1..=10_000),
                }
            } else {
                DiscountValue::Fixed {
                    amount_minor: rng.gen_range(1..=200_000),
                }
            };
            let target = match rng.gen_range(0..3) {
                0 => DiscountTarget::Order,
                1 => DiscountTarget::Shipping,
                _ => DiscountTarget::Lines {
                    skus: vec![format!("S{}", rng.gen_range(0..3))],
                    product_ids: vec![],
                },
            };
            promotion(&format!("p{i}"), value, target)
        })
        .collect();
    TotalsInput {
        lines,
        settings,
        shipping_minor: rng.gen_range(0..=5000),
        shipping_tax_rate_bps: RATES[rng.gen_range(0..RATES.len())],
        promotions,
    }
}

/// The tax on `net` at `rate_bps` is the exact tax rounded: at most half a minor unit off.
fn is_rounded_tax(settings: &TaxSettings, net: i64, rate_bps: i64, tax: i64) -> bool {
    let (numerator, denominator) = if settings.prices_include_tax {
        (
            i128::from(net) * i128::from(rate_bps),
            10_000 + i128::from(rate_bps),
        )
    } else {
        (i128::from(net) * i128::from(rate_bps), 10_000)
    };
    (i128::from(tax) * denominator - numerator).abs() * 2 <= denominator
}

#[test]
fn line_taxes_and_discounts_sum_to_the_order_under_every_rounding_mode() {
    for prices_include_tax in [false, true] {
        for rounding in [Rounding::HalfUp, Rounding::HalfEven] {
            let settings = TaxSettings {
                prices_include_tax,
                rounding,
            };
            let mut rng = StdRng::seed_from_u64(12 + u64::from(prices_include_tax));
            for case in 0..3000 {
                let input = random_input(&mut rng, settings);
                let t = compute(&input);
                let why = format!("case {case} {settings:?}: {input:?} → {t:?}");
                let line_tax: i64 = t.lines.iter().map(|l| l.tax_minor).sum();
                assert_eq!(line_tax + t.shipping_tax_minor, t.tax_minor, "{why}");
                let line_discount: i64 = t.lines.iter().map(|l| l.discount_minor).sum();
                assert_eq!(
                    line_discount + t.shipping_discount_minor,
                    t.discount_minor,
                    "{why}"
                );
                let applied: i64 = t.promotions.iter().map(|p| p.amount_minor).sum();
                assert_eq!(applied, t.discount_minor, "{why}");
                let lines_total: i64 = t.lines.iter().map(|l| l.total_minor).sum();
                let shipping_net = t.shipping_minor - t.shipping_discount_minor;
                assert!((0..=t.shipping_minor).contains(&shipping_net), "{why}");
                let extra_tax = if prices_include_tax { 0 } else { t.tax_minor };
                assert_eq!(
                    t.total_minor,
                    t.subtotal_minor - t.discount_minor + t.shipping_minor + extra_tax,
                    "{why}"
                );
                assert_eq!(
                    t.total_minor,
                    lines_total
                        + shipping_net
                        + if prices_include_tax {
                            0
                        } else {
                            t.shipping_tax_minor
                        },
                    "{why}"
                );
                for (l, input_line) in t.lines.iter().zip(&input.lines) {
                    assert!((0..=l.subtotal_minor).contains(&l.discount_minor), "{why}");
                    let net = l.subtotal_minor - l.discount_minor;
                    assert!(
                        is_rounded_tax(&settings, net, input_line.tax_rate_bps, l.tax_minor),
                        "{why}"
                    );
                }
                assert!(
                    is_rounded_tax(
                        &settings,
                        shipping_net,
                        input.shipping_tax_rate_bps,
                        t.shipping_tax_minor
                    ),
                    "{why}"
                );
            }
        }
    }
}
