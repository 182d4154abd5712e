"""The seed-era renames are one table (the `x-legacy` entries of
chart/values.schema.yaml, generated into chart/files/legacy-keys.json): for
every entry and every kind of old value, the chart translates it to today's
key, NOTES names both, the hub translates it the same way from
hub.existingSecret (or refuses it naming today's key), and no template or hub
module names the old key itself. Adding a legacy key is one schema entry;
these tests then cover it."""

import itertools
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from localdeploy.paths import load_shipped_module

from .chart_helpers import CHART, ROOT, dotted_get, hub_values, render

TABLE = json.loads((CHART / "files/legacy-keys.json").read_text())
# The source: the JSON schema leaves enums and patterns to render-time checks.
SCHEMA = yaml.safe_load((CHART / "values.schema.yaml").read_text())
DEFAULTS = yaml.safe_load((CHART / "values.yaml").read_text())


def node_at(schema: dict, path: str) -> dict:
    for part in path.split("."):
        schema = schema["properties"][part]
    return schema


def get(tree, path: str):
    return dotted_get(tree, path)


def nest(path: str, value) -> dict:
    for part in reversed(path.split(".")):
        value = {part: value}
    return value


def samples(entry: dict) -> list:
    """(old value, today's values set beside it) of each kind the schema
    admits for the entry's key."""
    return [(old, {}) for old in old_values(entry)] + [
        (old, nest(entry["targets"][0]["to"], {"legacyProbe": "today-value"}))
        for old in old_values(entry)
        if isinstance(old, dict) and "legacyProbe" in old
    ]


def old_values(entry: dict) -> list:
    node = node_at(SCHEMA, entry["key"])
    if "enum" in node:
        return [v for v in node["enum"] if v is not None]
    types = node["type"] if isinstance(node["type"], list) else [node["type"]]
    if "boolean" in types:
        return [True, False]
    if "integer" in types:
        return [4321]
    if "object" in types:
        props = node.get("properties")
        if not props:  # free-form: a key of our own
            return [{"legacyProbe": "old-value", "legacyOnly": "old-value"}]
        flag = next(k for k, p in props.items() if "boolean" in p.get("type", []))
        return [{flag: not get(DEFAULTS, entry["targets"][0]["to"] + "." + flag)}]
    raise AssertionError(f"{entry['key']}: no sample for schema {node}")


CASES = [(e, old, beside) for e in TABLE["keys"] for old, beside in samples(e)]
IDS = [f"{e['key']}={json.dumps(old)}{' with today' * bool(beside)}" for e, old, beside in CASES]


def merged(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def sets_for(entry, old, beside) -> tuple:
    """helm --set-json arguments: the old key, and today's values beside it."""
    return (
        f"{entry['key']}={json.dumps(old)}",
        *(f"{path}={json.dumps(get(beside, path))}" for path in leaves(beside)),
    )


def leaves(tree, prefix=""):
    for k, v in tree.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            yield from leaves(v, path + ".")
        else:
            yield path


def as_text(value) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def expected(target: dict, old, beside=None):
    """Today's value the table entry asks for, read from its `how` (the
    hows' meanings as ci/generate-schema documents them)."""
    today = get(merged(DEFAULTS, beside or {}), target["to"])
    how = target["how"]
    if how == "set":
        return old
    if how == "default":
        return today or old
    if how == "and":
        return today and old
    if how == "not":
        return not old
    if how == "map":
        return target["map"][as_text(old)]
    if how == "mergeOver":
        return {**(today or {}), **old}
    if how == "mergeUnder":
        return {**old, **(today or {})}
    raise AssertionError(f"unknown how {how}")


def test_every_how_of_the_table_is_covered():
    assert {t["how"] for e in TABLE["keys"] for t in e["targets"]} <= set(TABLE["hows"])
    assert len(TABLE["keys"]) >= 8


@pytest.mark.parametrize("entry, old, beside", CASES, ids=IDS)
def test_chart_translates_the_old_key(entry, old, beside, notes):
    sets = sets_for(entry, old, beside)
    values = hub_values(render(sets=sets))
    assert get(values, entry["key"]) is None, "the old key must not reach the templates"
    for target in entry["targets"]:
        want = expected(target, old, beside)
        if want is None:  # a map's null: nothing to set for this value
            continue
        got = get(values, target["to"])
        if isinstance(want, dict):
            assert {k: got[k] for k in want} == want, target["to"]
        else:
            assert got == want, target["to"]
    # its NOTES entry: the line naming the old key and its continuation lines
    lines = notes(sets=sets).splitlines()
    start = lines.index(next(x for x in lines if x.startswith(f"- {entry['key']} is deprecated")))
    block = [lines[start], *itertools.takewhile(lambda x: x.startswith("  "), lines[start + 1 :])]
    for target in entry["targets"]:
        if expected(target, old) is not None:
            assert target["to"] in "\n".join(block), block


@pytest.fixture(scope="module")
def z2jh_root(tmp_path_factory):
    """A hub config root as the ConfigMap and Secret lay it out for the defaults."""
    r = render()
    root = tmp_path_factory.mktemp("z2jh")
    (root / "secret").mkdir()
    (root / "config").mkdir()
    (root / "secret/values.yaml").write_text(yaml.safe_dump(hub_values(r)))
    configmap = r.find("ConfigMap", "hub")["data"]
    (root / "config/legacy-keys.json").write_text(configmap["legacy-keys.json"])
    return root


def load_z2jh(root: Path, monkeypatch):
    monkeypatch.setenv("Z2JH_CONFIG_ROOT", str(root))
    return load_shipped_module("z2jh.py", "z2jh_table")


@pytest.mark.parametrize("entry, old, beside", CASES, ids=IDS)
def test_hub_translates_the_old_key_from_an_existing_secret(
    entry, old, beside, z2jh_root, tmp_path, monkeypatch
):
    root = tmp_path / "root"
    shutil.copytree(z2jh_root, root)
    (root / "existing-secret").mkdir()
    (root / "existing-secret/values.yaml").write_text(
        yaml.safe_dump(merged(nest(entry["key"], old), beside))
    )
    z2jh = load_z2jh(root, monkeypatch)
    first = entry["targets"][0]
    if entry["existingSecret"] == "refuse":
        with pytest.raises(z2jh.ConfigError) as refusal:
            z2jh.values()
        assert f"{entry['key']} (in hub.existingSecret)" in str(refusal.value)
        assert f"{first['to']}: {as_text(expected(first, old))}" in str(refusal.value)
        return
    # the chart's translation of the same key, as its effective values
    chart = hub_values(render(sets=sets_for(entry, old, beside)))
    values = z2jh.values()
    assert get(values, entry["key"]) is None
    for target in entry["targets"]:
        assert get(values, target["to"]) == get(chart, target["to"]), target["to"]


SOURCES = [
    *sorted((CHART / "templates").rglob("*")),
    *sorted((ROOT / "chart/files/hub").rglob("*.py")),
]


def todays_names(node: dict) -> set:
    """Every property name of the schema outside the legacy keys."""
    names = set()
    for name, child in node.get("properties", {}).items():
        if not child.get("deprecated") and "x-legacy" not in child:
            names |= {name} | todays_names(child)
    for child in (node.get("additionalProperties"), node.get("items")):
        if isinstance(child, dict):
            names |= todays_names(child)
    return names


TODAYS_NAMES = todays_names(SCHEMA)


@pytest.mark.parametrize("entry", TABLE["keys"], ids=[e["key"] for e in TABLE["keys"]])
def test_no_template_or_hub_module_names_the_old_key(entry):
    """The table is the old key's one place (besides its schema node): no
    template or hub module reads it (its last two parts, or `.leaf` where no
    key of today has that name)."""
    parts = entry["key"].split(".")
    patterns = [rf"(?<![\w]){re.escape('.'.join(parts[-2:]))}\b"]
    if parts[-1] not in TODAYS_NAMES:
        patterns.append(rf"\.{re.escape(parts[-1])}\b")
    pattern = re.compile("|".join(patterns))
    for path in SOURCES:
        if path.is_file():
            hits = pattern.findall(path.read_text())
            assert not hits, f"{path.relative_to(ROOT)} names {entry['key']}: {hits}"
