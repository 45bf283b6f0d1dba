"""Label and field selectors, parsed once and matched cheaply.

Label selectors follow apimachinery's `labels.Parse` (pkg/labels/selector.go):
the same lexer (whitespace separates tokens; `= == != ! ( ) , > <` are
operators; `in`/`notin` are keywords except where a value is expected), the
same grammar, the same key/value validation and the same error texts, so a bad
`labelSelector=` answers what a real API server answers
(`unable to parse requirement: …`).  `LabelSelector` objects (`matchLabels`,
`matchExpressions`) convert like `metav1.LabelSelectorAsSelector`: an empty
selector matches everything, an absent one (`None`) matches nothing.

Field selectors follow `fields.ParseSelector`: comma-separated `path=value`,
`path==value`, `path!=value` terms (a backslash escapes `\\`, `,` and `=` in
values); the path is dotted into the object and values compare as strings, a
missing field reading as "".

Parsed selectors are immutable; `matches` runs a precompiled tuple of small
checks, so evaluating one per object per watch event stays cheap.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Callable

from kubesim import errors

__all__ = [
    "EVERYTHING",
    "NOTHING",
    "FieldSelector",
    "LabelSelector",
    "Requirement",
    "field_value",
    "label_selector_from_object",
    "label_selector_to_string",
    "parse_field_selector",
    "parse_label_selector",
    "selector_from_set",
]

_MISSING = object()
_EMPTY: Mapping[str, str] = MappingProxyType({})

# selection.Operator values, as Kubernetes spells them.
IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS = "in", "notin", "=", "==", "!="
EXISTS, DOES_NOT_EXIST, GREATER_THAN, LESS_THAN = "exists", "!", "gt", "lt"
_BINARY_OPERATORS = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN)
_VALID_OPERATORS = _BINARY_OPERATORS + (EXISTS, DOES_NOT_EXIST)

# ---------------------------------------------------------------------------
# key / value validation (k8s.io/apimachinery/pkg/util/validation)

_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME_RE = re.compile(f"^{_QNAME_FMT}$")
_QNAME_ERR = ("must consist of alphanumeric characters, '-', '_' or '.', "
              "and must start and end with an alphanumeric character")
_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_SUBDOMAIN_RE = re.compile(f"^{_DNS1123_SUBDOMAIN_FMT}$")
_DNS1123_SUBDOMAIN_ERR = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                          "'-' or '.', and must start and end with an alphanumeric character")
_LABEL_VALUE_FMT = f"({_QNAME_FMT})?"
_LABEL_VALUE_RE = re.compile(f"^{_LABEL_VALUE_FMT}$")
_LABEL_VALUE_ERR = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                    "and must start and end with an alphanumeric character")


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    msg += " (e.g. " + " or ".join(f"'{e}', " for e in examples)
    return msg + f"regex used for validation is '{fmt}')"


def _max_len_error(n: int) -> str:
    return f"must be no more than {n} characters"


def _qualified_name_errors(value: str) -> list[str]:
    """validation.IsQualifiedName."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            if len(prefix) > 253:
                errs.append("prefix part " + _max_len_error(253))
            if not _DNS1123_SUBDOMAIN_RE.match(prefix):
                errs.append("prefix part " + _regex_error(_DNS1123_SUBDOMAIN_ERR, _DNS1123_SUBDOMAIN_FMT,
                                                          "example.com"))
    else:
        return ["a qualified name " + _regex_error(_QNAME_ERR, _QNAME_FMT, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + _max_len_error(63))
    if not _QNAME_RE.match(name):
        errs.append("name part " + _regex_error(_QNAME_ERR, _QNAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


def _label_value_errors(value: str) -> list[str]:
    """validation.IsValidLabelValue."""
    errs: list[str] = []
    if len(value) > 63:
        errs.append(_max_len_error(63))
    if not _LABEL_VALUE_RE.match(value):
        errs.append(_regex_error(_LABEL_VALUE_ERR, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def _go_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _go_string_slice(values) -> str:
    return "[]string{" + ", ".join(_go_quote(v) for v in values) + "}"


def _field_invalid(path: str, value: str, detail: str) -> str:
    """field.Invalid(...).Error() for a string value."""
    return f"{path}: Invalid value: {value}: {detail}"


def _aggregate(msgs: list[str]) -> str:
    return msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]"


_INT_RE = re.compile(r"^[+-]?[0-9]+$")


def _parse_int(s: str) -> int | None:
    if not _INT_RE.match(s):
        return None
    v = int(s)
    return v if -(1 << 63) <= v < (1 << 63) else None


# ---------------------------------------------------------------------------
# requirements and label selectors


class Requirement:
    """One `key op values` term; build through `Requirement.new` (which validates like `labels.NewRequirement`)."""

    __slots__ = ("key", "operator", "values", "_check")

    def __init__(self, key: str, operator: str, values: tuple[str, ...]):
        self.key = key
        self.operator = operator
        self.values = values  # sorted, de-duplicated
        self._check = _compile_requirement(key, operator, values)

    @classmethod
    def new(cls, key: str, operator: str, values=()) -> "Requirement":
        """Validate and build; raises errors.BadRequest with Kubernetes' text on a bad key, operator or values."""
        values = list(values)
        msgs: list[str] = []
        key_errs = _qualified_name_errors(key)
        if key_errs:
            msgs.append(_field_invalid("key", _go_quote(key), "; ".join(key_errs)))
        if operator in (IN, NOT_IN):
            if not values:
                msgs.append(_field_invalid("values", _go_string_slice(values),
                                           "for 'in', 'notin' operators, values set can't be empty"))
        elif operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
            if len(values) != 1:
                msgs.append(_field_invalid("values", _go_string_slice(values),
                                           "exact-match compatibility requires one single value"))
        elif operator in (EXISTS, DOES_NOT_EXIST):
            if values:
                msgs.append(_field_invalid("values", _go_string_slice(values),
                                           "values set must be empty for exists and does not exist"))
        elif operator in (GREATER_THAN, LESS_THAN):
            if len(values) != 1:
                msgs.append(_field_invalid("values", _go_string_slice(values),
                                           "for 'Gt', 'Lt' operators, exactly one value is required"))
            for i, v in enumerate(values):
                if _parse_int(v) is None:
                    msgs.append(_field_invalid(f"values[{i}]", _go_quote(v),
                                               "for 'Gt', 'Lt' operators, the value must be an integer"))
        else:
            supported = ", ".join(_go_quote(o) for o in _VALID_OPERATORS)
            msgs.append(f"operator: Unsupported value: {_go_quote(operator)}: supported values: {supported}")
        for i, v in enumerate(values):
            value_errs = _label_value_errors(v)
            if value_errs:
                msgs.append(_field_invalid(f"values[{i}][{key}]", _go_quote(v), "; ".join(value_errs)))
        if msgs:
            raise errors.BadRequest(_aggregate(msgs))
        return cls(key, operator, tuple(sorted(set(values))))

    def matches(self, labels: Mapping[str, str]) -> bool:
        return self._check(labels)

    def __str__(self) -> str:
        op = self.operator
        if op == EXISTS:
            return self.key
        if op == DOES_NOT_EXIST:
            return "!" + self.key
        joined = ",".join(self.values)
        if op in (IN, NOT_IN):
            return f"{self.key} {op} ({joined})"
        symbol = {GREATER_THAN: ">", LESS_THAN: "<"}.get(op, op)
        return f"{self.key}{symbol}{joined}"

    def __repr__(self) -> str:
        return f"Requirement({self.key!r}, {self.operator!r}, {self.values!r})"

    def __eq__(self, other) -> bool:
        return (isinstance(other, Requirement) and self.key == other.key and self.operator == other.operator
                and self.values == other.values)

    def __hash__(self) -> int:
        return hash((self.key, self.operator, self.values))


def _compile_requirement(key: str, op: str, values: tuple[str, ...]) -> Callable[[Mapping[str, str]], bool]:
    if op in (IN, EQUALS, DOUBLE_EQUALS):
        if len(values) == 1:
            (value,) = values
            return lambda labels: labels.get(key, _MISSING) == value
        value_set = frozenset(values)
        return lambda labels: key in labels and labels[key] in value_set
    if op in (NOT_IN, NOT_EQUALS):
        if len(values) == 1:
            (value,) = values
            return lambda labels: labels.get(key, _MISSING) != value
        value_set = frozenset(values)
        return lambda labels: key not in labels or labels[key] not in value_set
    if op == EXISTS:
        return lambda labels: key in labels
    if op == DOES_NOT_EXIST:
        return lambda labels: key not in labels
    if op in (GREATER_THAN, LESS_THAN):
        bound = _parse_int(values[0]) if len(values) == 1 else None
        greater = op == GREATER_THAN

        def compare(labels: Mapping[str, str]) -> bool:
            raw = labels.get(key)
            if bound is None or not isinstance(raw, str):
                return False
            have = _parse_int(raw)
            if have is None:
                return False
            return have > bound if greater else have < bound

        return compare
    return lambda labels: False


class LabelSelector:
    """A parsed label selector: an AND of requirements (sorted by key, like Kubernetes)."""

    __slots__ = ("requirements", "_checks", "_equals", "_nothing")

    def __init__(self, requirements=(), *, nothing: bool = False):
        reqs = tuple(sorted(requirements, key=lambda r: r.key))  # stable, as sort.Sort(ByKey) on parse order
        self.requirements: tuple[Requirement, ...] = reqs
        self._nothing = nothing
        self._checks = tuple(r._check for r in reqs)
        # fast path: only single-valued equality requirements (matchLabels, Service selectors)
        if reqs and all(r.operator in (EQUALS, DOUBLE_EQUALS, IN) and len(r.values) == 1 for r in reqs):
            self._equals: tuple[tuple[str, str], ...] | None = tuple((r.key, r.values[0]) for r in reqs)
        else:
            self._equals = None

    @property
    def empty(self) -> bool:
        """True when the selector does not restrict anything (matches every object)."""
        return not self.requirements and not self._nothing

    @property
    def matches_nothing(self) -> bool:
        return self._nothing

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Whether a label map matches (None reads as no labels)."""
        if self._nothing:
            return False
        if labels is None:
            labels = _EMPTY
        equals = self._equals
        if equals is not None:
            get = labels.get
            for key, value in equals:
                if get(key, _MISSING) != value:
                    return False
            return True
        for check in self._checks:
            if not check(labels):
                return False
        return True

    def matches_object(self, obj: Mapping[str, Any]) -> bool:
        """Whether an API object's `metadata.labels` match."""
        meta = obj.get("metadata")
        return self.matches(meta.get("labels") if isinstance(meta, Mapping) else None)

    def requires_exact_match(self, key: str) -> str | None:
        """The value `key` must equal for a match (`labels.Selector.RequiresExactMatch`), else None."""
        for r in self.requirements:
            if r.key == key:
                if r.operator in (EQUALS, DOUBLE_EQUALS, IN) and len(r.values) == 1:
                    return r.values[0]
                return None
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return "LabelSelector(<nothing>)" if self._nothing else f"LabelSelector({str(self)!r})"

    def __eq__(self, other) -> bool:
        return (isinstance(other, LabelSelector) and self.requirements == other.requirements
                and self._nothing == other._nothing)

    def __hash__(self) -> int:
        return hash((self.requirements, self._nothing))


EVERYTHING = LabelSelector()
NOTHING = LabelSelector(nothing=True)


# ---------------------------------------------------------------------------
# the label-selector lexer and parser (a port of labels.Lexer / labels.Parser)

_ERROR, _EOS, _CLOSE, _COMMA, _NOT, _DEQ, _EQ, _GT, _ID, _IN, _LT, _NEQ, _NOTIN, _OPEN = range(14)
_STRING_TO_TOKEN = {")": _CLOSE, ",": _COMMA, "!": _NOT, "==": _DEQ, "=": _EQ, ">": _GT, "in": _IN,
                    "<": _LT, "!=": _NEQ, "notin": _NOTIN, "(": _OPEN}
_SPECIAL = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")
_KEY_AND_OPERATOR, _VALUES = 0, 1


def _lex(s: str) -> list[tuple[int, str]]:
    items: list[tuple[int, str]] = []
    pos, n = 0, len(s)
    while True:
        while pos < n and s[pos] in _WHITESPACE:
            pos += 1
        if pos >= n:
            items.append((_EOS, ""))
            return items
        ch = s[pos]
        if ch in _SPECIAL:
            buf, last, end = "", None, pos
            while end < n and s[end] in _SPECIAL:
                buf += s[end]
                tok = _STRING_TO_TOKEN.get(buf)
                if tok is not None:
                    last = (tok, buf)
                elif last is not None:
                    break
                end += 1
            if last is None:  # cannot happen: every single special symbol is a token
                items.append((_ERROR, f"error expected: keyword found '{buf}'"))
                pos = end
            else:
                items.append(last)
                pos += len(last[1])
        else:
            start = pos
            while pos < n and s[pos] not in _SPECIAL and s[pos] not in _WHITESPACE:
                pos += 1
            word = s[start:pos]
            items.append((_STRING_TO_TOKEN.get(word, _ID), word))


class _ParseError(Exception):
    pass


class _Parser:
    def __init__(self, s: str):
        self.items = _lex(s)
        self.pos = 0

    def lookahead(self, context: int) -> tuple[int, str]:
        tok, lit = self.items[self.pos]
        if context == _VALUES and tok in (_IN, _NOTIN):
            tok = _ID
        return tok, lit

    def consume(self, context: int) -> tuple[int, str]:
        tok, lit = self.lookahead(context)
        self.pos += 1
        return tok, lit

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            tok, lit = self.lookahead(_VALUES)
            if tok in (_ID, _NOT):
                try:
                    requirements.append(self.parse_requirement())
                except (_ParseError, errors.BadRequest) as e:
                    raise _ParseError(f"unable to parse requirement: {_message(e)}") from None
                t, lit2 = self.consume(_VALUES)
                if t == _EOS:
                    return requirements
                if t == _COMMA:
                    t2, l2 = self.lookahead(_VALUES)
                    if t2 not in (_ID, _NOT):
                        raise _ParseError(f"found '{l2}', expected: identifier after ','")
                else:
                    raise _ParseError(f"found '{lit2}', expected: ',' or 'end of string'")
            elif tok == _EOS:
                return requirements
            else:
                raise _ParseError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def parse_requirement(self) -> Requirement:
        key, operator = self.parse_key_and_infer_operator()
        if operator in (EXISTS, DOES_NOT_EXIST):
            return Requirement.new(key, operator, ())
        operator = self.parse_operator()
        if operator in (IN, NOT_IN):
            values = self.parse_values()
        else:
            values = self.parse_exact_value()
        return Requirement.new(key, operator, sorted(values))

    def parse_key_and_infer_operator(self) -> tuple[str, str]:
        operator = ""
        tok, lit = self.consume(_VALUES)
        if tok == _NOT:
            operator = DOES_NOT_EXIST
            tok, lit = self.consume(_VALUES)
        if tok != _ID:
            raise _ParseError(f"found '{lit}', expected: identifier")
        key_errs = _qualified_name_errors(lit)
        if key_errs:
            raise _ParseError(_field_invalid("<nil>", _go_quote(lit), "; ".join(key_errs)))
        t, _ = self.lookahead(_VALUES)
        if t in (_EOS, _COMMA) and operator != DOES_NOT_EXIST:
            operator = EXISTS
        return lit, operator

    def parse_operator(self) -> str:
        tok, lit = self.consume(_KEY_AND_OPERATOR)
        op = {_IN: IN, _EQ: EQUALS, _DEQ: DOUBLE_EQUALS, _GT: GREATER_THAN, _LT: LESS_THAN,
              _NOTIN: NOT_IN, _NEQ: NOT_EQUALS}.get(tok)
        if op is None:
            raise _ParseError(f"found '{lit}', expected: {', '.join(_BINARY_OPERATORS)}")
        return op

    def parse_values(self) -> set[str]:
        tok, lit = self.consume(_VALUES)
        if tok != _OPEN:
            raise _ParseError(f"found '{lit}' expected: '('")
        tok, lit = self.lookahead(_VALUES)
        if tok in (_ID, _COMMA):
            values = self.parse_identifiers_list()
            tok, _ = self.consume(_VALUES)
            if tok != _CLOSE:
                raise _ParseError(f"found '{lit}', expected: ')'")
            return values
        if tok == _CLOSE:
            self.consume(_VALUES)
            return {""}
        raise _ParseError(f"found '{lit}', expected: ',', ')' or identifier")

    def parse_identifiers_list(self) -> set[str]:
        values: set[str] = set()
        while True:
            tok, lit = self.consume(_VALUES)
            if tok == _ID:
                values.add(lit)
                tok2, lit2 = self.lookahead(_VALUES)
                if tok2 == _COMMA:
                    continue
                if tok2 == _CLOSE:
                    return values
                raise _ParseError(f"found '{lit2}', expected: ',' or ')'")
            if tok == _COMMA:
                if not values:
                    values.add("")  # "(,"
                tok2, _ = self.lookahead(_VALUES)
                if tok2 == _CLOSE:
                    values.add("")  # ",)"
                    return values
                if tok2 == _COMMA:
                    self.consume(_VALUES)
                    values.add("")  # ",,"
            else:
                raise _ParseError(f"found '{lit}', expected: ',', or identifier")

    def parse_exact_value(self) -> set[str]:
        tok, _ = self.lookahead(_VALUES)
        if tok in (_EOS, _COMMA):
            return {""}
        tok, lit = self.consume(_VALUES)
        if tok == _ID:
            return {lit}
        raise _ParseError(f"found '{lit}', expected: identifier")


def _message(e: Exception) -> str:
    return e.message if isinstance(e, errors.StatusError) else str(e)


def parse_label_selector(selector: str | None) -> LabelSelector:
    """Parse a `labelSelector=` query value; "" or None selects everything.

    Raises errors.BadRequest with Kubernetes' message on bad syntax, keys or values.
    """
    if not selector:
        return EVERYTHING
    try:
        requirements = _Parser(selector).parse()
    except _ParseError as e:
        raise errors.BadRequest(str(e)) from None
    return LabelSelector(requirements) if requirements else EVERYTHING


_EXPRESSION_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def label_selector_from_object(selector: Mapping[str, Any] | None) -> LabelSelector:
    """A `metav1.LabelSelector` object (`matchLabels`, `matchExpressions`) as a selector.

    Like `metav1.LabelSelectorAsSelector`: None selects nothing, an empty selector
    everything.  Raises errors.BadRequest on an unknown operator or invalid keys/values.
    """
    if selector is None:
        return NOTHING
    if not isinstance(selector, Mapping):
        raise errors.BadRequest(f"invalid label selector: {selector!r}")
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not match_labels and not expressions:
        return EVERYTHING
    requirements = [Requirement.new(str(k), EQUALS, [str(v)]) for k, v in match_labels.items()]
    for expr in expressions:
        op = _EXPRESSION_OPERATORS.get(expr.get("operator"))
        if op is None:
            raise errors.BadRequest(f"{_go_quote(str(expr.get('operator', '')))} is not a valid label selector operator")
        requirements.append(Requirement.new(str(expr.get("key", "")), op, [str(v) for v in expr.get("values") or ()]))
    return LabelSelector(requirements)


def label_selector_to_string(selector: Mapping[str, Any]) -> str:
    """A LabelSelector object in `labelSelector=` query form (`app=web,tier in (a,b),!canary`); "" if empty.

    A None selector selects nothing, which no query string can say: it raises ValueError.
    """
    if selector is None:
        raise ValueError("a nil label selector selects nothing and has no query-string form")
    return str(label_selector_from_object(selector))


def selector_from_set(labels: Mapping[str, str] | None) -> LabelSelector:
    """A Service/ReplicationController-style `{key: value}` selector (empty or None selects everything)."""
    if not labels:
        return EVERYTHING
    return LabelSelector(Requirement(str(k), EQUALS, (str(v),)) for k, v in labels.items())


# ---------------------------------------------------------------------------
# field selectors (a port of fields.ParseSelector)


def field_value(obj: Mapping[str, Any], path: str | tuple[str, ...]) -> str:
    """The string a field selector compares for a dotted path ("" when missing; booleans as true/false)."""
    cur: Any = obj
    for part in (path.split(".") if isinstance(path, str) else path):
        if not isinstance(cur, Mapping):
            return ""
        cur = cur.get(part)
        if cur is None:
            return ""
    return _field_string(cur)


def _field_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _escape_field_value(s: str) -> str:
    return s.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def _unescape_field_value(s: str) -> str:
    if "\\" not in s and "," not in s and "=" not in s:
        return s
    out: list[str] = []
    in_slash = False
    for c in s:
        if in_slash:
            if c in "\\,=":
                out.append(c)
            else:
                raise errors.BadRequest(f"invalid field selector: invalid escape sequence: \\{c}")
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c in ",=":
            raise errors.BadRequest(f"invalid field selector: unescaped character in value: {ord(c)}")
        else:
            out.append(c)
    if in_slash:
        raise errors.BadRequest("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _split_terms(selector: str) -> list[str]:
    terms: list[str] = []
    start, in_slash = 0, False
    for i, c in enumerate(selector):
        if in_slash:
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c == ",":
            terms.append(selector[start:i])
            start = i + 1
    terms.append(selector[start:])
    return terms


_TERM_OPERATORS = ("!=", "==", "=")


def _split_term(term: str) -> tuple[str, str, str] | None:
    for i in range(len(term)):
        for op in _TERM_OPERATORS:
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op):]
    return None


class FieldSelector:
    """A parsed field selector: an AND of `(path, operator, value)` terms, operator "=" or "!="."""

    __slots__ = ("terms", "_compiled")

    def __init__(self, terms=()):
        self.terms: tuple[tuple[str, str, str], ...] = tuple(terms)
        self._compiled = tuple((tuple(f.split(".")), op == "=", value) for f, op, value in self.terms)

    @property
    def empty(self) -> bool:
        return not self.terms

    @property
    def fields(self) -> tuple[str, ...]:
        """The field paths the selector names (for checking them against a kind's supported field labels)."""
        return tuple(f for f, _, _ in self.terms)

    def matches(self, obj: Mapping[str, Any]) -> bool:
        for parts, equal, value in self._compiled:
            cur: Any = obj
            for part in parts:
                if isinstance(cur, dict):
                    cur = cur.get(part)
                elif isinstance(cur, Mapping):
                    cur = cur.get(part)
                else:
                    cur = None
                if cur is None:
                    break
            have = cur if type(cur) is str else _field_string(cur)
            if (have == value) != equal:
                return False
        return True

    def exact_name(self) -> str | None:
        """The name when the selector is exactly `metadata.name=X` (or `==`), else None."""
        if len(self.terms) == 1:
            f, op, value = self.terms[0]
            if f == "metadata.name" and op == "=":
                return value
        return None

    def requires_exact_match(self, field: str) -> str | None:
        """The value `field` must equal for any match (`fields.Selector.RequiresExactMatch`), else None."""
        for f, op, value in self.terms:
            if f == field and op == "=":
                return value
        return None

    def __str__(self) -> str:
        return ",".join(f"{f}{op}{_escape_field_value(v)}" for f, op, v in self.terms)

    def __repr__(self) -> str:
        return f"FieldSelector({str(self)!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, FieldSelector) and self.terms == other.terms

    def __hash__(self) -> int:
        return hash(self.terms)


def parse_field_selector(selector: str | None) -> FieldSelector:
    """Parse a `fieldSelector=` query value; "" or None selects everything.

    Raises errors.BadRequest (`invalid selector: '…'; can't understand '…'`) on a term without an operator.
    """
    if not selector:
        return FieldSelector()
    terms: list[tuple[str, str, str]] = []
    for part in sorted(_split_terms(selector)):
        if part == "":
            continue
        split = _split_term(part)
        if split is None:
            raise errors.BadRequest(f"invalid selector: '{selector}'; can't understand '{part}'")
        lhs, op, rhs = split
        terms.append((lhs, "!=" if op == "!=" else "=", _unescape_field_value(rhs)))
    return FieldSelector(terms)
