//! REST shapes of the analytics routes: their query strings and the JSON views of the figures
//! (snake_case names, money in minor units of the view's `currency`, rates in basis points).

use mercato_proto::analytics as pb;
use mercato_runtime::time::to_rfc3339;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A range as the store's time zone resolves it.
#[derive(Serialize, ToSchema)]
pub struct RangeView {
    /// The first instant in the range (RFC 3339, UTC).
    pub from: String,
    /// The first instant after the range (RFC 3339, UTC): the range is half-open.
    pub to: String,
    /// The first local date in the range.
    pub from_date: String,
    /// The last local date in the range (inclusive).
    pub to_date: String,
    /// The store's IANA time zone the buckets are in.
    pub time_zone: String,
}

impl From<pb::ResolvedRange> for RangeView {
    fn from(r: pb::ResolvedRange) -> Self {
        RangeView {
            from: to_rfc3339(r.from_ms),
            to: to_rfc3339(r.to_ms),
            from_date: r.from_date,
            to_date: r.to_date,
            time_zone: r.time_zone,
        }
    }
}

/// A range's figures (Shopify's definitions; see the analytics contract).
#[derive(Serialize, ToSchema)]
pub struct FiguresView {
    /// Line subtotals before discounts of the orders confirmed in the range.
    pub gross_sales_minor: i64,
    pub discounts_minor: i64,
    /// Money refunded in the range, whenever its orders were placed.
    pub refunds_minor: i64,
    /// Gross sales less discounts and refunds.
    pub net_sales_minor: i64,
    pub shipping_minor: i64,
    pub taxes_minor: i64,
    /// Net sales plus shipping and taxes.
    pub total_sales_minor: i64,
    /// Orders confirmed in the range.
    pub orders: i64,
    pub units: i64,
    /// (Gross sales − discounts) ÷ orders, before returns, rounded half up.
    pub average_order_value_minor: i64,
    pub new_customers: i64,
    pub returning_customers: i64,
    /// Returning ÷ (new + returning) customers, in basis points.
    pub returning_customer_rate_bp: i64,
    /// Checkouts that failed because payment was declined or blocked.
    pub payment_declines: i64,
    pub product_views: i64,
    /// Orders ÷ distinct product viewers, in basis points.
    pub conversion_rate_bp: i64,
    /// Orders placed in the range by their status now.
    pub orders_by_status: BTreeMap<String, i64>,
}

impl From<pb::Figures> for FiguresView {
    fn from(f: pb::Figures) -> Self {
        FiguresView {
            gross_sales_minor: f.gross_sales_minor,
            discounts_minor: f.discounts_minor,
            refunds_minor: f.refunds_minor,
            net_sales_minor: f.net_sales_minor,
            shipping_minor: f.shipping_minor,
            taxes_minor: f.taxes_minor,
            total_sales_minor: f.total_sales_minor,
            orders: f.orders,
            units: f.units,
            average_order_value_minor: f.average_order_value_minor,
            new_customers: f.new_customers,
            returning_customers: f.returning_customers,
            returning_customer_rate_bp: f.returning_customer_rate_bp,
            payment_declines: f.payment_declines,
            product_views: f.product_views,
            conversion_rate_bp: f.conversion_rate_bp,
            orders_by_status: f.orders_by_status.into_iter().collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SummaryView {
    pub currency: String,
    pub range: RangeView,
    pub figures: FiguresView,
    /// With `compare=previous_period`: the range of the same length just before.
    pub previous_range: Option<RangeView>,
    pub previous: Option<FiguresView>,
}

impl From<pb::Summary> for SummaryView {
    fn from(s: pb::Summary) -> Self {
        SummaryView {
            currency: s.currency,
            range: s.range.unwrap_or_default().into(),
            figures: s.figures.unwrap_or_default().into(),
            previous_range: s.previous_range.map(Into::into),
            previous: s.previous.map(Into::into),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PointView {
    /// The bucket's first instant (RFC 3339, UTC).
    pub start: String,
    /// Its local label: `2026-12-06` (day) or `2026-12-06T14:00` (hour).
    pub label: String,
    pub value: i64,
}

#[derive(Serialize, ToSchema)]
pub struct TimeseriesView {
    pub currency: String,
    pub range: RangeView,
    pub metric: String,
    /// `hour` or `day`.
    pub interval: String,
    /// Every bucket of the range, zero when nothing happened.
    pub points: Vec<PointView>,
}

#[derive(Serialize, ToSchema)]
pub struct ProductFiguresView {
    pub product_id: String,
    /// Variant rows only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// The title as last sold.
    pub title: String,
    pub units: i64,
    pub net_sales_minor: i64,
}

impl From<pb::ProductFigures> for ProductFiguresView {
    fn from(p: pb::ProductFigures) -> Self {
        ProductFiguresView {
            product_id: p.product_id,
            sku: Some(p.sku).filter(|s| !s.is_empty()),
            title: p.title,
            units: p.units,
            net_sales_minor: p.net_sales_minor,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TopProductsView {
    pub currency: String,
    pub range: RangeView,
    /// `units` or `net_sales`.
    pub by: String,
    pub products: Vec<ProductFiguresView>,
    pub variants: Vec<ProductFiguresView>,
}

#[derive(Serialize, ToSchema)]
pub struct FunnelStepView {
    /// `product_views`, `carts`, `checkouts_started` or `orders_confirmed`.
    pub name: String,
    /// Distinct shoppers at this step.
    pub count: i64,
    /// Count ÷ the previous step's, in basis points (the first step: 10000).
    pub rate_from_previous_bp: i64,
    /// Count ÷ the first step's, in basis points.
    pub rate_from_start_bp: i64,
}

#[derive(Serialize, ToSchema)]
pub struct FunnelView {
    pub range: RangeView,
    pub steps: Vec<FunnelStepView>,
}

impl From<pb::Funnel> for FunnelView {
    fn from(f: pb::Funnel) -> Self {
        FunnelView {
            range: f.range.unwrap_or_default().into(),
            steps: f
                .steps
                .into_iter()
                .map(|s| FunnelStepView {
                    name: s.name,
                    count: s.count,
                    rate_from_previous_bp: s.rate_from_previous_bp,
                    rate_from_start_bp: s.rate_from_start_bp,
                })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LowStockItemView {
    pub sku: String,
    pub location: String,
    pub available: i64,
    pub threshold: i64,
    /// When it fell to its threshold (RFC 3339).
    pub since: String,
}

#[derive(Serialize, ToSchema)]
pub struct LowStockView {
    pub items: Vec<LowStockItemView>,
}

impl From<pb::LowStock> for LowStockView {
    fn from(l: pb::LowStock) -> Self {
        LowStockView {
            items: l
                .items
                .into_iter()
                .map(|i| LowStockItemView {
                    sku: i.sku,
                    location: i.location,
                    available: i.available,
                    threshold: i.threshold,
                    since: to_rfc3339(i.since_ms),
                })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DifferenceView {
    /// `summary`, `day 2026-12-06`, `hour 2026-12-06T14:00`, `product <id>` or `variant <sku>`.
    pub scope: String,
    /// The figure's name as in the summary (`gross_sales_minor`, …).
    pub figure: String,
    /// What analytics holds.
    pub held: i64,
    /// What the orders history says.
    pub recomputed: i64,
}

#[derive(Serialize, ToSchema)]
pub struct VerifyView {
    pub range: RangeView,
    pub orders_checked: i64,
    pub figures_checked: i64,
    /// Empty when every figure matches the history.
    pub differences: Vec<DifferenceView>,
}

impl From<pb::VerifyReport> for VerifyView {
    fn from(v: pb::VerifyReport) -> Self {
        VerifyView {
            range: v.range.unwrap_or_default().into(),
            orders_checked: v.orders_checked,
            figures_checked: v.figures_checked,
            differences: v
                .differences
                .into_iter()
                .map(|d| DifferenceView {
                    scope: d.scope,
                    figure: d.figure,
                    held: d.held,
                    recomputed: d.recomputed,
                })
                .collect(),
        }
    }
}

/// `from` and `to`: local dates of the store (`2026-12-01`, inclusive) or RFC 3339 instants on
/// an hour boundary (`to` excluded); both absent: the last 30 local days, today included.
#[derive(Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// A local date (the start of that day) or an RFC 3339 instant on an hour boundary.
    pub from: Option<String>,
    /// A local date (the end of that day) or an RFC 3339 instant (excluded); at most 400 days
    /// after `from`.
    pub to: Option<String>,
}

#[derive(Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// A local date or an RFC 3339 instant on an hour boundary.
    pub from: Option<String>,
    /// A local date (inclusive) or an RFC 3339 instant (excluded).
    pub to: Option<String>,
    /// `previous_period`: also the figures of the range of the same length just before.
    #[param(pattern = "^previous_period$")]
    pub compare: Option<String>,
}

#[derive(Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TimeseriesQuery {
    /// gross_sales, discounts, refunds, net_sales, total_sales, orders, units,
    /// average_order_value, new_customers, returning_customers, payment_declines,
    /// product_views, carts or checkouts_started. Required.
    #[param(
        pattern = "^(gross_sales|discounts|refunds|net_sales|total_sales|orders|units|average_order_value|new_customers|returning_customers|payment_declines|product_views|carts|checkouts_started)$"
    )]
    pub metric: Option<String>,
    /// `hour` or `day` (the default).
    #[param(pattern = "^(hour|day)$")]
    pub interval: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TopProductsQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    /// `units` (the default) or `net_sales`.
    #[param(pattern = "^(units|net_sales)$")]
    pub by: Option<String>,
    /// Rows of each list, 1–100; 10 when absent.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}
