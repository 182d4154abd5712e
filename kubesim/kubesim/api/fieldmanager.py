"""Field ownership for server-side apply: `metadata.managedFields` (FieldsV1).

The simplest faithful model of structured-merge-diff: a field set is the set of
paths an object (or an applied configuration) sets, where a path steps into a
struct field (`f:name`), an associative-list item by its keys (`k:{"name":"c"}`)
or a set member (`v:"x"`); atomic maps and lists are one leaf. Each manager owns
a field set. An apply by M

- conflicts (409 `Apply failed with N conflict(s)`) where it gives a leaf another
  manager owns a different value, unless forced, which moves the ownership to M;
- sets its fields (merged as `kubesim.api.patches` applies), then removes the fields M
  owned before and no longer applies, unless another manager owns them.

Other writes (PUT, non-apply PATCH) record an `Update` manager owning what it
changed. Only objects that have been applied carry managedFields here (the real
server records every writer): plain creates, such as the spawner's pods, stay lean.
"""

from __future__ import annotations

import contextvars
import json
from typing import Any

from kubesim.api import schemas
from kubesim.api.store import now_rfc3339
from kubesim.model.errors import ApiError
from kubesim.model.jsonutil import clone

# Set by the HTTP layer: ?fieldManager= (or the User-Agent's program name) and ?force=.
FIELD_MANAGER: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "field_manager", default=None
)
FORCE: contextvars.ContextVar[bool] = contextvars.ContextVar("apply_force", default=False)

Path = tuple[tuple[str, str], ...]
_MISSING = object()
# ObjectMeta fields apply manages; the rest are the server's (name and uid identify).
_META_FIELDS = ("labels", "annotations", "finalizers", "ownerReferences")


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


# ----- field sets ------------------------------------------------------------------------


def field_set(obj: dict, schema: dict | None, version: str) -> set[Path]:
    """The paths an object sets, without the server's own fields and status."""
    top = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "status", "metadata")}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k in _META_FIELDS}
    if meta:
        top["metadata"] = meta
    out: set[Path] = set()
    _walk(top, schema, version, (), out)
    return out


def _resolve(schema: dict | None, version: str) -> dict:
    return (schemas.resolve(version, schema) if schema else None) or {}


def _walk(value: Any, schema: dict | None, version: str, prefix: Path, out: set) -> None:
    resolved = _resolve(schema, version)
    if prefix:
        out.add(prefix)
    if isinstance(value, dict) and value and resolved.get("x-kubernetes-map-type") != "atomic":
        props = resolved.get("properties") or {}
        additional = resolved.get("additionalProperties")
        for key, child in value.items():
            sub = props.get(key) or (additional if isinstance(additional, dict) else None)
            _walk(child, sub, version, (*prefix, ("f", key)), out)
    elif isinstance(value, list) and value:
        list_type = resolved.get("x-kubernetes-list-type")
        if list_type == "set":
            for item in value:
                out.add((*prefix, ("v", _compact(item))))
        elif list_type == "map":
            keys = resolved.get("x-kubernetes-list-map-keys") or []
            for item in value:
                if isinstance(item, dict):
                    key = _compact({k: item[k] for k in keys if k in item})
                    _walk(item, resolved.get("items"), version, (*prefix, ("k", key)), out)


def leaves(fields: set[Path]) -> set[Path]:
    parents = {p[:i] for p in fields for i in range(1, len(p))}
    return fields - parents


def get(obj: Any, path: Path) -> Any:
    node = obj
    for kind, key in path:
        if kind == "f":
            if not isinstance(node, dict) or key not in node:
                return _MISSING
            node = node[key]
        elif kind == "k":
            wanted = json.loads(key)
            node = next(
                (
                    i
                    for i in (node if isinstance(node, list) else [])
                    if isinstance(i, dict) and all(i.get(k) == v for k, v in wanted.items())
                ),
                _MISSING,
            )
            if node is _MISSING:
                return _MISSING
        else:  # a set member
            member = json.loads(key)
            return member if isinstance(node, list) and member in node else _MISSING
    return node


def remove(obj: Any, path: Path) -> None:
    parent = get(obj, path[:-1]) if len(path) > 1 else obj
    kind, key = path[-1]
    if kind == "f" and isinstance(parent, dict):
        parent.pop(key, None)
    elif isinstance(parent, list):
        target = get(obj, path)
        if target is not _MISSING:
            parent[:] = [i for i in parent if i is not target and i != target]


# ----- FieldsV1 --------------------------------------------------------------------------


def encode(fields: set[Path]) -> dict:
    root: dict = {}
    for path in sorted(fields):
        node = root
        for kind, key in path:
            node = node.setdefault(f"{kind}:{key}", {})
    _mark_members(root, fields, ())
    return root


def _mark_members(node: dict, fields: set[Path], prefix: Path) -> None:
    for name, child in node.items():
        if name == ".":
            continue
        kind, key = name.split(":", 1)
        path = (*prefix, (kind, key))
        if child and path in fields and kind != "f":
            child["."] = {}
        _mark_members(child, fields, path)
    # a struct field with children is implied by them; maps and items say "." themselves


def decode(fields_v1: dict, prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for name, child in (fields_v1 or {}).items():
        if name == ".":
            continue
        kind, key = name.split(":", 1)
        path = (*prefix, (kind, key))
        out.add(path)
        out |= decode(child, path)
    return out


# ----- managers --------------------------------------------------------------------------


def _entries(obj: dict) -> list[dict]:
    return list((obj.get("metadata") or {}).get("managedFields") or [])


def _entry(manager: str, operation: str, api_version: str, fields: set[Path]) -> dict:
    return {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": now_rfc3339(),
        "fieldsType": "FieldsV1",
        "fieldsV1": encode(fields),
    }


def _print_manager(entry: dict) -> str:
    name = json.dumps(entry["manager"])
    if entry.get("operation") == "Update":
        return f"{name} using {entry.get('apiVersion')}"
    return name


def _path_text(path: Path) -> str:
    out = ""
    for kind, key in path:
        if kind == "f":
            out += "." + key
        elif kind == "k":
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(key).items()) + "]"
        else:
            out += f"[={key}]"
    return out


def conflict_error(conflicts: list[tuple[dict, Path]]) -> ApiError:
    """merge.Conflicts as kube-apiserver reports them (409, reason Conflict)."""
    causes = [
        {
            "reason": "FieldManagerConflict",
            "message": f"conflict with {_print_manager(e)}",
            "field": _path_text(p),
        }
        for e, p in conflicts
    ]
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {_print_manager(entry)}: {_path_text(path)}"
    else:
        by_manager: dict[str, list[Path]] = {}
        for entry, path in conflicts:
            by_manager.setdefault(_print_manager(entry), []).append(path)
        lines = []
        for manager in sorted(by_manager):
            lines.append(f"conflicts with {manager}")
            lines += [f"- {_path_text(p)}" for p in by_manager[manager]]
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", message, {"causes": causes})


def apply(
    rt, current: dict, applied: dict, merged: dict, manager: str, force: bool, version: str
) -> dict:
    """The object after manager's apply: `merged` (current + applied) with ownership kept."""
    schema = schemas.kind_schema(version, rt.kind, rt.api_version)
    mine = field_set(applied, schema, version)
    entries = _entries(current)
    others = [e for e in entries if not (e["manager"] == manager and e["operation"] == "Apply")]
    before = next((decode(e.get("fieldsV1")) for e in entries if e not in others), set())
    conflicts = []
    for entry in others:
        owned = decode(entry.get("fieldsV1"))
        for path in sorted(leaves(mine) & owned):
            if get(current, path) != get(applied, path):
                conflicts.append((entry, path))
    if conflicts and not force:
        raise conflict_error(conflicts)
    taken = {p for _, p in conflicts}
    kept_others = []
    for entry in others:
        owned = decode(entry.get("fieldsV1")) - taken
        if owned:
            kept_others.append({**entry, "fieldsV1": encode(owned)})
    still_owned = mine.union(*(decode(e["fieldsV1"]) for e in kept_others))
    # a field stays while anyone owns it or anything inside it
    protected = still_owned | {p[:i] for p in still_owned for i in range(1, len(p))}
    result = clone(merged)
    stale = before - protected
    for path in stale:
        if not any(path[:i] in stale for i in range(1, len(path))):  # outermost ones only
            remove(result, path)
    result.setdefault("metadata", {})["managedFields"] = [
        *kept_others,
        _entry(manager, "Apply", rt.api_version, mine),
    ]
    return result


def created_by_apply(rt, obj: dict, manager: str, version: str) -> None:
    schema = schemas.kind_schema(version, rt.kind, rt.api_version)
    fields = field_set(obj, schema, version)
    obj.setdefault("metadata", {})["managedFields"] = [
        _entry(manager, "Apply", rt.api_version, fields)
    ]


def record_update(rt, old: dict, new: dict, manager: str, version: str) -> None:
    """An Update manager owns what its write changed; others lose it."""
    entries = _entries(old)
    meta = new.setdefault("metadata", {})
    if not entries:
        meta.pop("managedFields", None)
        return
    schema = schemas.kind_schema(version, rt.kind, rt.api_version)
    old_fields, new_fields = field_set(old, schema, version), field_set(new, schema, version)
    changed = {p for p in leaves(new_fields) if get(new, p) != get(old, p)}
    changed |= {p[:i] for p in changed for i in range(1, len(p))} & (new_fields - old_fields)
    gone = old_fields - new_fields
    out = []
    mine = set(changed)
    for entry in entries:
        owned = decode(entry.get("fieldsV1"))
        if entry["manager"] == manager and entry["operation"] == "Update":
            mine |= owned - gone
            continue
        owned -= changed | gone
        if owned:
            out.append({**entry, "fieldsV1": encode(owned)})
    if mine:
        out.append(_entry(manager, "Update", rt.api_version, mine))
    meta["managedFields"] = out
