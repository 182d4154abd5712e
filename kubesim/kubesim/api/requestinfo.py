"""A request's authorization attributes from its method, path and query, as
k8s.io/apiserver's RequestInfoFactory reads them (also for resources kubesim
does not serve: a real server authorizes before it answers 404)."""

from __future__ import annotations

from kubesim.api.authz_attributes import Attributes
from kubesim.model.selectors import single_name

NAMESPACE_SUBRESOURCES = ("status", "finalize")
METHOD_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true")


def request_attributes(method: str, path: str, query) -> Attributes:
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        rest = []
    if not rest:  # discovery and everything outside /api and /apis
        return Attributes(method.lower(), resource_request=False, path=path)
    verb = ""
    if rest[0] == "watch":  # the deprecated /watch/ prefix
        verb, rest = "watch", rest[1:]
    namespace = ""
    if len(rest) >= 2 and rest[0] == "namespaces":
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if not verb:
        if method == "GET":
            verb = "watch" if _truthy(query.get("watch")) else ("get" if name else "list")
        elif method == "DELETE":
            verb = "delete" if name else "deletecollection"
        else:
            verb = METHOD_VERBS.get(method, method.lower())
    if not name and verb in ("list", "watch"):
        # a list or watch of one object by name is authorized as that name
        name = single_name(query.get("fieldSelector")) or ""
    return Attributes(
        verb,
        api_group=group,
        api_version=version,
        resource=resource,
        subresource=subresource,
        namespace=namespace,
        name=name,
    )
