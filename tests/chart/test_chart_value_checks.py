"""Every render-time value check (chart/templates/_value-checks.tpl, which
ci/generate-schema makes from the schema's patterns, enums and x-message)
refuses a value it does not take as `key: value <message>`, with Helm 3 and 4:
the message helm's own schema check would not give (it prints the pattern)."""

import json
import re

import pytest

from .chart_helpers import CHART, render_error

CHECKS = json.loads(
    re.search(r"^(\{\".*\})$", (CHART / "templates/_value-checks.tpl").read_text(), re.M).group(1)
)
BAD = {"fuzz": 1}  # no check takes a mapping


def checked_keys(node, path=()):
    """(dotted key, message) of every check reachable by plain keys."""
    if "check" in node:
        yield ".".join(path), node["check"]["message"]
    for key, child in node.get("properties", {}).items():
        yield from checked_keys(child, (*path, key))


KEYS = sorted(checked_keys(CHECKS))


def test_the_checks_cover_patterns_enums_and_quantities():
    keys = dict(KEYS)
    assert len(keys) > 30
    for key in ("singleuser.memory.limit", "singleuser.cpu.guarantee", "hub.image.name",
                "hub.image.tag", "singleuser.image.pullPolicy", "hub.baseUrl", "proxy.service.type"):  # fmt: skip
        assert key in keys, key
    assert "cpu_limit" in CHECKS["traitNames"]


@pytest.mark.parametrize("helm", ["3", "4"])
@pytest.mark.parametrize("key, message", KEYS, ids=[k for k, _ in KEYS])
def test_each_check_refuses_naming_key_value_and_fix(key, message, helm):
    error = render_error(helm=helm, sets=(f"{key}={json.dumps(BAD)}",))
    assert f'{key}: {{"fuzz":1}} {message}' in error, error
