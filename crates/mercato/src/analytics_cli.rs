//! `mercato analytics verify`: asks a running platform, through its REST API, to recompute a
//! store's figures from the orders service's history and prints each difference from what
//! analytics holds. Exit code 0 when there is none, 1 when there are any, 2 when the check could
//! not run (unreachable API, refused credentials, bad range).
//!
//! `GET /v1/stores/{store}/analytics/verify` is owner only, so the token comes from the owner's
//! password grant (`--email`/`--password`); a token from elsewhere can be given with `--token`.
//! API clients' tokens (`--client-id`/`--client-secret`, the client credentials grant) carry
//! the staff role and are refused with 403 — accepted here so the refusal says so plainly.

use clap::{Args, Subcommand};
use serde::Deserialize;
use std::fmt::Write as _;

#[derive(Subcommand, Debug)]
pub enum AnalyticsCommand {
    /// Recompute every order-derived figure of a range from the orders history and report each
    /// difference from what analytics holds (exit 0: none, 1: some, 2: could not check).
    Verify(VerifyArgs),
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The store's slug.
    #[arg(long)]
    pub store: String,
    /// First local date (`2026-12-01`) or an RFC 3339 instant; default: 30 days ago.
    #[arg(long)]
    pub from: Option<String>,
    /// Last local date (inclusive) or an RFC 3339 instant (excluded); default: today.
    #[arg(long)]
    pub to: Option<String>,
    #[command(flatten)]
    pub api: ApiAccess,
}

/// Where the REST API is and how to get a token for it.
#[derive(Args, Debug, Clone)]
pub struct ApiAccess {
    /// Base URL of a gateway (or of the load balancer in front of them).
    #[arg(long, env = "MERCATO_API", default_value = "http://127.0.0.1:8080")]
    pub api: String,
    /// A bearer token to use as it is (no grant).
    #[arg(long, env = "MERCATO_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The store owner's e-mail (password grant).
    #[arg(long, env = "MERCATO_OWNER_EMAIL")]
    pub email: Option<String>,
    /// The store owner's password (password grant).
    #[arg(long, env = "MERCATO_OWNER_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// An API client's id (client credentials grant; its tokens have the staff role).
    #[arg(long, env = "MERCATO_CLIENT_ID")]
    pub client_id: Option<String>,
    /// That API client's secret.
    #[arg(long, env = "MERCATO_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
}

/// The verify report as the REST API answers it.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct VerifyReport {
    pub range: ReportRange,
    pub orders_checked: i64,
    pub figures_checked: i64,
    pub differences: Vec<Difference>,
}

#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ReportRange {
    pub from_date: String,
    pub to_date: String,
    pub time_zone: String,
}

/// One figure that differs: where, which, what analytics holds and what the history says.
#[derive(Debug, Default, Deserialize, PartialEq, Eq, Clone)]
#[serde(default)]
pub struct Difference {
    pub scope: String,
    pub figure: String,
    pub held: i64,
    pub recomputed: i64,
}

/// Runs an analytics command; returns the process's exit code.
pub async fn run(command: AnalyticsCommand) -> i32 {
    match command {
        AnalyticsCommand::Verify(args) => match verify(&args).await {
            Ok(report) => {
                print!("{}", render(&args.store, &report));
                i32::from(!report.differences.is_empty())
            }
            Err(e) => {
                eprintln!("mercato analytics verify: {e:#}");
                2
            }
        },
    }
}

/// Obtains a token and asks the API for the report.
pub async fn verify(args: &VerifyArgs) -> anyhow::Result<VerifyReport> {
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(300))
        .build()?;
    let base = args.api.api.trim_end_matches('/');
    let token = token(&http, base, &args.store, &args.api).await?;
    let mut url = reqwest::Url::parse(&format!("{base}/v1/stores/{}/analytics/verify", args.store))?;
    for (name, value) in [("from", &args.from), ("to", &args.to)] {
        if let Some(value) = value {
            url.query_pairs_mut().append_pair(name, value);
        }
    }
    let response = http.get(url.clone()).bearer_auth(token).send().await?;
    let status = response.status();
    let body = response.text().await?;
    if !status.is_success() {
        anyhow::bail!("GET {url}: {status}: {}", problem_text(&body, status.as_u16()));
    }
    Ok(serde_json::from_str(&body)?)
}

/// A bearer token: the one given, else the owner's password grant, else client credentials
/// (`mercato jobs` too).
pub(crate) async fn token(
    http: &reqwest::Client,
    base: &str,
    store: &str,
    access: &ApiAccess,
) -> anyhow::Result<String> {
    let form: Vec<(&str, &str)> = match access {
        ApiAccess {
            token: Some(token), ..
        } => return Ok(token.clone()),
        ApiAccess {
            email: Some(email),
            password: Some(password),
            ..
        } => vec![
            ("grant_type", "password"),
            ("store", store),
            ("username", email),
            ("password", password),
        ],
        ApiAccess {
            client_id: Some(id),
            client_secret: Some(secret),
            ..
        } => vec![
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ],
        _ => anyhow::bail!(
            "no credentials: give the store owner's --email and --password (or --token); verify is owner only"
        ),
    };
    let url = format!("{base}/v1/oauth/token");
    let response = http.post(&url).form(&form).send().await?;
    let status = response.status();
    let body = response.text().await?;
    if !status.is_success() {
        anyhow::bail!("POST {url}: {status}: {}", problem_text(&body, status.as_u16()));
    }
    let parsed: serde_json::Value = serde_json::from_str(&body)?;
    parsed["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("POST {url}: no access_token in the answer"))
}

/// What an error answer says: a problem document's detail (or title), an OAuth error, or the body.
fn problem_text(body: &str, status: u16) -> String {
    let parsed: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let text = ["detail", "title", "error_description", "error"]
        .iter()
        .find_map(|k| parsed[k].as_str())
        .map_or_else(|| body.trim().to_owned(), str::to_owned);
    if status == 403 {
        format!("{text} (verify is owner only: sign in as the store's owner with --email/--password)")
    } else {
        text
    }
}

/// The report for people: the range, what was checked, then one line per difference.
pub fn render(store: &str, report: &VerifyReport) -> String {
    let range = &report.range;
    let mut out = format!(
        "store {store}, {} to {} ({}): {} order{}, {} figures checked\n",
        range.from_date,
        range.to_date,
        range.time_zone,
        report.orders_checked,
        if report.orders_checked == 1 { "" } else { "s" },
        report.figures_checked
    );
    if report.differences.is_empty() {
        out.push_str("no differences\n");
        return out;
    }
    let count = report.differences.len();
    let _ = writeln!(out, "{count} difference{}:", if count == 1 { "" } else { "s" });
    let scope_width = column_width("scope", report.differences.iter().map(|d| &d.scope));
    let figure_width = column_width("figure", report.differences.iter().map(|d| &d.figure));
    let _ = writeln!(
        out,
        "  {:scope_width$}  {:figure_width$}  {:>14}  {:>14}  {:>14}",
        "scope", "figure", "held", "recomputed", "difference"
    );
    for d in &report.differences {
        let _ = writeln!(
            out,
            "  {:scope_width$}  {:figure_width$}  {:>14}  {:>14}  {:>+14}",
            d.scope,
            d.figure,
            d.held,
            d.recomputed,
            d.held.saturating_sub(d.recomputed)
        );
    }
    out
}

fn column_width<'a>(title: &str, values: impl Iterator<Item = &'a String>) -> usize {
    values.map(String::len).chain([title.len()]).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(differences: Vec<Difference>) -> VerifyReport {
        VerifyReport {
            range: ReportRange {
                from_date: "2026-12-01".into(),
                to_date: "2026-12-06".into(),
                time_zone: "Europe/Paris".into(),
            },
            orders_checked: 12,
            figures_checked: 340,
            differences,
        }
    }

    #[test]
    fn a_clean_report_says_so() {
        let text = render("demo", &report(vec![]));
        assert_eq!(
            text,
            "store demo, 2026-12-01 to 2026-12-06 (Europe/Paris): 12 orders, 340 figures checked\nno differences\n"
        );
    }

    #[test]
    fn each_difference_is_one_line_with_scope_figure_held_and_recomputed() {
        let text = render(
            "demo",
            &report(vec![Difference {
                scope: "day 2026-12-06".into(),
                figure: "gross_sales_minor".into(),
                held: 1000,
                recomputed: 1299,
            }]),
        );
        let line = text.lines().last().expect("a line");
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            cells,
            ["day", "2026-12-06", "gross_sales_minor", "1000", "1299", "-299"]
        );
        assert!(text.contains("1 difference:"), "{text}");
    }

    #[test]
    fn the_api_answer_parses_into_the_report() {
        let body = r#"{"range":{"from":"2026-12-01T00:00:00+01:00","to":"2026-12-07T00:00:00+01:00",
            "from_date":"2026-12-01","to_date":"2026-12-06","time_zone":"Europe/Paris"},
            "orders_checked":12,"figures_checked":340,
            "differences":[{"scope":"summary","figure":"orders","held":11,"recomputed":12}]}"#;
        let parsed: VerifyReport = serde_json::from_str(body).expect("parses");
        assert_eq!(parsed.differences[0].figure, "orders");
        assert_eq!(parsed.range.time_zone, "Europe/Paris");
    }

    #[test]
    fn a_refusal_names_the_owner_rule() {
        let text = problem_text(r#"{"title":"Forbidden","detail":"owners only"}"#, 403);
        assert!(
            text.starts_with("owners only") && text.contains("--email"),
            "{text}"
        );
    }
}
