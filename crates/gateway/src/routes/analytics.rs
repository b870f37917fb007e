//! A store's figures for its owner and staff: summary, time series, top products, funnel, low
//! stock, and (owner only) the check of the figures against the orders history. Ranges are
//! resolved and checked by the analytics service, in the store's time zone; its refusals
//! (over 400 days, `from` after `to`, a malformed value) come back as 422 problems naming the
//! field. Here only the names of the query (metric, interval, ranking, compare) are read.

mod views;

pub use views::*;

use crate::access::{Owner, Staff, StoreScope};
use crate::extract::ApiQuery;
use crate::state::GatewayState;
use axum::Json;
use axum::extract::State;
use mercato_proto::analytics::{
    Caller, FunnelRequest, Interval, LowStockRequest, Metric, Range, Ranking, SummaryRequest,
    TimeseriesRequest, TopProductsRequest, VerifyRequest,
};
use mercato_runtime::auth::Claims;
use mercato_runtime::error::ServiceError;

/// The metrics of `…/timeseries`, by their REST names.
const METRICS: [(&str, Metric); 14] = [
    ("gross_sales", Metric::GrossSales),
    ("discounts", Metric::Discounts),
    ("refunds", Metric::Refunds),
    ("net_sales", Metric::NetSales),
    ("total_sales", Metric::TotalSales),
    ("orders", Metric::Orders),
    ("units", Metric::Units),
    ("average_order_value", Metric::AverageOrderValue),
    ("new_customers", Metric::NewCustomers),
    ("returning_customers", Metric::ReturningCustomers),
    ("payment_declines", Metric::PaymentDeclines),
    ("product_views", Metric::ProductViews),
    ("carts", Metric::Carts),
    ("checkouts_started", Metric::CheckoutsStarted),
];

const INTERVALS: [(&str, Interval); 2] = [("hour", Interval::Hour), ("day", Interval::Day)];

const RANKINGS: [(&str, Ranking); 2] = [("units", Ranking::Units), ("net_sales", Ranking::NetSales)];

/// The value named `name` in `table`; absent is `default`, anything else a 422 naming `field`.
fn named<T: Copy>(
    table: &[(&'static str, T)],
    field: &str,
    name: Option<&str>,
    default: Option<T>,
) -> Result<T, ServiceError> {
    let Some(name) = name else {
        return default.ok_or_else(|| ServiceError::invalid_field(field, "is required"));
    };
    table
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let known: Vec<_> = table.iter().map(|(n, _)| *n).collect();
            ServiceError::invalid_field(field, &format!("must be one of {}", known.join(", ")))
        })
}

/// The REST name of `value` in `table`.
fn name_of<T: PartialEq>(table: &[(&'static str, T)], value: &T) -> String {
    let found = table.iter().find(|(_, v)| v == value);
    found.map(|(n, _)| *n).unwrap_or_default().to_owned()
}

fn caller(claims: &Claims) -> Option<Caller> {
    Some(Caller {
        user_id: claims.sub.clone(),
        role: claims.role.to_proto(),
    })
}

fn range(from: &Option<String>, to: &Option<String>) -> Option<Range> {
    Some(Range {
        from: from.clone().unwrap_or_default(),
        to: to.clone().unwrap_or_default(),
    })
}

/// A range's figures and, with `compare=previous_period`, those of the range of the same
/// length just before it.
#[utoipa::path(get, path = "/v1/stores/{store}/analytics/summary", tag = "analytics",
    params(("store" = String, Path, description = "store slug"), SummaryQuery), security(("bearer" = [])),
    responses((status = 200, body = SummaryView, description = "The figures of the range (and of the previous period)"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No store has this slug, or the token is another store's"),
              (status = 422, description = "`from` or `to` is malformed, `from` is after `to`, the range is over 400 days, or `compare` is not `previous_period`")))]
pub async fn analytics_summary(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    ApiQuery(query): ApiQuery<SummaryQuery>,
) -> Result<Json<SummaryView>, ServiceError> {
    let compare_previous = match query.compare.as_deref() {
        None => false,
        Some("previous_period") => true,
        Some(_) => return Err(ServiceError::invalid_field("compare", "must be previous_period")),
    };
    let summary = state
        .analytics()
        .get_summary(SummaryRequest {
            store_id: scope.store.id,
            caller: caller(&scope.caller),
            range: range(&query.from, &query.to),
            compare_previous,
        })
        .await?;
    Ok(Json(summary.into()))
}

/// One metric per hour or per day of the range, every bucket present.
#[utoipa::path(get, path = "/v1/stores/{store}/analytics/timeseries", tag = "analytics",
    params(("store" = String, Path, description = "store slug"), TimeseriesQuery), security(("bearer" = [])),
    responses((status = 200, body = TimeseriesView, description = "The metric's buckets, oldest first"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No store has this slug, or the token is another store's"),
              (status = 422, description = "`metric` is missing or unknown, `interval` is not `hour` or `day`, or the range is invalid (malformed, `from` after `to`, over 400 days)")))]
pub async fn analytics_timeseries(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    ApiQuery(query): ApiQuery<TimeseriesQuery>,
) -> Result<Json<TimeseriesView>, ServiceError> {
    let metric = named(&METRICS, "metric", query.metric.as_deref(), None)?;
    let interval = named(
        &INTERVALS,
        "interval",
        query.interval.as_deref(),
        Some(Interval::Day),
    )?;
    let series = state
        .analytics()
        .get_timeseries(TimeseriesRequest {
            store_id: scope.store.id,
            caller: caller(&scope.caller),
            range: range(&query.from, &query.to),
            metric: metric.into(),
            interval: interval.into(),
        })
        .await?;
    Ok(Json(TimeseriesView {
        currency: series.currency,
        range: series.range.unwrap_or_default().into(),
        metric: name_of(&METRICS, &metric),
        interval: name_of(&INTERVALS, &interval),
        points: series
            .points
            .into_iter()
            .map(|p| PointView {
                start: mercato_runtime::time::to_rfc3339(p.start_ms),
                label: p.label,
                value: p.value,
            })
            .collect(),
    }))
}

/// Products and variants (SKUs) ranked by units or by net sales.
#[utoipa::path(get, path = "/v1/stores/{store}/analytics/top-products", tag = "analytics",
    params(("store" = String, Path, description = "store slug"), TopProductsQuery), security(("bearer" = [])),
    responses((status = 200, body = TopProductsView, description = "The best sellers, best first"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No store has this slug, or the token is another store's"),
              (status = 422, description = "`by` is not `units` or `net_sales`, `limit` is not 1–100, or the range is invalid")))]
pub async fn analytics_top_products(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    ApiQuery(query): ApiQuery<TopProductsQuery>,
) -> Result<Json<TopProductsView>, ServiceError> {
    let by = named(&RANKINGS, "by", query.by.as_deref(), Some(Ranking::Units))?;
    let limit = query.limit.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(ServiceError::invalid_field("limit", "must be 1–100"));
    }
    let top = state
        .analytics()
        .get_top_products(TopProductsRequest {
            store_id: scope.store.id,
            caller: caller(&scope.caller),
            range: range(&query.from, &query.to),
            by: by.into(),
            limit,
        })
        .await?;
    Ok(Json(TopProductsView {
        currency: top.currency,
        range: top.range.unwrap_or_default().into(),
        by: name_of(&RANKINGS, &by),
        products: top.products.into_iter().map(Into::into).collect(),
        variants: top.variants.into_iter().map(Into::into).collect(),
    }))
}

/// Product views → carts with a line → checkouts started → orders confirmed, each step
/// counting a shopper once, with the rates between them.
#[utoipa::path(get, path = "/v1/stores/{store}/analytics/funnel", tag = "analytics",
    params(("store" = String, Path, description = "store slug"), RangeQuery), security(("bearer" = [])),
    responses((status = 200, body = FunnelView, description = "The four steps, in order"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No store has this slug, or the token is another store's"),
              (status = 422, description = "The range is invalid (malformed, `from` after `to`, over 400 days)")))]
pub async fn analytics_funnel(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    ApiQuery(query): ApiQuery<RangeQuery>,
) -> Result<Json<FunnelView>, ServiceError> {
    let funnel = state
        .analytics()
        .get_funnel(FunnelRequest {
            store_id: scope.store.id,
            caller: caller(&scope.caller),
            range: range(&query.from, &query.to),
        })
        .await?;
    Ok(Json(funnel.into()))
}

/// SKUs at or below their low-stock threshold now.
#[utoipa::path(get, path = "/v1/stores/{store}/analytics/low-stock", tag = "analytics",
    params(("store" = String, Path, description = "store slug")), security(("bearer" = [])),
    responses((status = 200, body = LowStockView, description = "The SKUs low in stock"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No store has this slug, or the token is another store's")))]
pub async fn analytics_low_stock(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
) -> Result<Json<LowStockView>, ServiceError> {
    let low = state
        .analytics()
        .list_low_stock(LowStockRequest {
            store_id: scope.store.id,
            caller: caller(&scope.caller),
        })
        .await?;
    Ok(Json(low.into()))
}

/// Recomputes every order-derived figure of the range from the orders history and reports each
/// difference from what analytics holds (none when the figures are exact). Owner only.
#[utoipa::path(get, path = "/v1/stores/{store}/analytics/verify", tag = "analytics",
    params(("store" = String, Path, description = "store slug"), RangeQuery), security(("bearer" = [])),
    responses((status = 200, body = VerifyView, description = "What was checked and every difference found"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner"),
              (status = 404, description = "No store has this slug, or the token is another store's"),
              (status = 422, description = "The range is invalid (malformed, `from` after `to`, over 400 days)")))]
pub async fn analytics_verify(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
    ApiQuery(query): ApiQuery<RangeQuery>,
) -> Result<Json<VerifyView>, ServiceError> {
    let report = state
        .analytics()
        .verify(VerifyRequest {
            store_id: scope.store.id,
            caller: caller(&scope.caller),
            range: range(&query.from, &query.to),
        })
        .await?;
    Ok(Json(report.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mercato_runtime::error::ErrorCode;

    #[test]
    fn metric_names_map_both_ways_and_an_unknown_one_names_the_field() {
        for (name, metric) in METRICS {
            assert_eq!(named(&METRICS, "metric", Some(name), None).unwrap(), metric);
            assert_eq!(name_of(&METRICS, &metric), name);
        }
        let refused = named(&METRICS, "metric", Some("profit"), None).unwrap_err();
        assert_eq!(refused.code, ErrorCode::ValidationFailed);
        assert_eq!(refused.fields[0].field, "metric");
        let missing = named(&METRICS, "metric", None, None).unwrap_err();
        assert_eq!(missing.fields[0].field, "metric");
        assert_eq!(
            named(&INTERVALS, "interval", None, Some(Interval::Day)).unwrap(),
            Interval::Day
        );
    }
}
