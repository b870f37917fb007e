//! The shop benchmark's report: totals and percentiles per request kind, the same per second
//! of the run, as JSON and as one self-contained HTML page (inline SVG plots, no scripts, no
//! network).

use super::super::load::percentile;
use super::mix::{Kind, Sample};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Figures for one request kind (or all of them) over some span of time.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    pub requests: usize,
    pub errors: usize,
    pub rps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Figures {
    fn of<'a>(samples: impl Iterator<Item = &'a Sample>, seconds: f64) -> Figures {
        let mut latencies = Vec::new();
        let mut errors = 0;
        for s in samples {
            latencies.push(u64::from(s.latency_us));
            errors += usize::from(!s.ok);
        }
        latencies.sort_unstable();
        Figures {
            requests: latencies.len(),
            errors,
            rps: latencies.len() as f64 / seconds.max(1e-9),
            p50_ms: percentile(&latencies, 50.0),
            p90_ms: percentile(&latencies, 90.0),
            p99_ms: percentile(&latencies, 99.0),
            max_ms: percentile(&latencies, 100.0),
        }
    }

    fn json(&self) -> Value {
        json!({"requests": self.requests, "errors": self.errors, "rps": round(self.rps),
               "p50_ms": self.p50_ms, "p90_ms": self.p90_ms, "p99_ms": self.p99_ms, "max_ms": self.max_ms})
    }
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The whole run: totals, per kind, and per kind per second.
pub struct Summary {
    pub concurrency: usize,
    pub seconds: f64,
    pub total: Figures,
    pub kinds: BTreeMap<Kind, Figures>,
    /// Per second of the run (index = second), per kind.
    pub timeline: Vec<BTreeMap<Kind, Figures>>,
}

impl Summary {
    pub fn of(samples: &[Sample], seconds: f64, concurrency: usize) -> Summary {
        let kinds = Kind::ALL
            .iter()
            .map(|k| (*k, Figures::of(samples.iter().filter(|s| s.kind == *k), seconds)))
            .filter(|(_, f)| f.requests > 0)
            .collect();
        let last = samples.iter().map(|s| s.sent_us / 1_000_000).max().unwrap_or(0) as usize;
        let mut by_second: Vec<Vec<Sample>> = vec![Vec::new(); last + 1];
        for s in samples {
            by_second[(s.sent_us / 1_000_000) as usize].push(*s);
        }
        let timeline = by_second
            .iter()
            .map(|second| {
                Kind::ALL
                    .iter()
                    .map(|k| (*k, Figures::of(second.iter().filter(|s| s.kind == *k), 1.0)))
                    .collect()
            })
            .collect();
        Summary {
            concurrency,
            seconds,
            total: Figures::of(samples.iter(), seconds),
            kinds,
            timeline,
        }
    }

    pub fn ok_count(&self, kind: Kind) -> usize {
        self.kinds.get(&kind).map(|f| f.requests - f.errors).unwrap_or(0)
    }

    pub fn print(&self) {
        let line = |name: &str, f: &Figures| {
            println!(
                "{name:<12} {:>9.0} req/s  p50 {:>7.2} ms  p90 {:>7.2} ms  p99 {:>7.2} ms  errors {}",
                f.rps, f.p50_ms, f.p90_ms, f.p99_ms, f.errors
            )
        };
        println!("shop mix, c={}, {:.1} s measured", self.concurrency, self.seconds);
        line("all", &self.total);
        for (kind, f) in &self.kinds {
            line(kind.name(), f);
        }
    }

    pub fn to_json(&self, context: Value) -> Value {
        let kinds: serde_json::Map<String, Value> = self
            .kinds
            .iter()
            .map(|(k, f)| (k.name().to_owned(), f.json()))
            .collect();
        let timeline: Vec<Value> = self
            .timeline
            .iter()
            .enumerate()
            .map(|(second, kinds)| {
                let per: serde_json::Map<String, Value> = kinds
                    .iter()
                    .filter(|(_, f)| f.requests > 0)
                    .map(|(k, f)| (k.name().to_owned(), json!({"requests": f.requests, "errors": f.errors, "p50_ms": f.p50_ms, "p99_ms": f.p99_ms})))
                    .collect();
                json!({"second": second, "kinds": per})
            })
            .collect();
        json!({
            "phase": "shop", "concurrency": self.concurrency, "seconds": self.seconds,
            "totals": {"phase": "shop", "concurrency": self.concurrency, "rps": round(self.total.rps),
                       "p50_ms": self.total.p50_ms, "p99_ms": self.total.p99_ms, "errors": self.total.errors,
                       "checkouts_per_second": round(self.ok_count(Kind::Checkout) as f64 / self.seconds)},
            "all": self.total.json(), "kinds": kinds, "timeline": timeline, "context": context,
        })
    }
}

const COLORS: [&str; 7] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
];

/// One self-contained page: the summary table, throughput and latency over time, the context.
pub fn html(summary: &Summary, json: &Value) -> String {
    let mut rows = String::new();
    let mut row = |name: &str, f: &Figures| {
        let _ = write!(
            rows,
            "<tr><td>{name}</td><td>{}</td><td>{:.0}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td></tr>",
            f.requests, f.rps, f.p50_ms, f.p90_ms, f.p99_ms, f.max_ms, f.errors
        );
    };
    row("all", &summary.total);
    for (kind, f) in &summary.kinds {
        row(kind.name(), f);
    }
    let series = |value: &dyn Fn(&Figures) -> f64| -> Vec<(&'static str, Vec<(f64, f64)>)> {
        summary
            .kinds
            .keys()
            .map(|kind| {
                let points = summary
                    .timeline
                    .iter()
                    .enumerate()
                    .filter_map(|(second, kinds)| {
                        kinds
                            .get(kind)
                            .filter(|f| f.requests > 0)
                            .map(|f| (second as f64, value(f)))
                    })
                    .collect();
                (kind.name(), points)
            })
            .collect()
    };
    let throughput = chart(
        "Requests per second, by kind",
        "req/s",
        &series(&|f| f.requests as f64),
    );
    let p50 = chart("p50 latency per second, by kind", "ms", &series(&|f| f.p50_ms));
    let p99 = chart("p99 latency per second, by kind", "ms", &series(&|f| f.p99_ms));
    let context = escape(&serde_json::to_string_pretty(&json["context"]).unwrap_or_default());
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>mercato bench shop</title>\
         <style>body{{font:14px system-ui,sans-serif;margin:2em;max-width:980px}}table{{border-collapse:collapse}}\
         td,th{{padding:4px 10px;text-align:right;border-bottom:1px solid #ddd}}td:first-child,th:first-child{{text-align:left}}\
         svg{{display:block;margin:1.5em 0}}pre{{background:#f6f6f6;padding:1em;overflow:auto}}</style></head><body>\
         <h1>Shopper mix</h1><p>{} shoppers in a closed loop for {:.1} s; mix product 10 : view cart 3 : add to cart 2 : \
         search 2 : listing 1 : checkout 1.</p>\
         <table><tr><th>kind</th><th>requests</th><th>req/s</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>max ms</th><th>errors</th></tr>{rows}</table>\
         {throughput}{p50}{p99}<h2>Run</h2><pre>{context}</pre></body></html>",
        summary.concurrency, summary.seconds
    )
}

/// A line chart as inline SVG.
fn chart(title: &str, unit: &str, series: &[(&str, Vec<(f64, f64)>)]) -> String {
    let (w, h, left, bottom, top, right) = (900.0, 300.0, 60.0, 30.0, 30.0, 130.0);
    let max_x = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(x, _)| *x))
        .fold(1.0, f64::max);
    let max_y = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, y)| *y))
        .fold(0.0, f64::max)
        .max(1e-9)
        * 1.1;
    let x = |v: f64| left + v / max_x * (w - left - right);
    let y = |v: f64| h - bottom - v / max_y * (h - top - bottom);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\
         <text x=\"{left}\" y=\"18\" font-weight=\"bold\">{}</text>",
        escape(title)
    );
    for i in 0..=4 {
        let v = max_y * f64::from(i) / 4.0;
        let (line_end, at, label_x, label_y) = (w - right, y(v), left - 4.0, y(v) + 4.0);
        let _ = write!(
            svg,
            "<line x1=\"{left}\" x2=\"{line_end}\" y1=\"{at:.1}\" y2=\"{at:.1}\" stroke=\"#eee\"/>\
             <text x=\"{label_x}\" y=\"{label_y:.1}\" font-size=\"11\" text-anchor=\"end\">{v:.1} {unit}</text>"
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">seconds into the run (0–{max_x:.0})</text>",
        (left + w - right) / 2.0,
        h - 6.0
    );
    for (i, (name, points)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let path: Vec<String> = points
            .iter()
            .map(|(px, py)| format!("{:.1},{:.1}", x(*px), y(*py)))
            .collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{}\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"12\" fill=\"{color}\">{}</text>",
            path.join(" "),
            w - right + 10.0,
            top + 16.0 * i as f64 + 10.0,
            escape(name)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(kind: Kind, second: u64, ms: u32, ok: bool) -> Sample {
        Sample {
            kind,
            sent_us: second * 1_000_000,
            latency_us: ms * 1000,
            ok,
        }
    }

    #[test]
    fn figures_are_split_by_kind_and_by_second() {
        let samples = [
            sample(Kind::Product, 0, 1, true),
            sample(Kind::Product, 1, 3, true),
            sample(Kind::Checkout, 1, 10, false),
        ];
        let s = Summary::of(&samples, 2.0, 4);
        assert_eq!(s.kinds[&Kind::Product].requests, 2);
        assert_eq!(s.ok_count(Kind::Checkout), 0);
        assert_eq!(s.timeline.len(), 2);
        assert_eq!(s.timeline[1][&Kind::Checkout].errors, 1);
    }

    #[test]
    fn the_page_is_self_contained() {
        let samples = [sample(Kind::Search, 0, 2, true), sample(Kind::Search, 1, 4, true)];
        let s = Summary::of(&samples, 2.0, 1);
        let page = html(&s, &s.to_json(json!({"store": "<b>"})));
        assert!(page.contains("<svg") && page.contains("&lt;b&gt;"));
        assert!(
            !page.contains("<script") && !page.contains("http://")
                || page.contains("http://www.w3.org/2000/svg")
        );
    }
}
