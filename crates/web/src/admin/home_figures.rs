//! Today's figures on the admin home, read from the analytics API (`…/analytics/summary` with
//! the previous period, the hourly net sales, top products, the funnel and low stock) and laid
//! out for the page: tiles against yesterday, an hourly bar chart drawn as plain SVG (no script,
//! no inline style), and tables. Every figure is the API's; here they are only written out.

use super::access::Staff;
use super::format::money;
use crate::api::ApiError;
use serde::Deserialize;

#[derive(Deserialize)]
struct Range {
    to_date: String,
    time_zone: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Figures {
    net_sales_minor: i64,
    orders: i64,
    average_order_value_minor: i64,
    returning_customer_rate_bp: i64,
    conversion_rate_bp: i64,
    refunds_minor: i64,
    payment_declines: i64,
}

#[derive(Deserialize)]
struct Summary {
    currency: String,
    range: Range,
    figures: Figures,
    previous: Option<Figures>,
}

#[derive(Deserialize)]
struct Point {
    label: String,
    value: i64,
}

#[derive(Deserialize)]
struct Series {
    points: Vec<Point>,
}

#[derive(Deserialize)]
struct TopRow {
    title: String,
    units: i64,
    net_sales_minor: i64,
}

#[derive(Deserialize)]
struct Top {
    products: Vec<TopRow>,
}

#[derive(Deserialize)]
struct Step {
    name: String,
    count: i64,
    rate_from_previous_bp: i64,
    rate_from_start_bp: i64,
}

#[derive(Deserialize)]
struct Funnel {
    steps: Vec<Step>,
}

#[derive(Deserialize)]
pub(crate) struct LowItem {
    pub sku: String,
    pub location: String,
    pub available: i64,
    pub threshold: i64,
}

#[derive(Deserialize)]
struct LowStock {
    items: Vec<LowItem>,
}

/// One figure against yesterday's.
pub(crate) struct Tile {
    pub label: &'static str,
    pub value: String,
    pub previous: String,
    /// `+12%`, `-3%`, `no change`, or empty when yesterday had none to compare with.
    pub change: String,
}

/// One hour's bar of the chart, in the SVG's coordinates (a 480 × 130 view box).
pub(crate) struct Bar {
    pub x: i64,
    pub y: i64,
    pub height: i64,
    /// `14:00: 12.50 EUR`, the bar's title and its row in the table.
    pub text: String,
}

/// An hour mark under the chart.
pub(crate) struct Tick {
    pub x: i64,
    pub label: String,
}

pub(crate) struct ProductRow {
    pub title: String,
    pub units: i64,
    pub net_sales: String,
}

pub(crate) struct StepRow {
    pub label: &'static str,
    pub count: i64,
    pub from_previous: String,
    pub from_start: String,
}

/// Everything the home shows of analytics.
pub(crate) struct TodayFigures {
    /// The store's local date and time zone the figures are for.
    pub date: String,
    pub time_zone: String,
    pub tiles: Vec<Tile>,
    pub refunds: String,
    pub payment_declines: i64,
    pub bars: Vec<Bar>,
    pub ticks: Vec<Tick>,
    pub chart_summary: String,
    pub top: Vec<ProductRow>,
    pub funnel: Vec<StepRow>,
    pub low_stock: Vec<LowItem>,
}

const CHART_TOP: i64 = 10;
const CHART_HEIGHT: i64 = 100;
const BAR_STEP: i64 = 20;

/// Reads today's figures: the store's today comes from the API (the end of its default range),
/// so the time zone rule stays with the analytics service.
pub(crate) async fn load(staff: &Staff) -> Result<TodayFigures, ApiError> {
    let get = |path: &str| staff.session.get(&staff.api_path(path));
    let default: Summary = get("/analytics/summary").send().await?;
    let day = default.range.to_date;
    let range = format!("from={day}&to={day}");
    let summary_path = format!("/analytics/summary?{range}&compare=previous_period");
    let series_path = format!("/analytics/timeseries?metric=net_sales&interval=hour&{range}");
    let top_path = format!("/analytics/top-products?{range}&by=units&limit=5");
    let funnel_path = format!("/analytics/funnel?{range}");
    let (summary, series, top, funnel, low) = tokio::join!(
        get(&summary_path).send::<Summary>(),
        get(&series_path).send::<Series>(),
        get(&top_path).send::<Top>(),
        get(&funnel_path).send::<Funnel>(),
        get("/analytics/low-stock").send::<LowStock>(),
    );
    let summary = summary?;
    let currency = summary.currency.clone();
    let (bars, ticks, chart_summary) = chart(&series?.points, &currency);
    Ok(TodayFigures {
        date: day,
        time_zone: summary.range.time_zone.clone(),
        refunds: money(summary.figures.refunds_minor, &currency),
        payment_declines: summary.figures.payment_declines,
        tiles: tiles(&summary),
        bars,
        ticks,
        chart_summary,
        top: top?
            .products
            .into_iter()
            .map(|p| ProductRow {
                title: p.title,
                units: p.units,
                net_sales: money(p.net_sales_minor, &currency),
            })
            .collect(),
        funnel: step_rows(&funnel?.steps),
        low_stock: low?.items,
    })
}

fn tiles(s: &Summary) -> Vec<Tile> {
    let now = &s.figures;
    let before = s.previous.as_ref();
    let money_of = |v: i64| money(v, &s.currency);
    let tile = |label, value: fn(&Figures) -> i64, show: &dyn Fn(i64) -> String| Tile {
        label,
        value: show(value(now)),
        previous: before.map(|b| show(value(b))).unwrap_or_default(),
        change: before.map(|b| change(value(now), value(b))).unwrap_or_default(),
    };
    vec![
        tile("Net sales", |f| f.net_sales_minor, &money_of),
        tile("Orders", |f| f.orders, &|v| v.to_string()),
        tile("Average order value", |f| f.average_order_value_minor, &money_of),
        tile("Returning customers", |f| f.returning_customer_rate_bp, &percent),
        tile("Conversion rate", |f| f.conversion_rate_bp, &percent),
    ]
}

/// Basis points as a percentage with one decimal: `3333` → `33.3%`.
pub(crate) fn percent(bp: i64) -> String {
    let tenths = (bp + 5).div_euclid(10);
    format!("{}.{}%", tenths.div_euclid(10), tenths.rem_euclid(10))
}

/// How `now` compares with `before`, in whole percent.
fn change(now: i64, before: i64) -> String {
    if before == 0 {
        return String::new();
    }
    if now == before {
        return "no change".to_owned();
    }
    let pct = ((now - before) as f64 / before.abs() as f64 * 100.0).round() as i64;
    format!("{pct:+}%")
}

/// The funnel's rows; a rate whose base is zero shoppers (or the first step's rate from the
/// step before it) says "—" rather than a percentage of nothing.
fn step_rows(steps: &[Step]) -> Vec<StepRow> {
    let first = steps.first().map_or(0, |s| s.count);
    let mut previous: Option<i64> = None;
    steps
        .iter()
        .map(|s| {
            let row = step_row(s, previous.filter(|p| *p > 0).is_some(), first > 0);
            previous = Some(s.count);
            row
        })
        .collect()
}

fn step_row(s: &Step, has_previous: bool, has_start: bool) -> StepRow {
    let rate = |shown: bool, bp: i64| if shown { percent(bp) } else { "—".to_owned() };
    let label = match s.name.as_str() {
        "product_views" => "Viewed a product",
        "carts" => "Added to cart",
        "checkouts_started" => "Started checkout",
        "orders_confirmed" => "Ordered",
        _ => "Other",
    };
    StepRow {
        label,
        count: s.count,
        from_previous: rate(has_previous, s.rate_from_previous_bp),
        from_start: rate(has_start, s.rate_from_start_bp),
    }
}

/// The hourly bars (negative hours, where refunds outweigh sales, draw no bar), the marks every
/// six hours, and a sentence saying what the chart shows.
fn chart(points: &[Point], currency: &str) -> (Vec<Bar>, Vec<Tick>, String) {
    let max = points.iter().map(|p| p.value).max().unwrap_or(0).max(1);
    let hour = |p: &Point| p.label.get(11..16).unwrap_or(&p.label).to_owned();
    let bars = (0i64..)
        .zip(points)
        .map(|(i, p)| {
            let height = p.value.max(0) * CHART_HEIGHT / max;
            Bar {
                x: i * BAR_STEP + 2,
                y: CHART_TOP + CHART_HEIGHT - height,
                height,
                text: format!("{}: {}", hour(p), money(p.value, currency)),
            }
        })
        .collect();
    let ticks = (0i64..)
        .zip(points)
        .filter(|(i, _)| i % 6 == 0)
        .map(|(i, p)| Tick {
            x: i * BAR_STEP + 2,
            label: hour(p),
        })
        .collect();
    let best = points.iter().filter(|p| p.value > 0).max_by_key(|p| p.value);
    let summary = match best {
        Some(p) => format!(
            "Net sales per hour today; the busiest hour so far is {} with {}.",
            hour(p),
            money(p.value, currency)
        ),
        None => "Net sales per hour today; nothing sold yet.".to_owned(),
    };
    (bars, ticks, summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_changes_read_as_people_write_them() {
        assert_eq!(percent(3333), "33.3%");
        assert_eq!(percent(10000), "100.0%");
        assert_eq!(percent(0), "0.0%");
        assert_eq!(change(150, 100), "+50%");
        assert_eq!(change(75, 100), "-25%");
        assert_eq!(change(5, 5), "no change");
        assert_eq!(change(5, 0), "");
    }

    #[test]
    fn funnel_rates_over_no_shoppers_say_so() {
        let step = |name: &str, count, prev, start| Step {
            name: name.to_owned(),
            count,
            rate_from_previous_bp: prev,
            rate_from_start_bp: start,
        };
        let rows = step_rows(&[
            step("product_views", 4, 10000, 10000),
            step("carts", 2, 5000, 5000),
            step("checkouts_started", 0, 0, 0),
            step("orders_confirmed", 0, 0, 0),
        ]);
        let shown: Vec<_> = rows
            .iter()
            .map(|r| (r.label, r.from_previous.as_str(), r.from_start.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("Viewed a product", "—", "100.0%"),
                ("Added to cart", "50.0%", "50.0%"),
                ("Started checkout", "0.0%", "0.0%"),
                ("Ordered", "—", "0.0%"),
            ]
        );
        let no_views = step_rows(&[step("product_views", 0, 10000, 0), step("carts", 2, 0, 0)]);
        assert_eq!(
            (
                no_views[1].from_previous.as_str(),
                no_views[1].from_start.as_str()
            ),
            ("—", "—")
        );
    }

    #[test]
    fn bars_scale_to_the_busiest_hour_and_negative_hours_draw_none() {
        let points = [("00:00", 0), ("01:00", 2000), ("02:00", -500), ("03:00", 1000)].map(|(h, v)| Point {
            label: format!("2026-12-06T{h}"),
            value: v,
        });
        let (bars, ticks, summary) = chart(&points, "EUR");
        let heights: Vec<_> = bars.iter().map(|b| b.height).collect();
        assert_eq!(heights, [0, 100, 0, 50]);
        assert_eq!(bars[1].y, CHART_TOP);
        assert_eq!(bars[2].text, "02:00: -5.00 EUR");
        assert_eq!(ticks.len(), 1);
        assert!(summary.contains("01:00 with 20.00 EUR"), "{summary}");
    }
}
