"""A minimal /openapi/v3: enough for kubectl to see that server-side field
validation is supported (every PATCH takes ?fieldValidation=), so
`kubectl create -f` works with its default --validate=strict.

The full schemas are not served: validation happens on the server.
"""

from __future__ import annotations

import hashlib
from typing import Any

from kubesim.model.resources import Registry

_PARAMS = [
    {"name": name, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}
    for name in ("dryRun", "fieldManager", "fieldValidation", "force")
]


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def v3_root(registry: Registry) -> dict[str, Any]:
    gvs = {(t.group, t.version) for t in registry.types}
    paths = {}
    for group, version in sorted(gvs):
        path = _gv_path(group, version)
        digest = hashlib.sha256(path.encode()).hexdigest()[:32].upper()
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": paths}


def v3_group_version(registry: Registry, path: str) -> dict[str, Any] | None:
    paths: dict[str, Any] = {}
    for t in registry.types:
        if _gv_path(t.group, t.version) != path or t.plural == "bindings":
            continue
        prefix = f"/{path}/namespaces/{{namespace}}" if t.namespaced else f"/{path}"
        gvk = {"group": t.group, "version": t.version, "kind": t.kind}
        paths[f"{prefix}/{t.plural}/{{name}}"] = {
            "patch": {
                "operationId": f"patch{t.kind}",
                "parameters": _PARAMS,
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": gvk,
            },
            "put": {
                "operationId": f"replace{t.kind}",
                "parameters": _PARAMS,
                "x-kubernetes-action": "put",
                "x-kubernetes-group-version-kind": gvk,
            },
        }
        paths[f"{prefix}/{t.plural}"] = {
            "post": {
                "operationId": f"create{t.kind}",
                "parameters": _PARAMS,
                "x-kubernetes-action": "post",
                "x-kubernetes-group-version-kind": gvk,
            }
        }
    if not paths:
        return None
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "kubesim"},
        "paths": paths,
        "components": {"schemas": {}},
    }
