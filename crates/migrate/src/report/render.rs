//! The report for people: a verdict line, counts per entity, totals side by side, then each
//! located difference, each skipped row and each refused record on a line of its own.

use super::{DifferenceKind, Report};
use std::fmt::Write as _;

/// Differences, skipped rows and refusals printed, at most each (the JSON has them all).
const PRINTED: usize = 50;

/// The summary printed at the end of an import and by `mercato import verify`.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let verdict = match report.exit_code() {
        0 => "clean".to_owned(),
        3 => "clean, but source rows were skipped or refused".to_owned(),
        _ => format!("{} difference(s)", report.differences()),
    };
    let _ = writeln!(
        out,
        "store {}, source {}, checked {} in {:.1} s: {verdict}",
        report.store, report.source, report.checked_at, report.seconds
    );
    if let Some(import) = &report.import {
        let _ = writeln!(out, "import ({} rows in {:.1} s):", import.rows(), import.seconds);
        for e in &import.entities {
            let _ = writeln!(out, "  {:<10} {}", e.entity, e.line());
        }
    }
    let _ = writeln!(
        out,
        "  {:<10} {:>10} {:>10} {:>12}",
        "entity", "source", "store", "differences"
    );
    for e in &report.entities {
        let _ = writeln!(
            out,
            "  {:<10} {:>10} {:>10} {:>12}",
            e.entity, e.source_count, e.store_count, e.differences_found
        );
    }
    render_totals(report, &mut out);
    render_lists(report, &mut out);
    out
}

fn render_totals(report: &Report, out: &mut String) {
    let (source, store) = (&report.totals.source, &report.totals.store);
    let currencies: std::collections::BTreeSet<&String> =
        source.orders.keys().chain(store.orders.keys()).collect();
    for currency in currencies {
        let s = source.orders.get(currency).cloned().unwrap_or_default();
        let t = store.orders.get(currency).cloned().unwrap_or_default();
        let mark = if s == t { "" } else { "  <- differs" };
        let _ = writeln!(
            out,
            "  orders in {currency}: source {} orders, total {}, refunded {}; store {} orders, total {}, refunded {}{mark}",
            s.orders, s.total_minor, s.refunded_minor, t.orders, t.total_minor, t.refunded_minor
        );
    }
    if source.stock_skus + store.stock_skus > 0 {
        let mark = if (source.stock_skus, source.stock_units) == (store.stock_skus, store.stock_units) {
            ""
        } else {
            "  <- differs"
        };
        let _ = writeln!(
            out,
            "  stock: source {} SKUs, {} units; store {} SKUs, {} units{mark}",
            source.stock_skus, source.stock_units, store.stock_skus, store.stock_units
        );
    }
}

fn render_lists(report: &Report, out: &mut String) {
    for e in report.entities.iter().filter(|e| e.differences_found > 0) {
        let _ = writeln!(out, "{} differences in {}:", e.differences_found, e.entity);
        for d in e.differences.iter().take(PRINTED) {
            let what = match d.kind {
                DifferenceKind::MissingInStore => "missing in the store".to_owned(),
                DifferenceKind::MissingInSource => "missing in the source".to_owned(),
                DifferenceKind::Differs => format!("differs: {}", d.fields.join(", ")),
            };
            let _ = writeln!(out, "  {} {}: {what}", e.entity, d.legacy_key);
        }
    }
    if !report.skipped.is_empty() {
        let _ = writeln!(out, "{} source rows skipped:", report.skipped.len());
        for s in report.skipped.iter().take(PRINTED) {
            let _ = writeln!(
                out,
                "  {} {} ({}): {}",
                s.entity, s.legacy_key, s.location, s.reason
            );
        }
    }
    let Some(import) = &report.import else { return };
    let refused: Vec<_> = import
        .entities
        .iter()
        .flat_map(|e| e.rejected.iter().map(move |r| (&e.entity, r)))
        .collect();
    if !refused.is_empty() {
        let _ = writeln!(out, "{} records refused by the platform:", refused.len());
        for (entity, r) in refused.iter().take(PRINTED) {
            let _ = writeln!(out, "  {entity} {}: {}", r.legacy_key, r.reason);
        }
    }
}
