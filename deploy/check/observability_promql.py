"""A small PromQL parser for the offline observability check (stdlib only).

It is deliberately not a query engine: it tokenizes and parses an expression far enough to
report syntax errors (unbalanced brackets, unterminated strings, unknown functions, bad
durations, misplaced operators), the obvious type errors that make a query silently empty or
rejected at load time (a range vector where an instant vector is needed and the reverse), and
to list every selector with its matchers so the caller can check metric and label names
against what the code exports.

The grammar follows the Prometheus 2.x/3.x reference; features Mercato does not use (UTF-8
quoted metric names, native-histogram literals) are rejected rather than half-supported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Prometheus functions: name -> (argument kinds, minimum argument count, result kind).
# Kinds: "v" instant vector, "m" range vector, "s" scalar, "str" string; a trailing "*" on
# the last kind means it repeats. Kept complete so a valid query is never rejected.
_V, _M, _S, _STR = "v", "m", "s", "str"
FUNCTIONS: dict[str, tuple[tuple[str, ...], int, str]] = {
    **{f: ((_V,), 1, _V) for f in (
        "abs", "absent", "acos", "acosh", "asin", "asinh", "atan", "atanh", "ceil", "cos",
        "cosh", "deg", "exp", "floor", "histogram_avg", "histogram_count", "histogram_stddev",
        "histogram_stdvar", "histogram_sum", "ln", "log10", "log2", "rad", "sgn", "sin", "sinh",
        "sort", "sort_desc", "sqrt", "tan", "tanh", "timestamp")},
    **{f: ((_M,), 1, _V) for f in (
        "absent_over_time", "avg_over_time", "changes", "count_over_time", "delta", "deriv",
        "idelta", "increase", "irate", "last_over_time", "mad_over_time", "max_over_time",
        "min_over_time", "present_over_time", "rate", "resets", "stddev_over_time",
        "stdvar_over_time", "sum_over_time", "ts_of_max_over_time", "ts_of_min_over_time",
        "ts_of_last_over_time")},
    **{f: ((_V,), 0, _V) for f in (
        "day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute",
        "month", "year")},
    "clamp": ((_V, _S, _S), 3, _V),
    "clamp_max": ((_V, _S), 2, _V),
    "clamp_min": ((_V, _S), 2, _V),
    "round": ((_V, _S), 1, _V),
    "histogram_quantile": ((_S, _V), 2, _V),
    "histogram_fraction": ((_S, _S, _V), 3, _V),
    "quantile_over_time": ((_S, _M), 2, _V),
    "predict_linear": ((_M, _S), 2, _V),
    "holt_winters": ((_M, _S, _S), 3, _V),
    "double_exponential_smoothing": ((_M, _S, _S), 3, _V),
    "label_replace": ((_V, _STR, _STR, _STR, _STR), 5, _V),
    "label_join": ((_V, _STR, _STR, _STR + "*"), 3, _V),
    "sort_by_label": ((_V, _STR + "*"), 1, _V),
    "sort_by_label_desc": ((_V, _STR + "*"), 1, _V),
    "info": ((_V, _V), 1, _V),
    "scalar": ((_V,), 1, _S),
    "vector": ((_S,), 1, _V),
    "time": ((), 0, _S),
    "pi": ((), 0, _S),
}

# Aggregation operators; those in _AGG_PARAM take a parameter before the vector.
AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
                "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"}
_AGG_PARAM = {"count_values": _STR, "bottomk": _S, "topk": _S, "quantile": _S,
              "limitk": _S, "limit_ratio": _S}

# Binary operators by precedence, lowest first. "^" is right-associative.
_PRECEDENCE = [("or",), ("and", "unless"), ("==", "!=", "<=", "<", ">=", ">"),
               ("+", "-"), ("*", "/", "%", "atan2"), ("^",)]
_COMPARISONS = {"==", "!=", "<=", "<", ">=", ">"}
_SET_OPS = {"and", "or", "unless"}
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
             "and", "or", "unless", "atan2"}

_DURATION = re.compile(r"^(?:\d+(?:ms|[smhdwy]))+$")
_TOKEN = re.compile(r"""
    (?P<ws>\s+|\#[^\n]*)
  | (?P<dur>\d+(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*(?![A-Za-z0-9_]))
  | (?P<num>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_:]*)
  | (?P<op>=~|!~|==|!=|<=|>=|[-+*/%^<>=,(){}\[\]:@])
""", re.VERBOSE)


class PromQLError(ValueError):
    """A syntax or type error, with the offset it was found at."""

    def __init__(self, message: str, pos: int):
        super().__init__(f"{message} (at offset {pos})")
        self.pos = pos


@dataclass
class Selector:
    """One vector selector: `name{label op "value", …}`, and where it is used."""

    name: str | None
    matchers: list[tuple[str, str, str]]
    ranged: bool = False
    # The function or aggregation directly applied to it, e.g. "rate" or "histogram_quantile".
    enclosing: list[str] = field(default_factory=list)


@dataclass
class _Tok:
    kind: str  # dur, num, ident, op, str, eof
    text: str
    pos: int


def tokenize(expr: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i = 0
    while i < len(expr):
        c = expr[i]
        if c in "\"'`":
            # Strings: double/single quoted with backslash escapes, or raw backquoted.
            j = i + 1
            while j < len(expr) and expr[j] != c:
                if expr[j] == "\\" and c != "`":
                    j += 1
                elif expr[j] == "\n" and c != "`":
                    break
                j += 1
            if j >= len(expr) or expr[j] != c:
                raise PromQLError(f"unterminated string starting with {c}", i)
            toks.append(_Tok("str", expr[i + 1:j], i))
            i = j + 1
            continue
        m = _TOKEN.match(expr, i)
        if not m:
            raise PromQLError(f"unexpected character {c!r}", i)
        if m.lastgroup != "ws":
            toks.append(_Tok(m.lastgroup, m.group(), i))
        i = m.end()
    toks.append(_Tok("eof", "", len(expr)))
    _check_balance(toks)
    return toks


def _check_balance(toks: list[_Tok]) -> None:
    # Checked before parsing so the message names the bracket, not a confusing later token.
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[_Tok] = []
    for t in toks:
        if t.kind != "op":
            continue
        if t.text in "([{":
            stack.append(t)
        elif t.text in pairs:
            if not stack or stack[-1].text != pairs[t.text]:
                raise PromQLError(f"unbalanced {t.text!r}", t.pos)
            stack.pop()
    if stack:
        raise PromQLError(f"unclosed {stack[-1].text!r}", stack[-1].pos)


class _Parser:
    def __init__(self, expr: str):
        self.toks = tokenize(expr)
        self.i = 0
        self.selectors: list[Selector] = []

    # -- token helpers --
    def peek(self, k: int = 0) -> _Tok:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def next(self) -> _Tok:
        t = self.toks[self.i]
        self.i = min(self.i + 1, len(self.toks) - 1)
        return t

    def at(self, text: str, kind: str | None = None) -> bool:
        t = self.peek()
        return t.text == text and (kind is None or t.kind == kind) and t.kind != "str"

    def expect(self, text: str) -> _Tok:
        t = self.next()
        if t.text != text or t.kind == "str":
            raise PromQLError(f"expected {text!r}, found {t.text or 'end of expression'!r}", t.pos)
        return t

    def fail(self, message: str) -> None:
        raise PromQLError(message, self.peek().pos)

    # -- grammar --
    def parse(self) -> str:
        kind = self.expr(0)
        if self.peek().kind != "eof":
            self.fail(f"unexpected {self.peek().text!r} after a complete expression")
        return kind

    def _binop_here(self, level: int) -> bool:
        t = self.peek()
        return t.kind in ("op", "ident") and t.text in _PRECEDENCE[level]

    def expr(self, level: int) -> str:
        if level == len(_PRECEDENCE):
            return self.unary()
        left = self.expr(level + 1)
        while self._binop_here(level):
            op = self.next()
            is_bool = False
            if self.at("bool", "ident"):
                if op.text not in _COMPARISONS:
                    raise PromQLError("bool is only allowed after a comparison", self.peek().pos)
                self.next()
                is_bool = True
            if self.peek().text in ("on", "ignoring") and self.peek().kind == "ident":
                self.next()
                self.label_list()
                if self.peek().text in ("group_left", "group_right") and self.peek().kind == "ident":
                    self.next()
                    if self.at("("):
                        self.label_list()
            # "^" is right-associative; all others are left-associative.
            right = self.expr(level) if op.text == "^" else self.expr(level + 1)
            left = self.binary_kind(op, left, right, is_bool)
        return left

    def binary_kind(self, op: _Tok, left: str, right: str, is_bool: bool) -> str:
        for side in (left, right):
            if side in (_M, _STR):
                what = "a range vector" if side == _M else "a string"
                raise PromQLError(f"operator {op.text!r} cannot take {what}", op.pos)
        if op.text in _SET_OPS and (left != _V or right != _V):
            raise PromQLError(f"set operator {op.text!r} needs instant vectors on both sides", op.pos)
        if left == _S and right == _S:
            if op.text in _COMPARISONS and not is_bool:
                raise PromQLError("comparisons between scalars must use bool", op.pos)
            return _S
        return _V

    def unary(self) -> str:
        if self.peek().kind == "op" and self.peek().text in "+-":
            op = self.next()
            kind = self.unary()
            if kind not in (_S, _V):
                raise PromQLError(f"unary {op.text!r} needs a scalar or instant vector", op.pos)
            return kind
        return self.power_operand()

    def power_operand(self) -> str:
        kind, sel = self.primary()
        return self.postfix(kind, sel)

    def postfix(self, kind: str, sel: Selector | None) -> str:
        while True:
            t = self.peek()
            if t.text == "[" and t.kind == "op":
                self.next()
                self.duration()
                if self.at(":"):
                    # Subquery: any instant vector, [range:resolution].
                    self.next()
                    if not self.at("]"):
                        self.duration()
                    self.expect("]")
                    if kind != _V:
                        raise PromQLError("a subquery needs an instant vector", t.pos)
                    kind = _M
                else:
                    self.expect("]")
                    if sel is None or kind != _V:
                        raise PromQLError("a range [..] applies only to a metric selector", t.pos)
                    sel.ranged = True
                    kind = _M
                sel = None
            elif t.text == "offset" and t.kind == "ident":
                self.next()
                if self.at("-"):
                    self.next()
                self.duration()
            elif t.text == "@" and t.kind == "op":
                self.next()
                n = self.next()
                if n.kind == "ident" and n.text in ("start", "end"):
                    self.expect("(")
                    self.expect(")")
                elif n.kind != "num":
                    raise PromQLError("@ needs a timestamp, start() or end()", n.pos)
            else:
                return kind

    def duration(self) -> None:
        t = self.next()
        if t.kind != "dur" or not _DURATION.match(t.text):
            raise PromQLError(f"expected a duration like 5m, found {t.text or 'end'!r}", t.pos)

    def label_list(self) -> list[str]:
        self.expect("(")
        labels = []
        while not self.at(")"):
            t = self.next()
            if t.kind != "ident":
                raise PromQLError(f"expected a label name, found {t.text!r}", t.pos)
            labels.append(t.text)
            if not self.at(")"):
                self.expect(",")
        self.expect(")")
        return labels

    def primary(self) -> tuple[str, Selector | None]:
        t = self.peek()
        if t.kind == "num":
            self.next()
            return _S, None
        if t.kind == "str":
            self.next()
            return _STR, None
        if t.kind == "op" and t.text == "(":
            self.next()
            kind = self.expr(0)
            self.expect(")")
            return kind, None
        if t.kind == "op" and t.text == "{":
            return _V, self.selector(None, t.pos)
        if t.kind == "ident":
            name = t.text
            if name.lower() in ("inf", "nan"):
                self.next()
                return _S, None
            if name in AGGREGATIONS:
                return self.aggregation(), None
            if self.peek(1).text == "(" and self.peek(1).kind == "op":
                return self.call(), None
            if name in _KEYWORDS:
                self.fail(f"unexpected keyword {name!r}")
            self.next()
            return _V, self.selector(name, t.pos)
        if t.kind == "eof":
            self.fail("expression ends where an operand is expected")
        if t.kind == "dur":
            self.fail(f"a duration ({t.text}) is only allowed inside [] or after offset")
        self.fail(f"unexpected {t.text!r}")
        raise AssertionError  # unreachable

    def selector(self, name: str | None, pos: int) -> Selector:
        matchers: list[tuple[str, str, str]] = []
        if self.at("{"):
            self.next()
            while not self.at("}"):
                label = self.next()
                if label.kind != "ident":
                    raise PromQLError(f"expected a label name in a selector, found {label.text!r}", label.pos)
                op = self.next()
                if op.text not in ("=", "!=", "=~", "!~") or op.kind != "op":
                    raise PromQLError(f"expected =, !=, =~ or !~ after {label.text!r}", op.pos)
                value = self.next()
                if value.kind != "str":
                    raise PromQLError(f"label {label.text!r} needs a quoted value", value.pos)
                if op.text in ("=~", "!~"):
                    try:
                        re.compile(value.text)
                    except re.error as e:
                        raise PromQLError(f"bad regex for {label.text!r}: {e}", value.pos) from None
                matchers.append((label.text, op.text, value.text))
                if not self.at("}"):
                    self.expect(",")
            self.expect("}")
        if name is None and not any(op in ("=", "=~") and v not in ("", ".*") for _, op, v in matchers):
            raise PromQLError("a selector without a metric name needs a non-empty matcher", pos)
        for label, op, value in matchers:
            if label == "__name__":
                if op != "=":
                    raise PromQLError("match __name__ with = only, so the metric can be checked", pos)
                name = value
        sel = Selector(name, matchers)
        self.selectors.append(sel)
        return sel

    def _wrap(self, start: int, name: str) -> None:
        # Record which function/aggregation directly encloses each selector parsed since start.
        for sel in self.selectors[start:]:
            sel.enclosing.append(name)

    def call(self) -> str:
        t = self.next()
        name = t.text
        if name not in FUNCTIONS:
            raise PromQLError(f"unknown function {name!r}", t.pos)
        kinds, minimum, result = FUNCTIONS[name]
        start = len(self.selectors)
        self.expect("(")
        args: list[tuple[str, int]] = []
        while not self.at(")"):
            pos = self.peek().pos
            args.append((self.expr(0), pos))
            if not self.at(")"):
                self.expect(",")
        self.expect(")")
        variadic = bool(kinds) and kinds[-1].endswith("*")
        if len(args) < minimum or (not variadic and len(args) > len(kinds)):
            raise PromQLError(f"{name}() takes {minimum}..{len(kinds)} arguments, got {len(args)}", t.pos)
        for idx, (kind, pos) in enumerate(args):
            want = kinds[min(idx, len(kinds) - 1)].rstrip("*")
            if kind != want:
                raise PromQLError(f"argument {idx + 1} of {name}() must be {_NAMES[want]}, "
                                  f"not {_NAMES[kind]}", pos)
        self._wrap(start, name)
        return result

    def aggregation(self) -> str:
        t = self.next()
        name = t.text
        start = len(self.selectors)
        grouped = False
        if self.peek().text in ("by", "without") and self.peek().kind == "ident":
            self.next()
            self.label_list()
            grouped = True
        self.expect("(")
        args: list[tuple[str, int]] = []
        while not self.at(")"):
            pos = self.peek().pos
            args.append((self.expr(0), pos))
            if not self.at(")"):
                self.expect(",")
        self.expect(")")
        if self.peek().text in ("by", "without") and self.peek().kind == "ident":
            if grouped:
                self.fail(f"{name} has two grouping clauses")
            self.next()
            self.label_list()
        want = ([_AGG_PARAM[name]] if name in _AGG_PARAM else []) + [_V]
        if len(args) != len(want):
            raise PromQLError(f"{name} takes {len(want)} argument(s), got {len(args)}", t.pos)
        for idx, ((kind, pos), w) in enumerate(zip(args, want)):
            if kind != w:
                raise PromQLError(f"argument {idx + 1} of {name} must be {_NAMES[w]}, "
                                  f"not {_NAMES[kind]}", pos)
        self._wrap(start, name)
        return _V


_NAMES = {_V: "an instant vector", _M: "a range vector", _S: "a scalar", _STR: "a string"}


def parse(expr: str) -> tuple[str, list[Selector]]:
    """Parses `expr`; returns its result kind ("v", "s", …) and its selectors, or raises."""
    p = _Parser(expr)
    kind = p.parse()
    return kind, p.selectors
