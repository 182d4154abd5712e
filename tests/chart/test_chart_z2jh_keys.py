"""Every key of Zero to JupyterHub 4.4.0 is accepted by our schema, with
z2jh's defaults and enum values: a z2jh user's `config.yaml` validates here.

The key paths come from z2jh's own `values.schema.yaml` and `values.yaml`
in the anchor (test data, read only)."""

import json
import re

import jsonschema
import yaml

from .chart_helpers import CHART, ROOT

Z2JH = ROOT.parent / "shared/anchors/zero-to-jupyterhub-k8s-4.4.0/jupyterhub"
Z2JH_SCHEMA = yaml.safe_load((Z2JH / "values.schema.yaml").read_text())
Z2JH_DEFAULTS = yaml.safe_load((Z2JH / "values.yaml").read_text())
OURS = json.loads((CHART / "values.schema.json").read_text())


def schema_paths(node: dict, path=()):
    for key, child in (node.get("properties") or {}).items():
        yield (*path, key), child
        yield from schema_paths(child, (*path, key))


def default_paths(tree, path=()):
    if isinstance(tree, dict):
        for key, child in tree.items():
            yield (*path, key), child
            yield from default_paths(child, (*path, key))


def our_subschema(path: tuple):
    """Our schema for `path`; {} (anything goes) under a free-form object;
    None when the key is refused."""
    node = OURS
    for key in path:
        if key in (node.get("properties") or {}):
            node = node["properties"][key]
            continue
        # JSON Schema: a key no `properties` names may match a patternProperties regex
        patterns = [
            v for rx, v in (node.get("patternProperties") or {}).items() if re.search(rx, key)
        ]
        if patterns:
            node = patterns[0]
            continue
        extra = node.get("additionalProperties", True)
        if extra is False:
            return None
        if not isinstance(extra, dict):
            return {}
        node = extra
    return node


def free_form_in_z2jh(path: tuple) -> bool:
    """Inside a z2jh object that takes any keys (e.g. hub.config.X): z2jh
    gives no meaning to these paths, so neither do we."""
    node = Z2JH_SCHEMA
    for key in path[:-1]:
        props = node.get("properties") or {}
        if key not in props:
            return True
        node = props[key]
    return False


Z2JH_KEYS = sorted(
    {p for p, _ in schema_paths(Z2JH_SCHEMA)}
    | {p for p, _ in default_paths(Z2JH_DEFAULTS) if not free_form_in_z2jh(p)}
)


def test_the_walk_sees_z2jh_keys():
    # A guard against walking nothing: z2jh 4.4.0 has several hundred keys.
    assert len(Z2JH_KEYS) > 400
    assert ("proxy", "service", "externalIPs") in Z2JH_KEYS


def test_every_z2jh_key_is_accepted():
    # No exceptions: every z2jh key is taken.
    refused = [".".join(p) for p in Z2JH_KEYS if our_subschema(p) is None]
    assert refused == []


def test_every_z2jh_default_is_accepted():
    wrong = {}
    for path, value in default_paths(Z2JH_DEFAULTS):
        ours = our_subschema(path)
        if ours is None or isinstance(value, dict):
            continue
        errors = list(jsonschema.Draft7Validator(ours).iter_errors(value))
        if errors:
            wrong[".".join(path)] = f"{value!r}: {errors[0].message}"
    assert wrong == {}


def test_every_z2jh_enum_value_is_accepted():
    wrong = {}
    for path, node in schema_paths(Z2JH_SCHEMA):
        ours = our_subschema(path)
        for value in node.get("enum") or []:
            if ours is not None and not jsonschema.Draft7Validator(ours).is_valid(value):
                wrong[f"{'.'.join(path)}={value!r}"] = "refused"
    assert wrong == {}
