//! The reads of the contract: each resolves its range in the store's time zone, then sums or
//! lists buckets (`store::reads`).

use crate::domain::counts::{Counts, Field, basis_points};
use crate::domain::range::{Resolved, previous, resolve};
use crate::domain::zone::{Zone, dates};
use crate::service::AnalyticsService;
use crate::store::StoreSettings;
use crate::store::reads::Span;
use mercato_proto::analytics::*;
use mercato_runtime::error::ServiceError;
use mercato_runtime::time::now_ms;
use std::collections::BTreeMap;

/// The most products or variants one answer ranks.
const MAX_LIMIT: u32 = 100;

impl Resolved {
    /// The buckets that answer it: days when it is whole days, else hours.
    pub fn span(&self) -> Span {
        if self.whole_days {
            Span::Days(self.from_date.to_string(), self.to_date.to_string())
        } else {
            Span::Hours(self.from_ms, self.to_ms)
        }
    }

    fn days(&self) -> (String, String) {
        (self.from_date.to_string(), self.to_date.to_string())
    }
}

fn range_of(r: &Option<Range>) -> (&str, &str) {
    r.as_ref().map_or(("", ""), |r| (r.from.as_str(), r.to.as_str()))
}

fn metric_value(metric: Metric, c: &Counts) -> Option<i64> {
    Some(match metric {
        Metric::Unspecified => return None,
        Metric::GrossSales => c.get(Field::Gross),
        Metric::Discounts => c.get(Field::Discounts),
        Metric::Refunds => c.get(Field::Refunds),
        Metric::NetSales => c.net_sales(),
        Metric::TotalSales => c.total_sales(),
        Metric::Orders => c.get(Field::Orders),
        Metric::Units => c.get(Field::Units),
        Metric::AverageOrderValue => c.average_order_value(),
        Metric::NewCustomers => c.get(Field::NewCustomers),
        Metric::ReturningCustomers => c.get(Field::ReturningCustomers),
        Metric::PaymentDeclines => c.get(Field::Declines),
        Metric::ProductViews => c.get(Field::Views),
        Metric::Carts => c.get(Field::Carts),
        Metric::CheckoutsStarted => c.get(Field::Checkouts),
    })
}

impl AnalyticsService {
    /// The store's settings and the request's range resolved in its zone.
    pub(crate) async fn resolve(
        &self,
        store: &str,
        range: &Option<Range>,
    ) -> Result<(StoreSettings, Resolved), ServiceError> {
        if store.is_empty() {
            return Err(ServiceError::invalid_field("store_id", "is required"));
        }
        let settings = self.store.settings(store).await?;
        let (from, to) = range_of(range);
        let resolved = resolve(from, to, &settings.zone, now_ms())?;
        Ok((settings, resolved))
    }

    /// The figures of a resolved range.
    pub(crate) async fn figures(&self, store: &str, r: &Resolved) -> Result<Figures, ServiceError> {
        let span = r.span();
        let counts = self.store.counts(store, &span).await?;
        let (from, to) = r.days();
        // One whole day's distinct visitors are kept with the day; longer ranges count the
        // days' keys.
        let viewers = if r.whole_days && from == to {
            counts.get(Field::Visitors)
        } else {
            self.store.visitors(store, &from, &to).await?
        };
        let mut figures = counts.figures(viewers);
        figures.orders_by_status = self.store.statuses(store, &span).await?.into_iter().collect();
        Ok(figures)
    }

    pub async fn summary(&self, r: SummaryRequest) -> Result<Summary, ServiceError> {
        let (settings, range) = self.resolve(&r.store_id, &r.range).await?;
        let zone = &settings.zone;
        let figures = self.figures(&r.store_id, &range).await?;
        let mut summary = Summary {
            currency: settings.currency.clone(),
            range: Some(range.message(zone)),
            figures: Some(figures),
            ..Summary::default()
        };
        if r.compare_previous {
            let before = previous(&range, zone);
            summary.previous = Some(self.figures(&r.store_id, &before).await?);
            summary.previous_range = Some(before.message(zone));
        }
        Ok(summary)
    }

    pub async fn timeseries(&self, r: TimeseriesRequest) -> Result<Timeseries, ServiceError> {
        let metric = Metric::try_from(r.metric).unwrap_or(Metric::Unspecified);
        if metric == Metric::Unspecified {
            return Err(ServiceError::invalid_field("metric", "is not a known metric"));
        }
        let interval = match Interval::try_from(r.interval) {
            Ok(Interval::Hour) => Interval::Hour,
            Ok(Interval::Day | Interval::Unspecified) => Interval::Day,
            Err(_) => return Err(ServiceError::invalid_field("interval", "must be hour or day")),
        };
        let (settings, range) = self.resolve(&r.store_id, &r.range).await?;
        let zone = &settings.zone;
        let points = match interval {
            Interval::Hour => self.hour_points(&r.store_id, zone, &range, metric).await?,
            _ => self.day_points(&r.store_id, zone, &range, metric).await?,
        };
        Ok(Timeseries {
            currency: settings.currency,
            range: Some(range.message(zone)),
            metric: metric as i32,
            interval: interval as i32,
            points,
        })
    }

    async fn day_points(
        &self,
        store: &str,
        zone: &Zone,
        r: &Resolved,
        metric: Metric,
    ) -> Result<Vec<Point>, ServiceError> {
        let (from, to) = r.days();
        let held = self.store.days(store, &from, &to).await?;
        Ok(dates(r.from_date, r.to_date)
            .into_iter()
            .map(|d| {
                let label = d.to_string();
                let counts = held.get(&label).copied().unwrap_or_default();
                Point {
                    start_ms: zone.day_start(d),
                    value: metric_value(metric, &counts).unwrap_or(0),
                    label,
                }
            })
            .collect())
    }

    async fn hour_points(
        &self,
        store: &str,
        zone: &Zone,
        r: &Resolved,
        metric: Metric,
    ) -> Result<Vec<Point>, ServiceError> {
        let held = self.store.hours(store, r.from_ms, r.to_ms).await?;
        let mut points = Vec::new();
        let mut hour = r.from_ms;
        while hour < r.to_ms {
            let counts = held.get(&hour).copied().unwrap_or_default();
            points.push(Point {
                start_ms: hour,
                label: zone.hour_label(hour),
                value: metric_value(metric, &counts).unwrap_or(0),
            });
            hour = zone.next_hour(hour);
        }
        Ok(points)
    }

    pub async fn top_products(&self, r: TopProductsRequest) -> Result<TopProducts, ServiceError> {
        let limit = match r.limit {
            0 => 10,
            n if n > MAX_LIMIT => return Err(ServiceError::invalid_field("limit", "must be 1 to 100")),
            n => n,
        };
        let by_units = !matches!(Ranking::try_from(r.by), Ok(Ranking::NetSales));
        let (settings, range) = self.resolve(&r.store_id, &r.range).await?;
        let variants = self
            .store
            .sku_figures(&r.store_id, range.from_date, range.to_date)
            .await?;
        let products = products_of(&variants);
        let limit = limit as usize;
        Ok(TopProducts {
            currency: settings.currency,
            range: Some(range.message(&settings.zone)),
            products: ranked(products, by_units, limit),
            variants: ranked(variants, by_units, limit),
        })
    }

    pub async fn funnel(&self, r: FunnelRequest) -> Result<Funnel, ServiceError> {
        let (settings, range) = self.resolve(&r.store_id, &r.range).await?;
        let (from, to) = range.days();
        let store = &r.store_id;
        let days = self
            .store
            .counts(store, &Span::Days(from.clone(), to.clone()))
            .await?;
        // Carts and checkouts count once each, on the day first seen: a sum of days. Visitors
        // are distinct per day; a longer range counts the days' keys (once across days).
        let views = if from == to {
            days.get(Field::Visitors)
        } else {
            self.store.visitors(store, &from, &to).await?
        };
        let (carts, checkouts) = (days.get(Field::Carts), days.get(Field::Checkouts));
        let orders = days.get(Field::Orders);
        let counts = [
            ("product_views", views),
            ("carts", carts),
            ("checkouts_started", checkouts),
            ("orders_confirmed", orders),
        ];
        let first = counts[0].1;
        let steps = counts
            .iter()
            .enumerate()
            .map(|(i, (name, count))| FunnelStep {
                name: (*name).to_owned(),
                count: *count,
                rate_from_previous_bp: if i == 0 {
                    10_000
                } else {
                    basis_points(*count, counts[i - 1].1)
                },
                rate_from_start_bp: basis_points(*count, first),
            })
            .collect();
        Ok(Funnel {
            range: Some(range.message(&settings.zone)),
            steps,
        })
    }

    pub async fn list_low_stock(&self, r: LowStockRequest) -> Result<LowStock, ServiceError> {
        if r.store_id.is_empty() {
            return Err(ServiceError::invalid_field("store_id", "is required"));
        }
        Ok(LowStock {
            items: self.store.low_stock(&r.store_id).await?,
        })
    }
}

/// The products' totals from their SKUs' (a product's title: its best-selling SKU's).
fn products_of(variants: &[ProductFigures]) -> Vec<ProductFigures> {
    let mut products: BTreeMap<&str, ProductFigures> = BTreeMap::new();
    for v in variants {
        let p = products.entry(&v.product_id).or_insert_with(|| ProductFigures {
            product_id: v.product_id.clone(),
            ..ProductFigures::default()
        });
        if p.title.is_empty() || v.units > 0 && p.units == 0 {
            p.title = v.title.clone();
        }
        p.units += v.units;
        p.net_sales_minor += v.net_sales_minor;
    }
    products.into_values().collect()
}

/// The best `limit` of `rows` by units or by net sales (the other figure, then the ids, break
/// ties).
fn ranked(mut rows: Vec<ProductFigures>, by_units: bool, limit: usize) -> Vec<ProductFigures> {
    let key = |p: &ProductFigures| {
        if by_units {
            (p.units, p.net_sales_minor)
        } else {
            (p.net_sales_minor, p.units)
        }
    };
    rows.sort_by(|a, b| {
        key(b)
            .cmp(&key(a))
            .then_with(|| a.product_id.cmp(&b.product_id))
            .then_with(|| a.sku.cmp(&b.sku))
    });
    rows.truncate(limit);
    rows
}
