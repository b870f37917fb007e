#!/usr/bin/env python3
"""Offline CI check for Mercato's dashboards, alerting rules and runbooks.

    python3 deploy/check/observability.py        # exit 0: all good; 1: problems listed

Needs Python 3.10+ and PyYAML (observability-requirements.txt); nothing else, and no network.
Two optional second opinions are used when present: the `promql_parser` package (parses every
expression again) and Prometheus's `promtool` (loads alerts.yml as Prometheus would and runs
the rule unit tests in observability-alerts.test.yml). Without them the built-in parser
(observability_promql.py) still checks everything below.

What it verifies, and why:
- Every dashboard in deploy/grafana/dashboards/ parses, has a unique uid and title and a
  recent schemaVersion; every panel has a Prometheus datasource (uid `prometheus`, which the
  provisioning defines, or a datasource variable), a unit, and targets with a non-empty expr;
  every `$variable` it uses is defined. Otherwise Grafana shows empty panels without an error.
- deploy/prometheus/alerts.yml parses; every alert has expr, for, labels.severity and the
  annotations summary, description and runbook_url, and the runbook file exists and is indexed
  in docs/runbooks/README.md. An alert nobody can act on at 3 a.m. is noise.
- Every PromQL expression parses (brackets, quotes, known functions, argument types), and every
  metric it names is one the code exports — found by scanning crates/**/*.rs (not tests) for the
  `counter!`/`gauge!`/`histogram!` macros, whose names the recorder exports with the prefix
  `METRIC_PREFIX` (crates/runtime/src/prometheus.rs, read from there), plus the `process_*`
  family crates/runtime/src/process_metrics.rs writes — or is allow-listed below. Label names in
  selectors must be ones the metric carries. So a dashboard or alert can never silently
  reference a metric or label that does not exist (Prometheus answers such a query with "no
  data", and an alert on it never fires).
- Every metric the code records is described (declared in `metric_families!`, or `describe_counter!`/`describe_gauge!`/
  `describe_histogram!` with the same name and kind), so `/metrics` carries its `# HELP`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.dont_write_bytecode = True  # leave no __pycache__ in the work tree
import observability_promql as promql  # noqa: E402  (lives beside this script)

try:
    import yaml
except ImportError:  # pragma: no cover - the CI venv installs it
    sys.exit("observability: PyYAML is required (pip install -r deploy/check/observability-requirements.txt)")

try:  # Optional second parser; see the module docstring.
    import promql_parser as external_parser  # type: ignore
except ImportError:
    external_parser = None

ROOT = HERE.parent.parent
PROMETHEUS_RS = ROOT / "crates/runtime/src/prometheus.rs"
PROCESS_METRICS_RS = ROOT / "crates/runtime/src/process_metrics.rs"
DASHBOARDS = ROOT / "deploy/grafana/dashboards"
ALERTS = ROOT / "deploy/prometheus/alerts.yml"
ALERT_TESTS = HERE / "observability-alerts.test.yml"
RUNBOOKS = ROOT / "docs/runbooks"
CRATES = ROOT / "crates"

# The datasource every panel must use: the provisioning defines a Prometheus datasource with
# this uid, so dashboards import without a "choose datasource" step.
DATASOURCE_UID = "prometheus"
MIN_SCHEMA_VERSION = 39
SEVERITIES = {"critical", "warning", "info"}

# Labels Prometheus adds to every scraped series (scrape config: job = service role).
TARGET_LABELS = {"job", "instance"}


@dataclass
class Metric:
    kind: str  # counter, gauge, histogram
    labels: set[str] | None  # None: not determinable from the source; labels are not checked
    origin: str


# Names not (yet) in crates/ that dashboards and alerts may still reference.
# `up` is written by Prometheus itself for every scrape target.
STANDARD = {
    "up": Metric("gauge", set(), "Prometheus (scrape health)"),
}
# Planned by later work; every panel or alert using one must say so in its description with
# PLANNED_MARKER, so a reader knows why it shows "no data".
PLANNED_MARKER = "emitted once the commerce-core / real-time services land"
PLANNED: dict = {}
# TEMPORARY: being added to the Rust code in parallel with this check (the rate limiter).
# Remove each entry once the code exports it; the check prints a reminder when it does.
PENDING: dict = {}

# Grafana's own variables, valid in any expression.
GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s",
                    "__range_ms", "__from", "__to", "__dashboard", "__name", "__org", "__user"}
_VAR = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]")


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")


# --------------------------------------------------------------------------------------------
# What the code exports


_MACRO = re.compile(r"\b(counter|gauge|histogram)!\s*\(\s*(\"(?:[^\"\\]|\\.)*\"|[A-Za-z_][\w:]*)")
_DESCRIBE = re.compile(r"\bdescribe_(counter|gauge|histogram)!\s*\(\s*\"([^\"]+)\"")
_CONST = re.compile(r"\bconst\s+([A-Z_][A-Z0-9_]*)\s*:\s*&(?:'static\s+)?str\s*=\s*\"([^\"]+)\"")
# A family declared in `metric_families!`: `const NAME: Counter(Unit) = "name";`, described by
# `Family::describe` (its doc comment is the help text, which the macro requires).
_FAMILY = re.compile(r"\bconst\s+([A-Z_][A-Z0-9_]*)\s*:\s*(Counter|Gauge|Histogram)\s*\(\s*\w+\s*\)\s*=\s*\"([^\"]+)\"")
_INLINE_LABEL = re.compile(r"\"([A-Za-z_]\w*)\"\s*=>")
_TUPLE_LABEL = re.compile(r"\(\s*\"([A-Za-z_]\w*)\"\s*,")
_TEST_MODULE = re.compile(r"#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*\{")
# `push("process_…", "counter" | "gauge", …)` in process_metrics.rs: the family it writes.
_PROCESS_METRIC = re.compile(r"\"(process_[a-z_]+)\",\s*\"(counter|gauge)\"")


_LEXEME_START = re.compile(r"""/[/*]|["'r]""")


def _lexemes(text: str):
    """(start, end, kind) of every comment ("comment") and string or char literal ("string")
    in Rust source, in order; lifetimes are neither."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            yield i, j, "comment"
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            yield i, j, "comment"
        elif c == "r" and re.match(r'r#*"', text[i:i + 260]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            j = text.find('"' + hashes, i + len(hashes) + 2)
            j = n if j < 0 else j + 1 + len(hashes)
            yield i, j, "string"
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            yield i, j, "string"
        elif c == "'" and (text.startswith("\\", i + 1) or text[i + 2:i + 3] == "'"):
            j = text.find("'", i + 2)
            j = n if j < 0 else j + 1
            yield i, j, "string"
        else:
            # Jump to the next character that may start a comment or a literal.
            m = _LEXEME_START.search(text, i + 1)
            i = m.start() if m else n
            continue
        i = j


def _blank(text: str, kinds: set[str]) -> str:
    """`text` with the lexemes of `kinds` blanked (a string keeps its first and last character,
    its quotes), offsets and line numbers unchanged."""
    out, last = [], 0
    for a, b, kind in _lexemes(text):
        if kind not in kinds:
            continue
        keep = 1 if kind == "string" else 0
        out.append(text[last:a + keep])
        out.append(re.sub(r"[^\n]", " ", text[a + keep:b - keep]))
        last = b - keep
    out.append(text[last:])
    return "".join(out)


def _code_only(text: str) -> str:
    """`text` with comments and literals blanked: for code structure, such as a test module's
    closing brace."""
    return _blank(text, {"comment", "string"})


def _without_comments(text: str) -> str:
    """`text` with comments blanked (strings kept): a metric named in a doc comment is not one
    the code records."""
    return _blank(text, {"comment"})


def _test_ranges(code: str) -> list[tuple[int, int]]:
    """Offsets of `#[cfg(test)] mod … { … }` blocks in `code` (from `_code_only`): metrics their
    unit tests record are not exported."""
    ranges = []
    for m in _TEST_MODULE.finditer(code):
        depth = 0
        for j in range(m.end() - 1, len(code)):
            depth += {"{": 1, "}": -1}.get(code[j], 0)
            if depth == 0:
                ranges.append((m.start(), j + 1))
                break
    return ranges


def _macro_args(text: str, start: int) -> str:
    """The text of a macro call's arguments, from its opening parenthesis."""
    depth, i = 0, text.index("(", start)
    for j in range(i, len(text)):
        if text[j] == "(":
            depth += 1
        elif text[j] == ")":
            depth -= 1
            if depth == 0:
                return text[i + 1:j]
    return text[i + 1:]


def _labels_of(text: str, call_start: int, args: str) -> set[str] | None:
    """Label keys of one macro call: `"k" => v` pairs, or a `&labels` array bound just above
    as `let labels = [("k", v), …]`. None when the labels are built some other way."""
    rest = args.split(",", 1)[1] if "," in args else ""
    inline = set(_INLINE_LABEL.findall(rest))
    if inline or not rest.strip():
        return inline
    ref = re.fullmatch(r"\s*&?\s*([a-z_]\w*)\s*", rest)
    if not ref:
        return None
    binding = None
    for m in re.finditer(rf"\blet\s+(?:mut\s+)?{ref.group(1)}\b[^=]*=\s*(?:vec!\s*)?\[", text[:call_start]):
        binding = m
    if binding is None:
        return None
    depth, body_end = 0, len(text)
    for j in range(binding.end() - 1, call_start):
        depth += {"[": 1, "]": -1}.get(text[j], 0)
        if depth == 0:
            body_end = j
            break
    labels = set(_TUPLE_LABEL.findall(text[binding.end():body_end]))
    return labels or None


def metric_prefix(report: Report) -> str:
    """The prefix the recorder puts before every name the code records (`<prefix>_<name>`)."""
    text = PROMETHEUS_RS.read_text(encoding="utf-8") if PROMETHEUS_RS.is_file() else ""
    prefix = dict(_CONST.findall(text)).get("METRIC_PREFIX")
    if prefix is None:
        report.error(str(PROMETHEUS_RS.relative_to(ROOT)), "no `const METRIC_PREFIX: &str` found; is the scan broken?")
        return ""
    return prefix + "_"


def exported_metrics(report: Report) -> dict[str, Metric]:
    """Every metric a process exports, under its exported name. Test code (a crate's tests/ and
    `#[cfg(test)]` modules) and comments are not scanned."""
    sources = sorted(p for p in CRATES.rglob("*.rs") if "tests" not in p.relative_to(CRATES).parts[1:])
    texts = {}
    for path in sources:
        text = _without_comments(path.read_text(encoding="utf-8", errors="replace"))
        tests = _test_ranges(_code_only(text))
        texts[path] = (text, lambda at, tests=tests: any(a <= at < b for a, b in tests))
    consts = {}
    described: dict[str, set[str]] = {}
    for text, in_tests in texts.values():
        consts.update(dict(_CONST.findall(text)))
        for m in _DESCRIBE.finditer(text):
            if not in_tests(m.start()):
                described.setdefault(m.group(2), set()).add(m.group(1))
        for m in _FAMILY.finditer(text):
            if not in_tests(m.start()):
                consts[m.group(1)] = m.group(3)
                described.setdefault(m.group(3), set()).add(m.group(2).lower())
    prefix = metric_prefix(report)
    found: dict[str, Metric] = {}
    for path, (text, in_tests) in texts.items():
        for m in _MACRO.finditer(text):
            if in_tests(m.start()):
                continue
            kind, arg = m.group(1), m.group(2)
            where = f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}"
            # A constant may be named by its path (`crate::orchestrator::SAGA_TRANSITIONS.name`).
            name = arg[1:-1] if arg.startswith('"') else consts.get(arg.rsplit("::", 1)[-1])
            if name is None:
                # Not fatal: a dashboard using this metric is reported as unknown instead.
                report.notes.append(f"{where}: metric name {arg} is not a literal or a known const; skipped")
                continue
            if kind not in described.get(name, set()):
                report.error(where, f'{kind} {name} is not described (describe_{kind}!("{name}", unit, '
                                    '"…") where it is recorded), so /metrics has no # HELP for it')
            labels = _labels_of(text, m.start(), _macro_args(text, m.start()))
            name = prefix + name
            prev = found.get(name)
            if prev is None:
                found[name] = Metric(kind, labels, where)
            elif prev.kind != kind:
                report.error(where, f"metric {name} is a {kind} here but a {prev.kind} at {prev.origin}")
            elif prev.labels is not None:
                # A metric recorded from several places carries the union of their labels.
                prev.labels = None if labels is None else prev.labels | labels
    process = PROCESS_METRICS_RS.read_text(encoding="utf-8") if PROCESS_METRICS_RS.is_file() else ""
    origin = str(PROCESS_METRICS_RS.relative_to(ROOT))
    for name, kind in _PROCESS_METRIC.findall(process):
        found[name] = Metric(kind, set(), origin)
    if not any(name.startswith("process_") for name in found):
        report.error(origin, "found no process_* metrics; is the scan broken?")
    return found


def series_names(metrics: dict[str, Metric]) -> dict[str, tuple[str, Metric]]:
    """Names as they appear in Prometheus: histograms become _bucket, _sum and _count (the
    bare histogram name is not a series, so using it is an error)."""
    out: dict[str, tuple[str, Metric]] = {}
    for name, m in metrics.items():
        if m.kind == "histogram":
            for suffix in ("_bucket", "_sum", "_count"):
                out[name + suffix] = (suffix, m)
        else:
            out[name] = ("", m)
    return out


# --------------------------------------------------------------------------------------------
# PromQL


def substitute_variables(expr: str) -> str:
    """Makes a Grafana query plain PromQL: interval macros become a duration, other variables a
    number (valid in a label value string and as a scalar)."""
    def repl(m: re.Match) -> str:
        name = m.group(1) or m.group(2) or m.group(3)
        if name in ("__rate_interval", "__interval", "__range"):
            return "5m"
        return "1"
    return _VAR.sub(repl, expr)


class ExprChecker:
    def __init__(self, report: Report, exported: dict[str, Metric]):
        self.report = report
        self.exported = exported
        self.known = series_names({**PLANNED, **PENDING, **exported, **STANDARD})
        self.planned = set(series_names(PLANNED))
        self.recorded: set[str] = set()
        self.used: set[str] = set()

    def check(self, where: str, expr: object, description: str = "", lookup: bool = False) -> None:
        """Checks one expression. `lookup`: a series lookup (label_values), not a query, so
        counters may appear bare and any result kind is fine."""
        if not isinstance(expr, str) or not expr.strip():
            self.report.error(where, "expression is missing or empty")
            return
        plain = substitute_variables(expr)
        try:
            kind, selectors = promql.parse(plain)
        except promql.PromQLError as e:
            self.report.error(where, f"PromQL: {e}: {plain.strip()}")
            return
        if not lookup and kind not in ("v", "s"):
            self.report.error(where, "the expression must evaluate to an instant vector or a scalar")
        if external_parser is not None:
            try:
                external_parser.parse(plain)
            except Exception as e:  # noqa: BLE001 - the library raises ValueError, be lenient
                self.report.error(where, f"PromQL (promql_parser): {e}: {plain.strip()}")
        for sel in selectors:
            self.check_selector(where, sel, description, lookup)

    def check_selector(self, where: str, sel: promql.Selector, description: str, lookup: bool) -> None:
        name = sel.name
        if name is None:
            self.report.error(where, "selectors must name their metric so it can be checked")
            return
        self.used.add(name)
        if name in self.recorded:
            return
        bare = {**PLANNED, **PENDING, **self.exported}.get(name)
        if bare is not None and bare.kind == "histogram":
            self.report.error(where, f"{name} is a histogram: use {name}_bucket, _sum or _count")
            return
        if name not in self.known:
            close = [k for k in self.known if k.split("_")[0] == name.split("_")[0]]
            hint = f" (known: {', '.join(sorted(close)[:6])})" if close else ""
            self.report.error(where, f"metric {name} is not exported by crates/ nor allow-listed{hint}")
            return
        suffix, metric = self.known[name]
        if name in self.planned and PLANNED_MARKER not in description:
            self.report.error(where, f"{name} is planned, not exported yet: the description must say "
                                     f"\"({PLANNED_MARKER})\"")
        if metric.labels is not None:
            allowed = metric.labels | TARGET_LABELS | {"__name__"} | ({"le"} if suffix == "_bucket" else set())
            for label, _, _ in sel.matchers:
                if label not in allowed:
                    self.report.error(where, f"{name} has no label {label!r} (it has: "
                                             f"{', '.join(sorted(allowed - {'__name__'}))})")
        direct = sel.enclosing[0] if sel.enclosing else None
        if direct in ("rate", "irate", "increase", "resets") and metric.kind == "gauge":
            self.report.error(where, f"{direct}() of {name}, a gauge: use deriv() or delta()")
        # A counter's value depends on when the process started; only its rate means anything.
        if metric.kind == "counter" and not lookup and not sel.ranged and not set(sel.enclosing) & {"absent", "count", "group", "timestamp"}:
            self.report.error(where, f"{name} is a counter: use rate() or increase() over it")
        if "histogram_quantile" in sel.enclosing and suffix != "_bucket":
            self.report.error(where, f"histogram_quantile over {name}: it needs a _bucket series")


# --------------------------------------------------------------------------------------------
# Dashboards


def _panels(panels: list) -> list:
    out = []
    for p in panels or []:
        out.append(p)
        out.extend(_panels(p.get("panels", [])))  # collapsed rows keep their panels inside
    return out


def _datasource_ok(ds: object, variables: set[str]) -> bool:
    if isinstance(ds, dict):
        uid = ds.get("uid", "")
        if ds.get("type") not in (None, "prometheus"):
            return False
    elif isinstance(ds, str):
        uid = ds
    else:
        return False
    if uid == DATASOURCE_UID:
        return True
    m = _VAR.fullmatch(uid or "")
    return bool(m) and (m.group(1) or m.group(2) or m.group(3)) in variables


def check_dashboards(report: Report, exprs: ExprChecker) -> tuple[int, int, set[str]]:
    files = sorted(DASHBOARDS.glob("*.json"))
    if not files:
        report.error(str(DASHBOARDS.relative_to(ROOT)), "no dashboards found")
    uids: dict[str, str] = {}
    titles: dict[str, str] = {}
    n_panels = 0
    for path in files:
        rel = str(path.relative_to(ROOT))
        try:
            dash = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            report.error(rel, f"not valid JSON: {e}")
            continue
        if not isinstance(dash, dict):
            report.error(rel, "the top level must be an object (the dashboard model)")
            continue
        uid, title = dash.get("uid"), dash.get("title")
        if not isinstance(uid, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", uid or ""):
            report.error(rel, f"uid must be 1-40 characters of [A-Za-z0-9_-], got {uid!r}")
        elif uid in uids:
            report.error(rel, f"uid {uid!r} is also used by {uids[uid]}")
        else:
            uids[uid] = rel
        if not isinstance(title, str) or not title.strip():
            report.error(rel, "title is missing")
        elif title in titles:
            report.error(rel, f"title {title!r} is also used by {titles[title]}")
        else:
            titles[title] = rel
        if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < MIN_SCHEMA_VERSION:
            report.error(rel, f"schemaVersion must be >= {MIN_SCHEMA_VERSION}, got {dash.get('schemaVersion')!r}")

        variables = set()
        for var in dash.get("templating", {}).get("list", []):
            name = var.get("name")
            if not name:
                report.error(rel, "a templating variable has no name")
                continue
            variables.add(name)
        for var in dash.get("templating", {}).get("list", []):
            where = f"{rel}: variable ${var.get('name')}"
            if var.get("type") == "query":
                if not _datasource_ok(var.get("datasource"), variables):
                    report.error(where, f"datasource must be uid {DATASOURCE_UID!r}")
                query = var.get("query")
                query = query.get("query") if isinstance(query, dict) else query
                m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", query or "")
                if m:
                    exprs.check(where, m.group(1), var.get("description", ""), lookup=True)
                elif re.fullmatch(r"\s*(query_result|metrics|label_names)\(.*\)\s*", query or ""):
                    report.error(where, "use label_values(selector, label) so the metric can be checked")
                else:
                    report.error(where, f"query must be label_values(selector, label), got {query!r}")
            _check_variable_refs(report, where, json.dumps(var.get("query", "")), variables, var.get("name"))

        panels = _panels(dash.get("panels", []))
        ids = {}
        for panel in panels:
            pid = panel.get("id")
            where = f"{rel}: panel {pid} {panel.get('title', '')!r}"
            if pid in ids:
                report.error(where, f"panel id {pid} is also used by {ids[pid]!r}")
            ids[pid] = panel.get("title")
            if panel.get("type") in ("row", "text"):
                continue
            n_panels += 1
            if not panel.get("title"):
                report.error(where, "panel has no title")
            if "gridPos" not in panel:
                report.error(where, "panel has no gridPos")
            targets = panel.get("targets") or []
            if not _datasource_ok(panel.get("datasource"), variables):
                report.error(where, f"panel datasource must be Prometheus uid {DATASOURCE_UID!r} "
                                    f"(or a datasource variable), got {panel.get('datasource')!r}")
            if not panel.get("fieldConfig", {}).get("defaults", {}).get("unit"):
                report.error(where, "fieldConfig.defaults.unit is not set (reqps, s, percentunit, short…)")
            if not targets:
                report.error(where, "panel has no targets")
            refids = set()
            for t in targets:
                tw = f"{where} target {t.get('refId')}"
                if t.get("refId") in refids:
                    report.error(tw, "duplicate refId")
                refids.add(t.get("refId"))
                if "datasource" in t and not _datasource_ok(t["datasource"], variables):
                    report.error(tw, f"target datasource must be uid {DATASOURCE_UID!r}")
                _check_variable_refs(report, tw, t.get("expr", ""), variables)
                exprs.check(tw, t.get("expr"), panel.get("description", ""))
    return len(files), n_panels, set(uids)


def _check_variable_refs(report: Report, where: str, text: str, variables: set[str], own: str | None = None) -> None:
    for m in _VAR.finditer(text or ""):
        name = m.group(1) or m.group(2) or m.group(3)
        if name not in variables and name not in GRAFANA_BUILTINS:
            report.error(where, f"${name} is not a dashboard variable")
        elif name == own:
            report.error(where, f"variable ${name} refers to itself")


# --------------------------------------------------------------------------------------------
# Alerting rules and runbooks


_PROM_DURATION = re.compile(r"^(?:\d+(?:ms|[smhdwy]))+$")


def check_alerts(report: Report, exprs: ExprChecker, dashboard_uids: set[str]) -> tuple[int, set[str]]:
    rel = str(ALERTS.relative_to(ROOT))
    linked: set[str] = set()
    try:
        doc = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    except FileNotFoundError:
        report.error(rel, "missing")
        return 0, linked
    except yaml.YAMLError as e:
        report.error(rel, f"not valid YAML: {e}")
        return 0, linked
    if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list) or not doc["groups"]:
        report.error(rel, "must be a mapping with a non-empty `groups` list")
        return 0, linked
    extra = set(doc) - {"groups"}
    if extra:
        report.error(rel, f"unknown top-level keys {sorted(extra)} (Prometheus refuses the file)")
    group_names, alert_names = set(), set()
    # Recorded series are known metrics for the rules after them (and for dashboards).
    for group in doc["groups"]:
        for rule in (group or {}).get("rules") or []:
            if isinstance(rule, dict) and isinstance(rule.get("record"), str):
                exprs.recorded.add(rule["record"])
    n_alerts = 0
    for gi, group in enumerate(doc["groups"]):
        gname = (group or {}).get("name")
        gwhere = f"{rel}: group {gname or gi}"
        if not gname:
            report.error(gwhere, "group has no name")
        elif gname in group_names:
            report.error(gwhere, "duplicate group name (Prometheus refuses the file)")
        group_names.add(gname)
        if "interval" in group and not _PROM_DURATION.match(str(group["interval"])):
            report.error(gwhere, f"interval {group['interval']!r} is not a duration")
        rules = (group or {}).get("rules")
        if not isinstance(rules, list) or not rules:
            report.error(gwhere, "group has no rules")
            continue
        for ri, rule in enumerate(rules):
            if not isinstance(rule, dict):
                report.error(f"{gwhere} rule {ri}", "rule must be a mapping")
                continue
            if "record" in rule:
                where = f"{gwhere} record {rule['record']}"
                if not re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", str(rule["record"])):
                    report.error(where, "record is not a valid metric name")
                exprs.check(where, rule.get("expr"))
                continue
            name = rule.get("alert")
            where = f"{gwhere} alert {name or ri}"
            n_alerts += 1
            if not isinstance(name, str) or not re.fullmatch(r"[A-Z][A-Za-z0-9]*", name):
                report.error(where, "alert must be a CamelCase name (it names the runbook file)")
                continue
            if name in alert_names:
                report.error(where, "duplicate alert name")
            alert_names.add(name)
            unknown = set(rule) - {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
            if unknown:
                report.error(where, f"unknown keys {sorted(unknown)} (Prometheus refuses the file)")
            if not _PROM_DURATION.match(str(rule.get("for", ""))):
                report.error(where, f"`for` must be a duration like 5m, got {rule.get('for')!r}")
            labels = rule.get("labels") or {}
            if labels.get("severity") not in SEVERITIES:
                report.error(where, f"labels.severity must be one of {sorted(SEVERITIES)}, got {labels.get('severity')!r}")
            ann = rule.get("annotations") or {}
            for key in ("summary", "description", "runbook_url"):
                if not isinstance(ann.get(key), str) or not ann[key].strip():
                    report.error(where, f"annotations.{key} is missing")
            for key, value in {**labels, **ann}.items():
                if isinstance(value, str) and (value.count("{{") != value.count("}}")):
                    report.error(where, f"{key}: unbalanced {{{{ }}}} template")
            exprs.check(where, rule.get("expr"), str(ann.get("description", "")))
            # Optional `dashboard: /d/<uid>`: the Grafana path on-call opens first.
            dash = ann.get("dashboard")
            if dash is not None:
                m = re.fullmatch(r"/d/([A-Za-z0-9_-]+)(?:[/?#].*)?", str(dash))
                if not m or m.group(1) not in dashboard_uids:
                    report.error(where, f"annotations.dashboard {dash!r} is not /d/<uid> of a dashboard here")
            url = ann.get("runbook_url")
            if isinstance(url, str) and url:
                m = re.search(r"(?:^|/)docs/runbooks/([^/#?]+\.md)(?:[#?].*)?$", url)
                if not m:
                    report.error(where, f"runbook_url must point to docs/runbooks/<file>.md, got {url!r}")
                else:
                    linked.add(m.group(1))
                    if m.group(1) != f"{name}.md":
                        report.error(where, f"runbook_url should be docs/runbooks/{name}.md, got {url!r}")
                    if not (RUNBOOKS / m.group(1)).is_file():
                        report.error(where, f"runbook docs/runbooks/{m.group(1)} does not exist")
    return n_alerts, linked


def check_runbooks(report: Report, linked: set[str]) -> int:
    readme = RUNBOOKS / "README.md"
    pages = sorted(p.name for p in RUNBOOKS.glob("*.md") if p.name != "README.md")
    if not readme.is_file():
        report.error("docs/runbooks/README.md", "missing (the index of runbooks)")
        return len(pages)
    index = readme.read_text(encoding="utf-8")
    for page in pages:
        where = f"docs/runbooks/{page}"
        if f"({page})" not in index and f"(./{page})" not in index:
            report.error("docs/runbooks/README.md", f"does not link {page}")
        if page not in linked:
            report.error(where, "no alert links this runbook (stale, or the alert was renamed)")
        text = (RUNBOOKS / page).read_text(encoding="utf-8")
        for section in ("Meaning", "Impact", "Investigate", "Mitigate"):
            if not re.search(rf"^#+\s+{section}", text, re.M):
                report.error(where, f"has no '## {section}' section")
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", index):
        if not re.match(r"[a-z]+:", target) and not (RUNBOOKS / target).exists():
            report.error("docs/runbooks/README.md", f"links {target}, which does not exist")
    return len(pages)


def run_promtool(report: Report) -> str:
    """With Prometheus's promtool on PATH (Debian: apt-get install prometheus), also let
    Prometheus itself load the rules and run their unit tests; without it, say so and go on."""
    exe = shutil.which("promtool")
    if exe is None:
        report.notes.append("promtool not found: Prometheus's own rule check and the rule unit tests "
                            f"({ALERT_TESTS.relative_to(ROOT)}) were skipped")
        return "promtool: skipped"
    for args in (["check", "rules", str(ALERTS)], ["test", "rules", str(ALERT_TESTS)]):
        try:
            run = subprocess.run([exe, *args], capture_output=True, text=True, timeout=120, cwd=ROOT)
        except subprocess.TimeoutExpired:
            report.error("promtool " + " ".join(args[:2]), "timed out after 120 s")
            continue
        if run.returncode != 0:
            output = (run.stdout + run.stderr).strip()
            report.error("promtool " + " ".join(args[:2]), "failed:\n" + output)
    return "promtool: rules checked and unit-tested"


# --------------------------------------------------------------------------------------------


def main() -> int:
    started = time.monotonic()
    report = Report()
    exported = exported_metrics(report)
    if not exported:
        report.error("crates/", "found no counter!/gauge!/histogram! calls; is the scan broken?")
    for name in sorted(set(PENDING) & set(exported)):
        report.notes.append(f"{name} is now exported by {exported[name].origin}: remove it from PENDING")
    for name in sorted(set(PLANNED) & set(exported)):
        report.notes.append(f"{name} is now exported by {exported[name].origin}: remove it from PLANNED "
                            f"and the '({PLANNED_MARKER})' notes")
    exprs = ExprChecker(report, exported)
    n_dash, n_panels, uids = check_dashboards(report, exprs)
    n_alerts, linked = check_alerts(report, exprs, uids)
    promtool = run_promtool(report)
    n_runbooks = check_runbooks(report, linked)
    unused = sorted(n for n in exported if not any(u == n or u.startswith(n + "_") for u in exprs.used))
    if unused:
        report.notes.append(f"exported but on no dashboard or alert: {', '.join(unused)}")

    for note in report.notes:
        print(f"note: {note}")
    for err in report.errors:
        print(f"error: {err}")
    parser = "built-in + promql_parser" if external_parser else "built-in"
    summary = (f"{n_dash} dashboards, {n_panels} panels, {n_alerts} alerts, {n_runbooks} runbooks, "
               f"{len(exported)} exported metrics; PromQL parser: {parser}; {promtool}; "
               f"{time.monotonic() - started:.2f} s")
    if report.errors:
        print(f"observability: FAILED with {len(report.errors)} error(s) ({summary})")
        return 1
    print(f"observability: OK ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
