"""Every rendered object is valid Kubernetes, strictly, for the oldest and
newest Kubernetes versions the chart supports.

Uses kubernetes-validate's bundled strict schemas, with validators cached
per (version, kind) and each distinct object validated once, so hundreds
of objects take seconds. A kind without a bundled schema fails the test
(no "couldn't find schema" pass), except the Gateway API HTTPRoute, a CRD
no Kubernetes version bundles: it is checked against the subset of its
published schema the chart uses (HTTPROUTE_SCHEMA below).
"""

import functools
import json
import re

import jsonschema
import kubernetes_validate
import pytest
from kubernetes_validate import utils as kv
from referencing import Registry, Resource

from .chart_helpers import VALUES_FILES, render, values_key

OLDEST, NEWEST = "1.28", kubernetes_validate.latest_version().rsplit(".", 1)[0]

_name = {"type": "string", "minLength": 1, "maxLength": 253}
HTTPROUTE_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "gateway.networking.k8s.io/v1"},
        "kind": {"const": "HTTPRoute"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "parentRefs": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["name"],
                        "properties": {"name": _name, "namespace": _name, "sectionName": _name},
                    },
                },
                "hostnames": {"type": "array", "items": {"type": "string"}},
                "rules": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "matches": {"type": "array"},
                            "backendRefs": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["name", "port"],
                                    "additionalProperties": False,
                                    "properties": {"name": _name, "port": {"type": "integer"}},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


@functools.cache
def _definitions(version: str) -> Registry:
    defs = kv.schema_contents(
        f"kubernetes-json-schema/v{version}.0-local-strict/_definitions.json", version
    )
    return Resource.from_contents(defs) @ Registry()


@functools.cache
def validator(version: str, kind: str, api_version: str):
    if (kind, api_version) == ("HTTPRoute", "gateway.networking.k8s.io/v1"):
        return jsonschema.Draft202012Validator(HTTPROUTE_SCHEMA)
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = f"kubernetes-json-schema/v{version}.0-local-strict/{kind.lower()}-{group}.json"
    try:
        schema = kv.schema_contents(path, version)
    except FileNotFoundError:
        pytest.fail(f"no schema for {kind} {api_version} in Kubernetes {version}")
    registry = Resource.from_contents(schema) @ _definitions(version)
    return jsonschema.Draft202012Validator(schema, registry=registry)


@functools.cache
def _errors(version: str, doc_json: str) -> tuple[str, ...]:
    doc = json.loads(doc_json)
    v = validator(version, doc["kind"], doc["apiVersion"])
    return tuple(f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in v.iter_errors(doc))


@pytest.mark.parametrize("version", [OLDEST, NEWEST])
@pytest.mark.parametrize("name", list(VALUES_FILES))
def test_every_object_is_valid_kubernetes(prerendered, name, version):
    problems = {}
    for doc in render(values_key(name)).docs:
        errors = _errors(version, json.dumps(doc, sort_keys=True))
        if errors:
            problems[f"{doc['kind']}/{doc['metadata']['name']}"] = errors
    assert not problems


def test_the_validator_rejects_an_unknown_field():
    doc = render().find("Deployment", "hub")
    broken = json.loads(json.dumps(doc))
    broken["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    assert _errors(OLDEST, json.dumps(broken, sort_keys=True))
