//! The jobs page: an export started from it runs as a job, the list (and its live fragment,
//! which admin.js refetches on `job.` events) shows it finished with a link to its file, and
//! cancelling a finished job is refused in words.

use super::{Browser, place_order, store};
use crate::harness::Platform;

#[tokio::test]
async fn an_export_started_on_the_jobs_page_finishes_there_with_its_file() {
    let p = Platform::start().await;
    let token = store(&p, "jobsweb").await;
    place_order(&p, "jobsweb", &token).await;
    let mut browser = Browser::new(&p);
    browser.sign_in("jobsweb", "owner@jobsweb.test").await;

    let empty = browser.get("/admin/jobsweb/jobs").await;
    assert_eq!(empty.status, 200, "{}", empty.html);
    // The order's confirmation e-mail is a job already (`email.send`).
    for shown in [
        "Export orders",
        "Export products",
        "Export customers",
        "data-live-events=\"job.\"",
    ] {
        assert!(empty.html.contains(shown), "{shown}: {}", empty.html);
    }
    assert!(
        empty
            .html
            .contains(r#"href="/admin/jobsweb/jobs" aria-current="page""#),
        "the nav link is current"
    );
    assert!(
        !empty.html.contains("style="),
        "no inline style: the CSP forbids it"
    );

    let started = browser
        .post(
            "/admin/jobsweb/jobs/export",
            &[("dataset", "orders"), ("format", "csv"), ("from", ""), ("to", "")],
        )
        .await;
    assert_eq!(started.status, 303, "{}", started.html);
    assert_eq!(started.location, "/admin/jobsweb/jobs?done=export");

    let mut rows = String::new();
    for _ in 0..200 {
        rows = browser.get("/admin/jobsweb/jobs/rows").await.html;
        if rows.contains("Download") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        rows.contains("Orders export") && rows.contains("succeeded"),
        "{rows}"
    );
    assert!(!rows.contains("<nav"), "the fragment alone");
    let link = rows
        .split("href=\"")
        .find(|s| s.starts_with("/v1/stores/jobsweb/exports/"))
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("a download link: {rows}"))
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    let file = p.http.get(format!("{}{link}", p.base)).send().await.unwrap();
    assert_eq!(file.status(), 200, "{link}");
    assert_eq!(
        file.text().await.unwrap().lines().count(),
        2,
        "a header and one order"
    );

    let id = rows
        .split("data-job-id=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a job row")
        .to_owned();
    let refused = browser
        .post(&format!("/admin/jobsweb/jobs/{id}/cancel"), &[])
        .await;
    assert_eq!(
        refused.status, 200,
        "the list again, with the reason: {}",
        refused.html
    );
    assert!(refused.html.contains("class=\"form-error\""), "{}", refused.html);
}
