//! `mercato jobs list|show|retry|cancel`: a store's background jobs (exports, image sizes,
//! search re-indexing) for operators, through a running platform's REST API, printed for people.
//! Exit code 0 when the request succeeded, 1 when it was refused (a finished job cannot be
//! cancelled: 409) or could not be made.
//!
//! The jobs API is per store and admits its owner and staff, so the token comes as for `mercato
//! analytics verify`: `--token`, the owner's `--email`/`--password`, or an API client's
//! `--client-id`/`--client-secret`.

use crate::analytics_cli::ApiAccess;
use clap::{Args, Subcommand};
use serde_json::Value;
use std::fmt::Write as _;

#[derive(Subcommand, Debug)]
pub enum JobsCommand {
    /// The store's jobs, newest first.
    List(ListArgs),
    /// One job: status, progress, attempts, last error, input and result.
    Show(JobArgs),
    /// Queue a dead or cancelled job again.
    Retry(JobArgs),
    /// Cancel a queued or running job.
    Cancel(JobArgs),
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// The store's slug.
    #[arg(long, env = "MERCATO_STORE")]
    pub store: String,
    /// Only these statuses (queued, running, succeeded, dead, cancelled); repeat or comma-separate.
    #[arg(long)]
    pub status: Vec<String>,
    /// Only this kind, e.g. export.orders or search.reindex.
    #[arg(long)]
    pub kind: Option<String>,
    /// Jobs to show (at most 200).
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Continue after this cursor (printed under a full page).
    #[arg(long)]
    pub after: Option<String>,
    #[command(flatten)]
    pub api: ApiAccess,
}

#[derive(Args, Debug)]
pub struct JobArgs {
    /// The job's id.
    pub id: String,
    /// The store's slug.
    #[arg(long, env = "MERCATO_STORE")]
    pub store: String,
    #[command(flatten)]
    pub api: ApiAccess,
}

/// Runs a jobs command; returns the process's exit code.
pub async fn run(command: JobsCommand) -> i32 {
    let (name, outcome) = match &command {
        JobsCommand::List(args) => ("list", list(args).await),
        JobsCommand::Show(args) => (
            "show",
            job_call(args, reqwest::Method::GET, "")
                .await
                .map(|j| render_job(&j)),
        ),
        JobsCommand::Retry(args) => (
            "retry",
            job_call(args, reqwest::Method::POST, "/retry")
                .await
                .map(|j| render_change("queued again", &j)),
        ),
        JobsCommand::Cancel(args) => (
            "cancel",
            job_call(args, reqwest::Method::POST, "/cancel")
                .await
                .map(|j| render_change("cancelled", &j)),
        ),
    };
    match outcome {
        Ok(text) => {
            print!("{text}");
            0
        }
        Err(e) => {
            eprintln!("mercato jobs {name}: {e:#}");
            1
        }
    }
}

async fn list(args: &ListArgs) -> anyhow::Result<String> {
    let (http, base, token) = connect(&args.store, &args.api).await?;
    let mut url = reqwest::Url::parse(&format!("{base}/v1/stores/{}/jobs", args.store))?;
    url.query_pairs_mut()
        .append_pair("limit", &args.limit.to_string());
    for status in &args.status {
        url.query_pairs_mut().append_pair("status", status);
    }
    for (name, value) in [("kind", &args.kind), ("after", &args.after)] {
        if let Some(value) = value {
            url.query_pairs_mut().append_pair(name, value);
        }
    }
    let page = send(http.get(url.clone()).bearer_auth(token), &url).await?;
    Ok(render_list(&args.store, &page))
}

async fn job_call(args: &JobArgs, method: reqwest::Method, action: &str) -> anyhow::Result<Value> {
    let (http, base, token) = connect(&args.store, &args.api).await?;
    let url = reqwest::Url::parse(&format!(
        "{base}/v1/stores/{}/jobs/{}{action}",
        args.store, args.id
    ))?;
    send(http.request(method, url.clone()).bearer_auth(token), &url).await
}

/// An HTTP client, the API's base URL and a bearer token for `store`.
async fn connect(store: &str, access: &ApiAccess) -> anyhow::Result<(reqwest::Client, String, String)> {
    let has_credentials = access.token.is_some()
        || (access.email.is_some() && access.password.is_some())
        || (access.client_id.is_some() && access.client_secret.is_some());
    anyhow::ensure!(
        has_credentials,
        "no credentials: give --token, the owner's --email and --password, or an API client's --client-id and --client-secret"
    );
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()?;
    let base = access.api.trim_end_matches('/').to_owned();
    let token = crate::analytics_cli::token(&http, &base, store, access).await?;
    Ok((http, base, token))
}

/// Sends the request; the JSON answer, or an error saying what the API refused.
async fn send(request: reqwest::RequestBuilder, url: &reqwest::Url) -> anyhow::Result<Value> {
    let response = request.send().await?;
    let status = response.status();
    let body = response.text().await?;
    let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    if !status.is_success() {
        let text = ["detail", "title"]
            .iter()
            .find_map(|k| parsed[k].as_str())
            .map_or_else(|| body.trim().to_owned(), str::to_owned);
        anyhow::bail!("{url}: {status}: {text}");
    }
    Ok(parsed)
}

/// A page of jobs as a table, one line each, with the cursor of the next page if any.
pub fn render_list(store: &str, page: &Value) -> String {
    let jobs = page["items"].as_array().cloned().unwrap_or_default();
    if jobs.is_empty() {
        return format!("store {store}: no jobs\n");
    }
    let kind_width = jobs
        .iter()
        .map(|j| text(&j["kind"]).len())
        .chain([4])
        .max()
        .unwrap_or(4);
    let mut out = format!(
        "{:36}  {:kind_width$}  {:9}  {:>16}  {:>8}  {}\n",
        "ID", "KIND", "STATUS", "PROGRESS", "ATTEMPTS", "CREATED"
    );
    for job in &jobs {
        let _ = writeln!(
            out,
            "{:36}  {:kind_width$}  {:9}  {:>16}  {:>8}  {}",
            text(&job["id"]),
            text(&job["kind"]),
            text(&job["status"]),
            progress(job),
            format!("{}/{}", job["attempts"], job["max_attempts"]),
            text(&job["created_at"]),
        );
        if let Some(error) = job["last_error"].as_str() {
            let _ = writeln!(out, "{:36}  last error: {error}", "");
        }
    }
    if let Some(next) = page["next"].as_str() {
        let _ = writeln!(out, "more: --after {next}");
    }
    out
}

/// One job, a field per line.
pub fn render_job(job: &Value) -> String {
    let mut out = String::new();
    let mut line = |name: &str, value: String| {
        if !value.is_empty() {
            let _ = writeln!(out, "{name:14} {value}");
        }
    };
    line("id", text(&job["id"]));
    line(
        "kind",
        format!("{} ({})", text(&job["kind"]), text(&job["service"])),
    );
    line("status", text(&job["status"]));
    line("progress", progress(job));
    line("estimated end", text(&job["progress"]["estimated_finish"]));
    line(
        "attempts",
        format!("{} of {}", job["attempts"], job["max_attempts"]),
    );
    line("last error", text(&job["last_error"]));
    line("input", job["input"].to_string());
    line("requested by", text(&job["requested_by"]));
    line("created", text(&job["created_at"]));
    line("started", text(&job["started_at"]));
    line("finished", text(&job["finished_at"]));
    let result = &job["result"];
    line("result", text(&result["summary"]));
    if let Some(file) = result["file_name"].as_str() {
        line(
            "file",
            format!(
                "{file} ({} bytes, {})",
                result["bytes"],
                text(&result["content_type"])
            ),
        );
        line("download", text(&result["download_url"]));
        line("expires", text(&result["expires_at"]));
    }
    out
}

/// What a cancel or retry did.
fn render_change(done: &str, job: &Value) -> String {
    format!("job {} {done}: now {}\n", text(&job["id"]), text(&job["status"]))
}

/// `done/total (percent%)`, or `done` while the total is unknown.
fn progress(job: &Value) -> String {
    let p = &job["progress"];
    match (p["done"].as_i64(), p["total"].as_i64(), p["percent"].as_i64()) {
        (Some(done), Some(total), Some(percent)) if total > 0 => format!("{done}/{total} ({percent}%)"),
        (Some(done), _, _) => done.to_string(),
        _ => String::new(),
    }
}

/// A JSON string as it is, anything else (null) as nothing.
fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job() -> Value {
        json!({"id": "0193a0c2-0000-7000-8000-000000000001", "service": "orders", "kind": "export.orders",
            "status": "dead", "progress": {"done": 50, "total": 200, "percent": 25, "estimated_finish": null},
            "attempts": 5, "max_attempts": 5, "last_error": "disk full", "input": {"format": "csv"},
            "requested_by": "u1", "created_at": "2026-12-07T01:00:00Z", "started_at": null,
            "finished_at": null, "result": null})
    }

    #[test]
    fn a_list_line_shows_status_progress_attempts_and_the_last_error() {
        let text = render_list("demo", &json!({"items": [job()], "next": "abc"}));
        let lines: Vec<&str> = text.lines().collect();
        let cells: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(
            cells,
            [
                "0193a0c2-0000-7000-8000-000000000001",
                "export.orders",
                "dead",
                "50/200",
                "(25%)",
                "5/5",
                "2026-12-07T01:00:00Z"
            ]
        );
        assert!(lines[2].ends_with("last error: disk full"), "{text}");
        assert_eq!(lines[3], "more: --after abc");
        assert_eq!(
            render_list("demo", &json!({"items": []})),
            "store demo: no jobs\n"
        );
    }

    #[test]
    fn a_job_shows_its_fields_and_leaves_out_what_it_lacks() {
        let text = render_job(&job());
        assert!(text.contains("kind           export.orders (orders)"), "{text}");
        assert!(text.contains("attempts       5 of 5"), "{text}");
        assert!(text.contains(r#"input          {"format":"csv"}"#), "{text}");
        assert!(!text.contains("started"), "no start time, no line: {text}");
    }
}
