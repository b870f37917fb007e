//! Rendering: a minijinja environment per render holding only the template being rendered (no
//! loader, so `include`, `import` and `extends` find nothing), HTML auto-escaped in the HTML
//! part and nowhere else, a recursion limit, and a `money` filter; money formatting per
//! currency.

use minijinja::{AutoEscape, Environment, State, UndefinedBehavior};
use serde_json::Value;

/// The largest template part accepted (subject, HTML or text).
pub(crate) const MAX_TEMPLATE_BYTES: usize = 64 * 1024;
/// How deep templates may nest (loops, conditionals, macros).
const RECURSION_LIMIT: usize = 32;
/// The longest subject kept.
const MAX_SUBJECT_CHARS: usize = 250;
/// Work one part may take (minijinja fuel: about one unit per instruction). The built-ins use
/// a few hundred; a loop over a thousand order lines stays well within it.
const FUEL: u64 = 200_000;
/// The largest rendered part; rendering stops with an error beyond it.
pub(crate) const MAX_OUTPUT_BYTES: usize = 1024 * 1024;
/// How long a render may take off the async threads before it is given up.
const RENDER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The three parts of a template.
#[derive(Clone, Debug)]
pub(crate) struct Source<'a> {
    pub subject: &'a str,
    pub html: &'a str,
    pub text: &'a str,
}

/// A rendered mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// Which part failed and why.
#[derive(Debug, thiserror::Error)]
#[error("{field}: {message}")]
pub(crate) struct RenderError {
    /// `subject`, `html` or `text`.
    pub field: &'static str,
    pub message: String,
}

/// How undefined variables are taken: at send time as empty; when checking an override as an
/// error, so a misspelt name is refused instead of rendering nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Send,
    Check,
}

/// Renders the three parts of `source` with `data`.
pub(crate) fn render(source: &Source<'_>, data: &Value, mode: Mode) -> Result<Rendered, RenderError> {
    let subject = part("subject", source.subject, data, mode)?;
    Ok(Rendered {
        subject: one_line(&subject),
        html: part("html", source.html, data, mode)?,
        text: part("text", source.text, data, mode)?,
    })
}

/// The three parts of a template, owned, for rendering off the async threads.
#[derive(Clone, Debug)]
pub(crate) struct OwnedSource {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// [`render`] on a blocking thread, given up after [`RENDER_TIMEOUT`] (fuel bounds the thread's
/// work in any case), so a heavy template never holds an async worker.
pub(crate) async fn render_off_thread(
    source: OwnedSource,
    data: Value,
    mode: Mode,
) -> Result<Rendered, RenderError> {
    let work = tokio::task::spawn_blocking(move || {
        let borrowed = Source {
            subject: &source.subject,
            html: &source.html,
            text: &source.text,
        };
        render(&borrowed, &data, mode)
    });
    let failed = |message: String| RenderError {
        field: "html",
        message,
    };
    match tokio::time::timeout(RENDER_TIMEOUT, work).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => Err(failed(format!("rendering stopped: {e}"))),
        Err(_) => Err(failed(format!(
            "takes longer than {} s to render",
            RENDER_TIMEOUT.as_secs()
        ))),
    }
}

fn part(field: &'static str, source: &str, data: &Value, mode: Mode) -> Result<String, RenderError> {
    let failed = |message: String| RenderError { field, message };
    if source.len() > MAX_TEMPLATE_BYTES {
        return Err(failed(format!("is longer than {MAX_TEMPLATE_BYTES} bytes")));
    }
    let env = environment(mode);
    // The name decides the escaping: `.html` is HTML-escaped, the rest is not.
    let name = if field == "html" { "mail.html" } else { "mail.txt" };
    let template = env
        .template_from_named_str(name, source)
        .map_err(|e| failed(describe(&e)))?;
    let mut out = CappedOutput::default();
    match template.render_captured_to(data, &mut out) {
        Ok(_) => {
            String::from_utf8(out.bytes).map_err(|_| failed("renders text that is not UTF-8".to_owned()))
        }
        Err(_) if out.overflowed => Err(failed(format!("renders more than {MAX_OUTPUT_BYTES} bytes"))),
        Err(e) => Err(failed(describe(&e))),
    }
}

/// Collects output up to [`MAX_OUTPUT_BYTES`], then fails the render.
#[derive(Default)]
struct CappedOutput {
    bytes: Vec<u8>,
    overflowed: bool,
}

impl std::io::Write for CappedOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > MAX_OUTPUT_BYTES {
            self.overflowed = true;
            return Err(std::io::Error::other("output too large"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn environment(mode: Mode) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.set_formatter(escape_for_mail);
    env.set_recursion_limit(RECURSION_LIMIT);
    env.set_fuel(Some(FUEL));
    env.set_undefined_behavior(match mode {
        Mode::Send => UndefinedBehavior::Lenient,
        Mode::Check => UndefinedBehavior::Strict,
    });
    env.add_filter("money", money_filter);
    env
}

/// minijinja's HTML escaping, but leaving `/` as it is (it is harmless in text and attribute
/// values, and `&#x2f;` in every link of a mail is ugly in clients that show the source).
fn escape_for_mail(
    out: &mut minijinja::Output,
    state: &State<'_, '_>,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    let html = matches!(state.auto_escape(), AutoEscape::Html);
    if !html || value.is_safe() || value.is_undefined() || value.is_none() {
        return minijinja::escape_formatter(out, state, value);
    }
    let text = value.to_string();
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#x27;"),
            c => escaped.push(c),
        }
    }
    out.write_str(&escaped)
        .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string()))
}

/// The error in words, with its line when known.
fn describe(e: &minijinja::Error) -> String {
    let detail = e
        .detail()
        .map(str::to_owned)
        .unwrap_or_else(|| e.kind().to_string());
    match e.line() {
        Some(line) => format!("{detail} (line {line})"),
        None => detail,
    }
}

fn one_line(subject: &str) -> String {
    let joined = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    joined.chars().take(MAX_SUBJECT_CHARS).collect()
}

/// `{{ 1250 | money }}` in the mail's currency, or `{{ 1250 | money("USD") }}`.
fn money_filter(state: &State<'_, '_>, minor: i64, currency: Option<String>) -> String {
    let currency = currency.unwrap_or_else(|| {
        state
            .lookup("currency")
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    });
    format_money(minor, &currency)
}

/// Minor units as people read them: `€12.50`, `$12.50`, `£12.50`, `¥1250`, `12.50 CHF`.
pub(crate) fn format_money(minor: i64, currency: &str) -> String {
    let digits = mercato_runtime::money::Currency::parse(currency).map_or(2, |c| c.minor_digits());
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let amount = match digits {
        0 => abs.to_string(),
        d => {
            let unit = 10u64.pow(u32::from(d));
            format!("{}.{:0width$}", abs / unit, abs % unit, width = usize::from(d))
        }
    };
    match symbol(currency) {
        Some(symbol) => format!("{sign}{symbol}{amount}"),
        None => format!("{sign}{amount} {currency}"),
    }
}

fn symbol(currency: &str) -> Option<&'static str> {
    Some(match currency {
        "EUR" => "€",
        "USD" => "$",
        "GBP" => "£",
        "JPY" => "¥",
        "INR" => "₹",
        "KRW" => "₩",
        "AUD" => "A$",
        "CAD" => "CA$",
        "NZD" => "NZ$",
        "HKD" => "HK$",
        "SGD" => "S$",
        "MXN" => "MX$",
        "BRL" => "R$",
        "CNY" => "CN¥",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn money_is_formatted_per_currency() {
        assert_eq!(format_money(1250, "EUR"), "€12.50");
        assert_eq!(format_money(1250, "USD"), "$12.50");
        assert_eq!(format_money(1205, "CHF"), "12.05 CHF");
        assert_eq!(format_money(1250, "JPY"), "¥1250");
        assert_eq!(format_money(7, "GBP"), "£0.07");
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let source = Source {
            subject: "Hi {{ name }}",
            html: "<p>{{ name }}</p>",
            text: "{{ name }}",
        };
        let data = json!({"name": "<img src=x onerror=alert(1)>"});
        let out = render(&source, &data, Mode::Send).unwrap();
        assert_eq!(out.html, "<p>&lt;img src=x onerror=alert(1)&gt;</p>");
        assert_eq!(out.text, "<img src=x onerror=alert(1)>");
        let link = Source {
            subject: "",
            html: "<a href=\"{{ url }}\">",
            text: "",
        };
        let out = render(
            &link,
            &json!({"url": "https://a.example/x?\"y\"=1&z=2"}),
            Mode::Send,
        )
        .unwrap();
        assert_eq!(
            out.html,
            "<a href=\"https://a.example/x?&quot;y&quot;=1&amp;z=2\">"
        );
    }

    #[test]
    fn includes_find_nothing_and_strict_mode_names_the_field() {
        let data = json!({});
        let source = Source {
            subject: "ok",
            html: "{% include 'order_confirmed.html' %}",
            text: "",
        };
        assert_eq!(render(&source, &data, Mode::Send).unwrap_err().field, "html");
        let source = Source {
            subject: "ok",
            html: "",
            text: "{{ ordr.number }}",
        };
        let err = render(&source, &data, Mode::Check).unwrap_err();
        assert_eq!(err.field, "text");
    }

    #[test]
    fn heavy_templates_run_out_of_fuel_or_room_quickly() {
        let started = std::time::Instant::now();
        let loops = Source {
            subject: "ok",
            html: "{% for a in range(100000) %}{% for b in range(100000) %}{{ a }}{% endfor %}{% endfor %}",
            text: "",
        };
        let err = render(&loops, &json!({}), Mode::Check).unwrap_err();
        assert_eq!(err.field, "html");
        let big = Source {
            subject: "ok",
            html: "",
            text: "{% for a in range(100) %}{{ 'x' * 99999 }}{% endfor %}",
        };
        let err = render(&big, &json!({}), Mode::Check).unwrap_err();
        assert_eq!(err.field, "text");
        assert!(err.message.contains("more than"), "{err}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn the_money_filter_uses_the_mails_currency() {
        let source = Source {
            subject: "{{ 1250 | money }} {{ 1250 | money('USD') }}",
            html: "",
            text: "",
        };
        let out = render(&source, &json!({"currency": "EUR"}), Mode::Send).unwrap();
        assert_eq!(out.subject, "€12.50 $12.50");
    }
}
