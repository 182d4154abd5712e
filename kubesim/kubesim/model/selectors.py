"""Label and field selectors: parse the query-string syntax once, match often.

Label selector grammar (as the API server accepts it): comma-separated
requirements, each one of `key`, `!key`, `key=v`, `key==v`, `key!=v`,
`key in (a,b)`, `key notin (a,b)`, `key>n`, `key<n`. Field selectors take
`field=v`, `field==v`, `field!=v`, comma-separated, only for the fields a
resource type supports.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from kubesim.model.errors import bad_request

Matcher = Callable[[dict[str, Any]], bool]

_SET_RE = re.compile(r"^\s*(!?)\s*([^\s!=<>,()]+)\s*(?:(notin|in)\s*\((.*)\)\s*)?$")
_CMP_RE = re.compile(r"^\s*([^\s!=<>,()]+)\s*(==|=|!=|>|<)\s*([^\s,()]*)\s*$")


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _requirement(text: str) -> Matcher:
    m = _CMP_RE.match(text)
    if m:
        key, op, value = m.groups()
        if op in ("=", "=="):
            return lambda labels: labels.get(key) == value
        if op == "!=":
            return lambda labels: labels.get(key) != value
        try:
            number = int(value)
        except ValueError:
            raise bad_request(
                f"unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an "
                f"integer: {value!r}"
            ) from None
        if op == ">":
            return lambda labels: (
                _int_or_none(labels.get(key)) is not None
                and (_int_or_none(labels.get(key)) > number)
            )
        return lambda labels: (
            _int_or_none(labels.get(key)) is not None and (_int_or_none(labels.get(key)) < number)
        )
    m = _SET_RE.match(text)
    if not m:
        raise bad_request(f"unable to parse requirement: found '{text.strip()}', expected: key")
    negated, key, op, values = m.groups()
    if op:
        if negated:
            raise bad_request(f"unable to parse requirement: found '{text.strip()}'")
        choices = {v.strip() for v in values.split(",")}
        if op == "in":
            return lambda labels: labels.get(key) in choices
        return lambda labels: labels.get(key) not in choices
    if negated:
        return lambda labels: key not in labels
    return lambda labels: key in labels


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def parse_label_selector(text: str | None) -> Matcher | None:
    """A function of a labels dict, or None when the selector selects everything."""
    if not text or not text.strip():
        return None
    parts = _split_top_level(text)
    if any(not p.strip() for p in parts):
        raise bad_request(f"unable to parse requirement: empty requirement in {text!r}")
    requirements = [_requirement(p) for p in parts]

    def matches(labels: dict[str, str]) -> bool:
        return all(r(labels) for r in requirements)

    return matches


def selector_from_label_selector(selector: dict[str, Any] | None) -> Matcher | None:
    """A matcher from a structured LabelSelector (matchLabels / matchExpressions)."""
    if not selector:
        return None
    checks: list[Matcher] = []
    for key, value in (selector.get("matchLabels") or {}).items():
        checks.append(lambda labels, k=key, v=value: labels.get(k) == v)
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], set(expr.get("values") or [])
        if op == "In":
            checks.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
        elif op == "NotIn":
            checks.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
        elif op == "Exists":
            checks.append(lambda labels, k=key: k in labels)
        elif op == "DoesNotExist":
            checks.append(lambda labels, k=key: k not in labels)
    return lambda labels: all(c(labels) for c in checks)


def field_value(obj: dict[str, Any], path: str) -> str:
    """The string form of a dotted field, as field selectors compare it."""
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict):
            value = None
            break
        value = value.get(part)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):  # event "source" selects on source.component
        return str(value.get("component", ""))
    return str(value)


def parse_field_selector(text: str | None, rt) -> Matcher | None:
    if not text or not text.strip():
        return None
    # Kinds with fields of their own have a conversion function in kube-apiserver that
    # lists every field (cluster-scoped ones without metadata.namespace); the others
    # take the default metadata.name/metadata.namespace one. The error texts differ.
    if rt.field_labels and not rt.namespaced:
        allowed = {"metadata.name", *rt.field_labels}
    else:
        allowed = {"metadata.name", "metadata.namespace", *rt.field_labels}
    checks: list[Matcher] = []
    for part in _split_unescaped(text):
        m = re.match(r"^\s*([^!=\s]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if not m:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = m.groups()
        value = value.replace("\\,", ",").replace("\\=", "=").replace("\\\\", "\\")
        if field not in allowed:
            raise bad_request(
                f"field label not supported: {field}"
                if rt.field_labels
                else f'"{field}" is not a known field selector: only "metadata.name", '
                '"metadata.namespace"'
            )
        if op == "!=":
            checks.append(lambda o, f=field, v=value: field_value(o, f) != v)
        else:
            checks.append(lambda o, f=field, v=value: field_value(o, f) == v)
    return lambda obj: all(c(obj) for c in checks)


def _split_unescaped(text: str) -> list[str]:
    return [p for p in re.split(r"(?<!\\),", text) if p.strip()]


def single_name(text: str | None) -> str | None:
    """The name a `metadata.name=x` field selector pins, if it pins one (a fast path)."""
    if not text:
        return None
    parts = _split_unescaped(text)
    for part in parts:
        m = re.match(r"^\s*metadata\.name\s*==?\s*(.*?)\s*$", part)
        if m:
            return m.group(1)
    return None
