//! Statements and transactions as the services count them (`mercato_db_statements_total`,
//! `mercato_db_transactions_total` on `/metrics`), scraped before and after a run, so that a
//! benchmark reports what each checkout really cost each database.

use serde::Serialize;
use std::collections::BTreeMap;

/// Counts per (service, op), summed over the scraped processes.
#[derive(Clone, Debug, Default)]
pub struct DbCounters(BTreeMap<(String, String), Counts>);

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Counts {
    pub statements: f64,
    pub transactions: f64,
}

impl DbCounters {
    /// Reads every `/metrics` URL; unreachable ones count as empty.
    pub async fn scrape(http: &reqwest::Client, urls: &[String]) -> DbCounters {
        let mut all = DbCounters::default();
        for url in urls {
            let Ok(response) = http.get(url).send().await else {
                continue;
            };
            let Ok(text) = response.text().await else { continue };
            all.add_exposition(&text);
        }
        all
    }

    fn add_exposition(&mut self, text: &str) {
        for line in text.lines() {
            let (is_statements, rest) = if let Some(r) = line.strip_prefix("mercato_db_statements_total{") {
                (true, r)
            } else if let Some(r) = line.strip_prefix("mercato_db_transactions_total{") {
                (false, r)
            } else {
                continue;
            };
            let Some((labels, value)) = rest.rsplit_once("} ") else {
                continue;
            };
            let Ok(value) = value.trim().parse::<f64>() else {
                continue;
            };
            let label = |name: &str| {
                labels
                    .split(',')
                    .find_map(|kv| kv.strip_prefix(&format!("{name}=\"")))
                    .map(|v| v.trim_end_matches('"').to_owned())
                    .unwrap_or_default()
            };
            if !is_statements && label("outcome") != "committed" {
                continue;
            }
            let entry = self.0.entry((label("service"), label("op"))).or_default();
            if is_statements {
                entry.statements += value;
            } else {
                entry.transactions += value;
            }
        }
    }

    /// What happened between `before` and `self`, divided by `per` (checkouts, say), keeping
    /// only the ops that did something.
    pub fn per(&self, before: &DbCounters, per: f64) -> BTreeMap<String, BTreeMap<String, Counts>> {
        let mut out: BTreeMap<String, BTreeMap<String, Counts>> = BTreeMap::new();
        for ((service, op), after) in &self.0 {
            let base = before
                .0
                .get(&(service.clone(), op.clone()))
                .copied()
                .unwrap_or_default();
            let statements = (after.statements - base.statements) / per.max(1.0);
            let transactions = (after.transactions - base.transactions) / per.max(1.0);
            if statements > 0.0 || transactions > 0.0 {
                out.entry(service.clone()).or_default().insert(
                    op.clone(),
                    Counts {
                        statements,
                        transactions,
                    },
                );
            }
        }
        out
    }
}

/// Prints one line per service: statements and transactions per unit, and the ops behind them.
pub fn print_per(unit: &str, per: &BTreeMap<String, BTreeMap<String, Counts>>) {
    for (service, ops) in per {
        let statements: f64 = ops.values().map(|c| c.statements).sum();
        let transactions: f64 = ops.values().map(|c| c.transactions).sum();
        let detail = ops
            .iter()
            .map(|(op, c)| format!("{op} {:.1}/{:.1}", c.statements, c.transactions))
            .collect::<Vec<_>>()
            .join(", ");
        println!(
            "  db {service:<20} {statements:>6.1} statements, {transactions:>5.1} transactions per {unit}  ({detail})"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_is_summed_per_service_and_op_counting_only_commits() {
        let mut c = DbCounters::default();
        c.add_exposition(
            "# TYPE mercato_db_statements_total counter\n\
             mercato_db_statements_total{service=\"orders\",op=\"place\"} 30\n\
             mercato_db_transactions_total{service=\"orders\",op=\"place\",outcome=\"committed\"} 10\n\
             mercato_db_transactions_total{service=\"orders\",op=\"place\",outcome=\"rolled_back\"} 5\n",
        );
        let per = c.per(&DbCounters::default(), 10.0);
        let place = per["orders"]["place"];
        assert_eq!((place.statements, place.transactions), (3.0, 1.0));
    }
}
