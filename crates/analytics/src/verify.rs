//! `Verify`: every order-derived figure of a range recomputed from the orders service's history
//! (paged, orders created before the range's end: nothing created later touches it) with the
//! same fold into fresh in-memory aggregates, and compared with what analytics holds — the
//! summary, each day, each hour, each product and each SKU. Events still in flight while it
//! runs show as differences; run it again to tell them from real ones.

use crate::domain::counts::{Counts, Field};
use crate::domain::history::snapshots;
use crate::domain::ledger::Bucket;
use crate::domain::memory::{MemoryLedger, ProductCounts};
use crate::domain::range::Resolved;
use crate::domain::zone::{Zone, dates};
use crate::service::AnalyticsService;
use crate::store::reads::Span;
use mercato_proto::analytics::{Difference, VerifyReport, VerifyRequest};
use mercato_proto::orders::ListOrderHistoriesRequest;
use mercato_runtime::error::ServiceError;
use std::collections::BTreeMap;

/// Orders per page of history.
const PAGE: u32 = 500;

/// The differences found so far and how many figures were compared.
#[derive(Default)]
struct Report {
    checked: i64,
    differences: Vec<Difference>,
}

impl Report {
    fn compare(&mut self, scope: &str, figure: &str, held: i64, recomputed: i64) {
        self.checked += 1;
        if held != recomputed {
            self.differences.push(Difference {
                scope: scope.to_owned(),
                figure: figure.to_owned(),
                held,
                recomputed,
            });
        }
    }

    fn counts(&mut self, scope: &str, held: &Counts, recomputed: &Counts) {
        for f in Field::ALL.into_iter().filter(|f| f.from_orders()) {
            self.compare(scope, f.figure_name(), held.get(f), recomputed.get(f));
        }
    }

    fn products(&mut self, scope: &str, held: &ProductCounts, recomputed: &ProductCounts) {
        self.compare(scope, "units", held.units, recomputed.units);
        let net = |p: &ProductCounts| p.net_minor - p.refunds_minor;
        self.compare(scope, "net_sales_minor", net(held), net(recomputed));
    }
}

/// Sums product rows by product (`by_sku` false) or by (product, SKU).
fn by_product(
    rows: &BTreeMap<(String, String, String), ProductCounts>,
    by_sku: bool,
) -> BTreeMap<String, ProductCounts> {
    let mut out: BTreeMap<String, ProductCounts> = BTreeMap::new();
    for ((_, product, sku), p) in rows {
        let key = if by_sku {
            format!("variant {sku}")
        } else {
            format!("product {product}")
        };
        let e = out.entry(key).or_default();
        e.units += p.units;
        e.net_minor += p.net_minor;
        e.refunded_units += p.refunded_units;
        e.refunds_minor += p.refunds_minor;
    }
    out
}

impl AnalyticsService {
    pub async fn verify(&self, r: VerifyRequest) -> Result<VerifyReport, ServiceError> {
        let Some(orders) = self.deps.orders.clone() else {
            return Err(ServiceError::unavailable("verify needs the orders service"));
        };
        let (settings, range) = self.resolve(&r.store_id, &r.range).await?;
        let zone = settings.zone;
        let mut memory = MemoryLedger::default();
        let (mut cursor, mut orders_checked) = (String::new(), 0);
        loop {
            let page = orders
                .page(ListOrderHistoriesRequest {
                    store_id: r.store_id.clone(),
                    created_to_ms: range.to_ms,
                    after: cursor,
                    limit: PAGE,
                    ..ListOrderHistoriesRequest::default()
                })
                .await?;
            for history in &page.orders {
                let snapshots = snapshots(history);
                for snapshot in &snapshots {
                    memory.observe(&zone, snapshot);
                }
                if let Some(last) = snapshots.last() {
                    memory.forget(&last.id);
                }
            }
            orders_checked += page.orders.len() as i64;
            cursor = page.next_cursor;
            if cursor.is_empty() {
                break;
            }
        }
        let report = self.compare(&r.store_id, &zone, &range, &memory).await?;
        Ok(VerifyReport {
            range: Some(range.message(&zone)),
            orders_checked,
            figures_checked: report.checked,
            differences: report.differences,
        })
    }

    async fn compare(
        &self,
        store: &str,
        zone: &Zone,
        range: &Resolved,
        memory: &MemoryLedger,
    ) -> Result<Report, ServiceError> {
        let mut report = Report::default();
        let span = range.span();
        let (from, to) = (range.from_date.to_string(), range.to_date.to_string());
        let in_span = |b: &Bucket| match (&span, b) {
            (Span::Days(f, t), Bucket::Day(d)) => d >= f && d <= t,
            (Span::Hours(f, t), Bucket::Hour(h)) => h >= f && h < t,
            _ => false,
        };
        let mut total = Counts::default();
        memory
            .buckets
            .iter()
            .filter(|(b, _)| in_span(b))
            .for_each(|(_, c)| total.add(c));
        report.counts("summary", &self.store.counts(store, &span).await?, &total);
        let held_statuses = self.store.statuses(store, &span).await?;
        let mut statuses: BTreeMap<String, i64> = BTreeMap::new();
        for ((b, status), n) in &memory.statuses {
            if in_span(b) {
                *statuses.entry(status.clone()).or_default() += n;
            }
        }
        for status in held_statuses
            .keys()
            .chain(statuses.keys())
            .collect::<std::collections::BTreeSet<_>>()
        {
            let figure = format!("orders_by_status.{status}");
            let (h, c) = (held_statuses.get(status), statuses.get(status));
            report.compare(
                "summary",
                &figure,
                h.copied().unwrap_or(0),
                c.copied().unwrap_or(0),
            );
        }
        let days = self.store.days(store, &from, &to).await?;
        for d in dates(range.from_date, range.to_date) {
            let key = d.to_string();
            let held = days.get(&key).copied().unwrap_or_default();
            report.counts(
                &format!("day {key}"),
                &held,
                &memory.counts(&Bucket::Day(key.clone())),
            );
        }
        let hours = self.store.hours(store, range.from_ms, range.to_ms).await?;
        let mut hour = range.from_ms;
        while hour < range.to_ms {
            let held = hours.get(&hour).copied().unwrap_or_default();
            let scope = format!("hour {}", zone.hour_label(hour));
            report.counts(&scope, &held, &memory.counts(&Bucket::Hour(hour)));
            hour = zone.next_hour(hour);
        }
        let held_products = self.store.product_days(store, &from, &to).await?;
        let recomputed: BTreeMap<_, _> = memory
            .products
            .iter()
            .filter(|((day, _, _), _)| *day >= from && *day <= to)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for by_sku in [false, true] {
            let (h, c) = (
                by_product(&held_products, by_sku),
                by_product(&recomputed, by_sku),
            );
            for key in h
                .keys()
                .chain(c.keys())
                .collect::<std::collections::BTreeSet<_>>()
            {
                let none = ProductCounts::default();
                report.products(key, h.get(key).unwrap_or(&none), c.get(key).unwrap_or(&none));
            }
        }
        Ok(report)
    }
}
