"""Discovery documents: /version, /api, /api/v1, /apis and /apis/<group>/<version>."""

from __future__ import annotations

import platform
from typing import Any

from kubesim.model.resources import Registry


def version_info(version: str) -> dict[str, Any]:
    major, minor = version.lstrip("v").split(".")[:2]
    # key order of apimachinery's version.Info, which /version prints as is
    return {
        "major": major,
        "minor": minor,
        "emulationMajor": major,
        "emulationMinor": minor,
        "gitVersion": f"v{major}.{minor}.0-kubesim",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": f"linux/{'arm64' if platform.machine() == 'aarch64' else 'amd64'}",
    }


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _group_entry(group: str, versions: list[str]) -> dict[str, Any]:
    gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}


def api_group_list(registry: Registry) -> dict[str, Any]:
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group_entry(g, vs) for g, vs in registry.groups().items()],
    }


def api_group(registry: Registry, group: str) -> dict[str, Any] | None:
    versions = registry.groups().get(group)
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(group, versions)}


def resource_list(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    resources = []
    for t in registry.types:
        if t.group != group or t.version != version:
            continue
        entry: dict[str, Any] = {
            "name": t.plural,
            "singularName": t.singular,
            "namespaced": t.namespaced,
            "kind": t.kind,
            "verbs": list(t.verbs),
        }
        if t.short_names:
            entry["shortNames"] = list(t.short_names)
        if t.categories:
            entry["categories"] = list(t.categories)
        resources.append(entry)
        for sub, verbs in t.subresources.items():
            kind = {
                "binding": "Binding",
                "eviction": "Eviction",
                "scale": "Scale",
                "token": "TokenRequest",
                "log": "Pod",
            }.get(sub, t.kind)
            sub_entry: dict[str, Any] = {
                "name": f"{t.plural}/{sub}",
                "singularName": "",
                "namespaced": t.namespaced,
                "kind": kind,
                "verbs": list(verbs),
            }
            if sub == "eviction":
                sub_entry.update(group="policy", version="v1")
            if sub == "scale":
                sub_entry.update(group="autoscaling", version="v1")
            resources.append(sub_entry)
    if not resources:
        return None
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }
