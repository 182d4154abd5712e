"""The Kubernetes OpenAPI schemas shipped by kubernetes-validate, loaded once.

Two uses: validating request bodies (strict: unknown fields rejected) and
telling strategic merge patch which lists merge by which key
(`x-kubernetes-patch-merge-key`). Loading the 1.4 MB definitions file and
building validators is slow, so everything is cached per served version.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

# jsonschema imports rfc3987_syntax (if installed) only to check "iri" formats, which
# Kubernetes schemas never use; building its grammar costs seconds at every start.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

import jsonschema  # noqa: E402
from referencing import Registry, Resource  # noqa: E402

# Only the schema files of kubernetes-validate are used, so it is located, not imported.
SCHEMA_ROOT = (
    Path(importlib.util.find_spec("kubernetes_validate").origin).parent / "kubernetes-json-schema"
)


def schema_dir(version: str, strict: bool = True) -> Path:
    """The schema folder for the served version (the newest not newer than it)."""
    wanted = _version_tuple(version)
    candidates = []
    for path in SCHEMA_ROOT.iterdir():
        m = re.match(r"^v(\d+)\.(\d+)\.\d+-local(-strict)?$", path.name)
        if m and bool(m.group(3)) == strict:
            candidates.append(((int(m.group(1)), int(m.group(2))), path))
    usable = sorted(c for c in candidates if c[0] <= wanted)
    if not usable:
        raise ValueError(f"no Kubernetes schema for version {version!r}")
    return usable[-1][1]


def _version_tuple(version: str) -> tuple[int, int]:
    m = re.match(r"^v?(\d+)\.(\d+)", version)
    if not m:
        raise ValueError(f"Kubernetes version must look like 1.33, got {version!r}")
    return int(m.group(1)), int(m.group(2))


@functools.cache
def definitions(version: str, strict: bool = True) -> dict[str, Any]:
    with open(schema_dir(version, strict) / "_definitions.json") as f:
        return json.load(f)


@functools.cache
def _registry(version: str, strict: bool) -> Registry:
    return Resource.from_contents(definitions(version, strict)) @ Registry()


@functools.cache
def validator(version: str, kind: str, api_version: str, strict: bool = True):
    """A cached jsonschema validator for one kind, or None if the schema has none."""
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = schema_dir(version, strict) / f"{kind.lower()}-{group_version}.json"
    if not path.exists():
        return None
    with open(path) as f:
        schema = json.load(f)
    registry = Resource.from_contents(schema) @ _registry(version, strict)
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def definition_name(kind: str, api_version: str) -> str | None:
    """The OpenAPI definition name of a kind ("io.k8s.api.core.v1.Pod")."""
    group, _, version = api_version.rpartition("/")
    short_group = group.split(".")[0] if group else "core"
    candidates = [
        f"io.k8s.api.{short_group}.{version}.{kind}",
    ]
    if group == "rbac.authorization.k8s.io":
        candidates.insert(0, f"io.k8s.api.rbac.{version}.{kind}")
    return next((c for c in candidates if c in _defs_any()), None)


def _defs_any() -> dict[str, Any]:
    return definitions("1.33")["$defs"]


def resolve(version: str, node: dict[str, Any] | None) -> dict[str, Any] | None:
    """Follow $ref (and single-entry allOf) to the schema node it names."""
    defs = definitions(version)["$defs"]
    while node is not None:
        ref = node.get("$ref")
        if ref:
            node = defs.get(ref.rsplit("/", 1)[-1])
            continue
        if "allOf" in node and len(node["allOf"]) == 1:
            node = node["allOf"][0]
            continue
        return node
    return None


def kind_schema(version: str, kind: str, api_version: str) -> dict[str, Any] | None:
    name = definition_name(kind, api_version)
    return definitions(version)["$defs"].get(name) if name else None
