"""PATCH bodies: JSON merge patch, strategic merge patch and JSON patch.

Strategic merge takes its list-merge keys and strategies from the OpenAPI
schema of the served version (`x-kubernetes-patch-merge-key`,
`x-kubernetes-patch-strategy`), so pods' containers/env/volumes merge by
name and volumeMounts by mountPath, exactly as the real server does.
"""

from __future__ import annotations

import logging
from typing import Any

from kubesim.api import schemas
from kubesim.model.errors import ApiError, bad_request
from kubesim.model.jsonutil import clone

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/json-patch+json": "json",
    "application/apply-patch+yaml": "apply",
}


def apply_patch(rt, original: dict, patch: Any, patch_type: str, version: str = "1.33") -> Any:
    patch_type = CONTENT_TYPES.get(patch_type, patch_type)
    if patch_type == "merge":
        if not isinstance(patch, dict):
            raise bad_request("a JSON merge patch must be an object")
        return merge_patch(original, patch)
    if patch_type == "strategic":
        if not isinstance(patch, dict):
            raise bad_request("a strategic merge patch must be an object")
        schema = schemas.kind_schema(version, rt.kind, rt.api_version)
        return strategic_merge(original, patch, schema, version)
    if patch_type == "json":
        if not isinstance(patch, list):
            raise bad_request("a JSON patch must be a list of operations")
        return json_patch(original, patch)
    if patch_type == "apply":
        # server-side apply without field ownership: the applied config merges into the
        # object, except that what the schema marks atomic (a LabelSelector, atomic lists)
        # is replaced whole, as structured-merge-diff does; associative lists merge by
        # their x-kubernetes-list-map-keys.
        if not isinstance(patch, dict):
            raise bad_request("an apply patch must be an object")
        return strategic_merge(
            original,
            patch,
            schemas.kind_schema(version, rt.kind, rt.api_version),
            version,
            apply=True,
        )
    raise ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: "
        f"{', '.join(CONTENT_TYPES)}",
    )


# ----- RFC 7386 -------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return clone(patch)
    result = clone(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# ----- strategic merge patch --------------------------------------------------------


def _props(schema: dict | None, version: str) -> tuple[dict, dict | None]:
    schema = schemas.resolve(version, schema) if schema else None
    if not schema:
        return {}, None
    return schema.get("properties") or {}, schema.get("additionalProperties") or None


def strategic_merge(
    original: Any, patch: Any, schema: dict | None, version: str, apply: bool = False
) -> Any:
    if not isinstance(patch, dict):
        return clone(patch)
    patch = dict(patch)
    directive = patch.pop("$patch", None)
    if directive == "replace":
        return _strip_directives(patch)
    if directive == "delete":
        return None
    retain = patch.pop("$retainKeys", None)
    result = clone(original) if isinstance(original, dict) else {}
    props, additional = _props(schema, version)
    for key in [k for k in patch if k.startswith("$setElementOrder/")]:
        patch.pop(key)
    for key in [k for k in patch if k.startswith("$deleteFromPrimitiveList/")]:
        field = key.split("/", 1)[1]
        drop = patch.pop(key) or []
        if isinstance(result.get(field), list):
            result[field] = [v for v in result[field] if v not in drop]
    for key, value in patch.items():
        field_schema = props.get(key) or additional
        if value is None:
            result.pop(key, None)
            continue
        resolved = schemas.resolve(version, field_schema) if field_schema else None
        if apply and (resolved or {}).get("x-kubernetes-map-type") == "atomic":
            result[key] = _strip_directives(value)
        elif isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, resolved, version, apply)
        elif isinstance(value, dict):
            merged = strategic_merge(result.get(key), value, field_schema, version, apply)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = value
    if retain is not None:
        keep = set(retain) | set(patch)
        result = {k: v for k, v in result.items() if k in keep}
    return result


def _merge_list(
    original: Any, patch: list, schema: dict | None, version: str, apply: bool = False
) -> list:
    if apply:
        return _apply_list(original, patch, schema, version)
    strategy = (schema or {}).get("x-kubernetes-patch-strategy", "")
    merge_key = (schema or {}).get("x-kubernetes-patch-merge-key")
    if "merge" not in strategy.split(",") or not isinstance(original, list):
        if any(isinstance(i, dict) and "$patch" in i for i in patch):
            return [_strip_directives(i) for i in patch if not _is_directive(i)]
        return _strip_directives(patch)
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [_strip_directives(i) for i in patch if not _is_directive(i)]
    if not merge_key:  # a merging list of primitives: union, keeping order
        result = clone(original)
        for item in patch:
            if item not in result:
                result.append(clone(item))
        return result
    item_schema = (schema or {}).get("items")
    result = clone(original)
    for item in patch:
        if not isinstance(item, dict):
            raise bad_request(
                f"strategic merge patch: list items must be objects keyed by {merge_key}"
            )
        key_value = item.get(merge_key)
        index = next(
            (
                i
                for i, o in enumerate(result)
                if isinstance(o, dict) and o.get(merge_key) == key_value
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
            continue
        if index is None:
            result.append(_strip_directives(item))
        else:
            result[index] = strategic_merge(result[index], item, item_schema, version)
    return result


def _apply_list(original: Any, patch: list, schema: dict | None, version: str) -> list:
    """An applied list: atomic ones replace, sets unite, maps merge items by their keys."""
    list_type = (schema or {}).get("x-kubernetes-list-type", "atomic")
    if list_type == "atomic" or not isinstance(original, list):
        return _strip_directives(patch)
    if list_type == "set":
        return clone(original) + [clone(v) for v in patch if v not in original]
    keys = (schema or {}).get("x-kubernetes-list-map-keys") or []
    item_schema = (schema or {}).get("items")
    result = clone(original)

    def same(stored: Any, item: Any) -> bool:
        # a key the applied item leaves out is the server's default (ports' protocol)
        if not (isinstance(stored, dict) and isinstance(item, dict)):
            return stored == item
        present = [k for k in keys if k in item]
        return bool(present) and all(stored.get(k) == item[k] for k in present)

    for item in patch:
        index = next((i for i, o in enumerate(result) if same(o, item)), None)
        if index is None:
            result.append(_strip_directives(item))
        else:
            result[index] = strategic_merge(result[index], item, item_schema, version, apply=True)
    return result


def _is_directive(item: Any) -> bool:
    return isinstance(item, dict) and set(item) == {"$patch"}


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _strip_directives(v)
            for k, v in value.items()
            if not k.startswith("$") and v is not None
        }
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return clone(value)


# ----- RFC 6902 -------------------------------------------------------------------


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise _patch_error(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _patch_error(message: str) -> ApiError:
    # kube-apiserver answers a JSON patch that does not apply with a generic 422 and
    # drops the reason (NewGenericServerResponse); kubesim logs it for debugging.
    log.info("JSON patch does not apply: %s", message)
    return ApiError(
        422, "Invalid", "the server rejected our request due to an error in our request", {}
    )


def _parent(doc: Any, parts: list[str]) -> Any:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, list):
            try:
                node = node[int(part)]
            except (ValueError, IndexError):
                raise _patch_error(f"path element {part!r} not found") from None
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise _patch_error(f"doc is missing path: {part!r}")
    return node


def _get(doc: Any, parts: list[str]) -> Any:
    if not parts:
        return doc
    parent, last = _parent(doc, parts), parts[-1]
    try:
        return parent[int(last)] if isinstance(parent, list) else parent[last]
    except (KeyError, ValueError, IndexError, TypeError):
        raise _patch_error(f"doc is missing path: {'/'.join(parts)}") from None


def json_patch(original: Any, operations: list) -> Any:
    doc = clone(original)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise bad_request(f"invalid JSON patch operation: {op!r}")
        kind, parts = op["op"], _pointer(op["path"])
        if kind == "test":
            if _get(doc, parts) != op.get("value"):
                raise _patch_error(f"testing value {op['path']} failed")
            continue
        if kind in ("move", "copy"):
            value = clone(_get(doc, _pointer(op["from"])))
            if kind == "move":
                doc = _remove(doc, _pointer(op["from"]))
            doc = _add(doc, parts, value)
        elif kind == "add":
            doc = _add(doc, parts, clone(op.get("value")))
        elif kind == "remove":
            doc = _remove(doc, parts)
        elif kind == "replace":
            _get(doc, parts)  # must exist
            doc = _remove(doc, parts)
            doc = _add(doc, parts, clone(op.get("value")))
        else:
            raise bad_request(f"unknown JSON patch operation {kind!r}")
    return doc


def _add(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent, last = _parent(doc, parts), parts[-1]
    if isinstance(parent, list):
        if last == "-":
            parent.append(value)
        else:
            try:
                index = int(last)
            except ValueError:
                raise _patch_error(f"invalid array index {last!r}") from None
            if not 0 <= index <= len(parent):
                raise _patch_error(f"array index {index} out of bounds")
            parent.insert(index, value)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise _patch_error(f"cannot add to {'/'.join(parts)}")
    return doc


def _remove(doc: Any, parts: list[str]) -> Any:
    if not parts:
        return None
    parent, last = _parent(doc, parts), parts[-1]
    try:
        if isinstance(parent, list):
            parent.pop(int(last))
        else:
            del parent[last]
    except (KeyError, ValueError, IndexError, TypeError):
        raise _patch_error(f"unable to remove nonexistent key: {last}") from None
    return doc
