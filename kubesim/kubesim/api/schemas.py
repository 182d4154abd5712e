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


# ----- fast validation -------------------------------------------------------------
# jsonschema takes ~10 ms per pod; these schemas use only type, properties,
# additionalProperties, required, enum, items, oneOf and $ref, so a direct walk
# over them is ~50x faster and keeps 10,000-pod benchmarks cheap.


class SchemaError:
    """The first violation found, shaped like the parts of jsonschema's error we use."""

    def __init__(
        self,
        validator: str,
        path: list,
        instance: Any,
        schema: dict,
        message: str = "",
        validator_value: Any = None,
    ):
        self.validator = validator
        self.absolute_path = path
        self.instance = instance
        self.schema = schema
        self.message = message
        self.validator_value = validator_value


_PY_TYPES = {
    "string": (str,),
    "object": (dict,),
    "array": (list,),
    "boolean": (bool,),
    "null": (type(None),),
}


def _type_ok(value: Any, allowed: str | list[str]) -> bool:
    if isinstance(allowed, str):
        allowed = [allowed]
    for t in allowed:
        if t == "integer":
            if isinstance(value, int) and not isinstance(value, bool):
                return True
            if isinstance(value, float) and value.is_integer():
                return True
        elif t == "number":
            if isinstance(value, int | float) and not isinstance(value, bool):
                return True
        elif isinstance(value, _PY_TYPES.get(t, ())):
            return True
    return False


class FastValidator:
    def __init__(self, version: str, root: dict[str, Any], strict: bool):
        self.defs = definitions(version)["$defs"]
        self.root = root
        self.strict = strict

    def _resolve(self, node: dict) -> dict:
        while "$ref" in node:
            node = self.defs[node["$ref"].rsplit("/", 1)[-1]]
        return node

    def first_error(self, value: Any) -> SchemaError | None:
        return self._check(self.root, value, [])

    def _check(self, node: dict, value: Any, path: list) -> SchemaError | None:
        node = self._resolve(node)
        if "oneOf" in node:
            if not any(self._check(option, value, path) is None for option in node["oneOf"]):
                return SchemaError("oneOf", path, value, node, f"{value!r} is not valid")
            return None
        allowed = node.get("type")
        if allowed is not None and not _type_ok(value, allowed):
            return SchemaError("type", path, value, node, f"{value!r} is not of type {allowed}")
        enum = node.get("enum")
        if enum is not None and value not in enum:
            return SchemaError("enum", path, value, node, "", enum)
        if isinstance(value, dict):
            props = node.get("properties")
            additional = node.get("additionalProperties")
            for key in node.get("required") or ():
                if key not in value:
                    return SchemaError(
                        "required", path, value, node, f"'{key}' is a required property"
                    )
            for key, item in value.items():
                sub = props.get(key) if props else None
                if sub is None:
                    if additional is False:
                        if self.strict:
                            return SchemaError("additionalProperties", path, value, node)
                        continue
                    if isinstance(additional, dict):
                        sub = additional
                    else:
                        continue
                error = self._check(sub, item, [*path, key])
                if error is not None:
                    return error
        elif isinstance(value, list):
            items = node.get("items")
            if items is not None:
                for i, item in enumerate(value):
                    error = self._check(items, item, [*path, i])
                    if error is not None:
                        return error
        return None

    def prune(self, value: Any) -> None:
        """Drop fields the schema does not declare (in place)."""
        self._prune(self.root, value)

    def _prune(self, node: dict, value: Any) -> None:
        node = self._resolve(node)
        if isinstance(value, dict):
            props = node.get("properties")
            additional = node.get("additionalProperties")
            for key in list(value):
                sub = props.get(key) if props else None
                if sub is None and additional is False:
                    del value[key]
                elif sub is not None or isinstance(additional, dict):
                    self._prune(sub if sub is not None else additional, value[key])
        elif isinstance(value, list) and node.get("items") is not None:
            for item in value:
                self._prune(node["items"], item)


@functools.cache
def fast_validator(version: str, kind: str, api_version: str, strict: bool = True):
    """A cached FastValidator for one kind, or None if no schema exists for it."""
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = schema_dir(version, True) / f"{kind.lower()}-{group_version}.json"
    if not path.exists():
        return None
    with open(path) as f:
        root = json.load(f)
    return FastValidator(version, root, strict)
