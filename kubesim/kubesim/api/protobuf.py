"""Just enough Kubernetes protobuf decoding for clients that insist on it.

client-go's typed clients (helm's release storage among them) send core
objects as `application/vnd.kubernetes.protobuf` and do not fall back to
JSON on 415. This decodes the envelope (magic "k8s\\0" + runtime.Unknown)
and the types such clients write: Secret and ConfigMap with their
ObjectMeta, DeleteOptions, and the reviews of `kubectl auth can-i`. Answers always go out as JSON, which those clients accept.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from kubesim.model.errors import ApiError

MAGIC = b"k8s\x00"


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(data: bytes) -> list[tuple[int, Any]]:
    """(field number, value) pairs; length-delimited values stay bytes."""
    out, pos = [], 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out.append((number, value))
    return out


def _map_entry(data: bytes) -> tuple[str, bytes]:
    key, value = "", b""
    for number, raw in fields(data):
        if number == 1:
            key = raw.decode()
        elif number == 2:
            value = raw
    return key, value


def _time(data: bytes) -> str:
    seconds = next((v for n, v in fields(data) if n == 1), 0)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _owner_reference(data: bytes) -> dict[str, Any]:
    names = {1: "kind", 3: "name", 4: "uid", 5: "apiVersion"}
    ref: dict[str, Any] = {}
    for number, raw in fields(data):
        if number in names:
            ref[names[number]] = raw.decode()
        elif number == 6:
            ref["controller"] = bool(raw)
        elif number == 7:
            ref["blockOwnerDeletion"] = bool(raw)
    return ref


def object_meta(data: bytes) -> dict[str, Any]:
    # Go clients send every non-pointer field, zero values included; the real server
    # decodes them into Go zero values, which its JSON leaves out (omitempty).
    strings = {1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}
    meta: dict[str, Any] = {}
    for number, raw in fields(data):
        if number in strings:
            if raw:
                meta[strings[number]] = raw.decode()
        elif number == 7:
            if raw:
                meta["generation"] = raw
        elif number in (8, 9):
            if raw:  # an empty Time message is the zero time: null in JSON
                meta["creationTimestamp" if number == 8 else "deletionTimestamp"] = _time(raw)
        elif number in (11, 12):
            key, value = _map_entry(raw)
            meta.setdefault("labels" if number == 11 else "annotations", {})[key] = value.decode()
        elif number == 13:
            meta.setdefault("ownerReferences", []).append(_owner_reference(raw))
        elif number == 14:
            meta.setdefault("finalizers", []).append(raw.decode())
    return meta


def _secret(raw: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret"}
    for number, value in fields(raw):
        if number == 1:
            obj["metadata"] = object_meta(value)
        elif number == 2:
            key, data = _map_entry(value)
            obj.setdefault("data", {})[key] = base64.b64encode(data).decode()
        elif number == 3:
            if value:  # "" is the zero value; defaulting makes it Opaque
                obj["type"] = value.decode()
        elif number == 4:
            key, data = _map_entry(value)
            obj.setdefault("stringData", {})[key] = data.decode()
        elif number == 5:
            obj["immutable"] = bool(value)
    return obj


def _configmap(raw: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap"}
    for number, value in fields(raw):
        if number == 1:
            obj["metadata"] = object_meta(value)
        elif number == 2:
            key, data = _map_entry(value)
            obj.setdefault("data", {})[key] = data.decode()
        elif number == 3:
            key, data = _map_entry(value)
            obj.setdefault("binaryData", {})[key] = base64.b64encode(data).decode()
        elif number == 4:
            obj["immutable"] = bool(value)
    return obj


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _delete_options(raw: bytes) -> dict[str, Any]:
    options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
    for number, value in fields(raw):
        if number == 1:
            options["gracePeriodSeconds"] = _signed(value)
        elif number == 2:
            names = {1: "uid", 2: "resourceVersion"}
            options["preconditions"] = {
                names[n]: v.decode() for n, v in fields(value) if n in names
            }
        elif number == 3:
            options["orphanDependents"] = bool(value)
        elif number == 4:
            options["propagationPolicy"] = value.decode()
        elif number == 5:
            options.setdefault("dryRun", []).append(value.decode())
    return options


def _strings(raw: bytes, names: dict[int, str]) -> dict[str, Any]:
    """The non-empty string fields of a message (Go sends zero values too)."""
    return {names[n]: v.decode() for n, v in fields(raw) if n in names and v}


# k8s.io/api/authorization/v1 generated.proto: ResourceAttributes, NonResourceAttributes
_RESOURCE_ATTRIBUTES = {
    1: "namespace",
    2: "verb",
    3: "group",
    4: "version",
    5: "resource",
    6: "subresource",
    7: "name",
}
_NON_RESOURCE_ATTRIBUTES = {1: "path", 2: "verb"}


def _self_subject_access_review(raw: bytes) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    for number, value in fields(raw):
        if number == 2:
            for field, attrs in fields(value):
                if field == 1:
                    spec["resourceAttributes"] = _strings(attrs, _RESOURCE_ATTRIBUTES)
                elif field == 2:
                    spec["nonResourceAttributes"] = _strings(attrs, _NON_RESOURCE_ATTRIBUTES)
    return {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": spec,
    }


def _self_subject_rules_review(raw: bytes) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    for number, value in fields(raw):
        if number == 2:
            spec = _strings(value, {1: "namespace"})
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": spec}


DECODERS = {
    ("v1", "Secret"): _secret,
    ("v1", "ConfigMap"): _configmap,
    ("v1", "DeleteOptions"): _delete_options,
    ("meta.k8s.io/v1", "DeleteOptions"): _delete_options,
    # kubectl auth can-i
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): _self_subject_access_review,
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): _self_subject_rules_review,
    # kubectl auth whoami: nothing in it but metadata
    ("authentication.k8s.io/v1", "SelfSubjectReview"): lambda _raw: {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "SelfSubjectReview",
    },
}


def decode(body: bytes) -> dict[str, Any]:
    """A JSON-shaped object from a protobuf request body, or 415 if it is another type."""
    if not body.startswith(MAGIC):
        raise unsupported()
    api_version = kind = ""
    raw = b""
    for number, value in fields(body[len(MAGIC) :]):
        if number == 1:
            for n, v in fields(value):
                if n == 1:
                    api_version = v.decode()
                elif n == 2:
                    kind = v.decode()
        elif number == 2:
            raw = value
    decoder = DECODERS.get((api_version, kind))
    if decoder is None:
        raise unsupported()
    return decoder(raw)


def unsupported() -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json, application/yaml",
    )
