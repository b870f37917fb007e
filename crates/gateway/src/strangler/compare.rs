//! Comparing two answers after normalisation, with Diffy's noise cancelling: the fields in which
//! two answers of the primary already differ are noise, and a difference there is not counted.

use serde_json::Value;
use std::collections::{BTreeSet, HashSet};

/// What a route leaves out of its comparisons, and which arrays are multisets.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    /// Field names removed wherever they appear.
    names: HashSet<String>,
    /// JSON pointers removed (into the body).
    pointers: HashSet<String>,
    /// JSON pointers of arrays whose order does not count (array indices written as `*`
    /// match any element, e.g. `/variants/*/options`).
    unordered: HashSet<String>,
}

impl Rules {
    /// From a route's `ignore` (names, or pointers starting with `/`) and `unordered` lists.
    pub fn new(ignore: &[String], unordered: &[String]) -> Rules {
        let (pointers, names): (Vec<&String>, Vec<&String>) = ignore.iter().partition(|i| i.starts_with('/'));
        Rules {
            names: names.into_iter().cloned().collect(),
            pointers: pointers.into_iter().cloned().collect(),
            unordered: unordered.iter().cloned().collect(),
        }
    }
}

/// One side's answer, as compared: its status and its body (JSON, or the text when not JSON).
pub fn answer(status: u16, body: &[u8], rules: &Rules) -> Value {
    let mut body = serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
    normalise(&mut body, rules, "", "");
    serde_json::json!({ "status": status, "body": body })
}

/// Removes ignored fields and sorts the elements of unordered arrays, depth first. `shape` is
/// `pointer` with array indices written as `*`.
fn normalise(value: &mut Value, rules: &Rules, pointer: &str, shape: &str) {
    match value {
        Value::Object(fields) => {
            fields.retain(|name, _| {
                !rules.names.contains(name)
                    && !rules.pointers.contains(&format!("{pointer}/{}", escape(name)))
            });
            for (name, field) in fields.iter_mut() {
                let name = escape(name);
                normalise(
                    field,
                    rules,
                    &format!("{pointer}/{name}"),
                    &format!("{shape}/{name}"),
                );
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                normalise(item, rules, &format!("{pointer}/{index}"), &format!("{shape}/*"));
            }
            if rules.unordered.contains(pointer) || rules.unordered.contains(shape) {
                items.sort_by_cached_key(Value::to_string);
            }
        }
        _ => {}
    }
}

/// RFC 6901: `~` and `/` in a name.
fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// The JSON pointers at which `a` and `b` differ (the deepest ones: a field present on one side
/// only, a value that differs, an array element beyond the other's length).
pub fn differences(a: &Value, b: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    walk(a, b, String::new(), &mut found);
    found
}

fn walk(a: &Value, b: &Value, pointer: String, found: &mut BTreeSet<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let names: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for name in names {
                let at = format!("{pointer}/{}", escape(name));
                match (x.get(name), y.get(name)) {
                    (Some(p), Some(q)) => walk(p, q, at, found),
                    _ => {
                        found.insert(at);
                    }
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for index in 0..x.len().max(y.len()) {
                let at = format!("{pointer}/{index}");
                match (x.get(index), y.get(index)) {
                    (Some(p), Some(q)) => walk(p, q, at, found),
                    _ => {
                        found.insert(at);
                    }
                }
            }
        }
        _ if a != b => {
            found.insert(pointer);
        }
        _ => {}
    }
}

/// A comparison's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The candidate answered exactly as the primary.
    Same,
    /// It differed only where the primary differs from itself.
    NoiseOnly,
    /// It differed in these places (JSON pointers into `{status, body}`) beyond the noise.
    Different(Vec<String>),
}

impl Verdict {
    /// The metric label and the counter this result goes to.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Same => "same",
            Verdict::NoiseOnly => "noise_only",
            Verdict::Different(_) => "different",
        }
    }
}

/// Judges the candidate against the primary, given a second answer of the primary to the same
/// request: a difference at (or under) a place where the two primary answers differ is noise.
pub fn judge(primary: &Value, primary_again: &Value, candidate: &Value) -> Verdict {
    let noise = differences(primary, primary_again);
    let found = differences(primary, candidate);
    if found.is_empty() {
        return Verdict::Same;
    }
    let is_noise = |pointer: &String| {
        noise.iter().any(|n| {
            pointer == n || pointer.starts_with(&format!("{n}/")) || n.starts_with(&format!("{pointer}/"))
        })
    };
    let real: Vec<String> = found.into_iter().filter(|p| !is_noise(p)).collect();
    if real.is_empty() {
        Verdict::NoiseOnly
    } else {
        Verdict::Different(real)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn of(body: Value, rules: &Rules) -> Value {
        answer(200, body.to_string().as_bytes(), rules)
    }

    #[test]
    fn ignored_names_and_pointers_are_left_out() {
        let rules = Rules::new(&["id".into(), "/meta/at".into()], &[]);
        let a = of(
            json!({"id": 1, "title": "T", "meta": {"at": 1, "by": "x"}, "v": [{"id": 5}]}),
            &rules,
        );
        let b = of(
            json!({"id": 2, "title": "T", "meta": {"at": 2, "by": "x"}, "v": [{"id": 6}]}),
            &rules,
        );
        assert_eq!(judge(&a, &a, &b), Verdict::Same);
    }

    #[test]
    fn unordered_arrays_compare_as_multisets_and_ordered_ones_do_not() {
        let rules = Rules::new(&[], &["/tags".into(), "/v/*/opts".into()]);
        let a = of(
            json!({"tags": [1, 2, 2], "v": [{"opts": ["a", "b"]}], "list": [1, 2]}),
            &rules,
        );
        let b = of(
            json!({"tags": [2, 1, 2], "v": [{"opts": ["b", "a"]}], "list": [2, 1]}),
            &rules,
        );
        assert_eq!(
            judge(&a, &a, &b),
            Verdict::Different(vec!["/body/list/0".into(), "/body/list/1".into()])
        );
        let c = of(
            json!({"tags": [2, 1], "v": [{"opts": ["b", "a"]}], "list": [1, 2]}),
            &rules,
        );
        assert_eq!(judge(&a, &a, &c), Verdict::Different(vec!["/body/tags/2".into()]));
    }

    #[test]
    fn fields_the_primary_changes_itself_are_noise() {
        let rules = Rules::default();
        let a = of(json!({"title": "T", "generated_at": 1}), &rules);
        let again = of(json!({"title": "T", "generated_at": 2}), &rules);
        let same_but_time = of(json!({"title": "T", "generated_at": 3}), &rules);
        let changed = of(json!({"title": "U", "generated_at": 3}), &rules);
        assert_eq!(judge(&a, &again, &same_but_time), Verdict::NoiseOnly);
        assert_eq!(
            judge(&a, &again, &changed),
            Verdict::Different(vec!["/body/title".into()])
        );
    }

    #[test]
    fn a_different_status_or_a_missing_field_is_a_difference() {
        let rules = Rules::default();
        let a = answer(200, br#"{"a": 1}"#, &rules);
        let b = answer(404, br#"{"a": 1, "b": 2}"#, &rules);
        assert_eq!(
            judge(&a, &a, &b),
            Verdict::Different(vec!["/body/b".into(), "/status".into()])
        );
        let text = answer(200, b"<html>", &rules);
        assert_eq!(
            judge(&text, &text, &answer(200, b"<html>!", &rules)).label(),
            "different"
        );
    }
}
