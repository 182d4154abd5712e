"""Create the rendered objects in kubesim, in install order."""

import copy
from dataclasses import dataclass, field

from .kubeapi import ApiError, KubeClient
from .order import describe, install_order, split_hooks

# Kinds whose spec cannot change after creation, or whose data must be
# kept: an existing one (from the state folder) is left as it is.
KEEP_EXISTING = {"PersistentVolumeClaim", "PersistentVolume", "Job"}


@dataclass
class ApplyReport:
    created: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "what: why"


def namespace_object(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def with_namespace(obj: dict, namespace: str, namespaced: bool) -> dict:
    """helm template leaves namespace out when a template does; helm install
    would put the object in the release namespace."""
    obj = copy.deepcopy(obj)
    if namespaced:
        obj["metadata"].setdefault("namespace", namespace)
    return obj


def _replace(client: KubeClient, obj: dict) -> None:
    current = client.get(
        obj["apiVersion"], obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace")
    )
    obj["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    if obj["kind"] == "Service":
        # the cluster IP is allocated once and cannot change
        for key in ("clusterIP", "clusterIPs"):
            if key in current.get("spec", {}):
                obj["spec"][key] = current["spec"][key]
    client.replace(obj)


def apply_all(client: KubeClient, objects: list[dict], namespace: str) -> ApplyReport:
    report = ApplyReport()
    regular, hooks = split_hooks(objects)
    for hook in hooks:
        report.skipped.append(f"{describe(hook)}: a helm hook, which only `helm install` runs")
    ordered = [namespace_object(namespace)] + install_order(regular)
    for rendered in ordered:
        resource = client.resource_for(rendered)
        if resource is None:
            report.skipped.append(
                f"{describe(rendered)}: kubesim does not serve {rendered['kind']} "
                f"({rendered['apiVersion']})"
            )
            continue
        obj = with_namespace(rendered, namespace, resource.namespaced)
        try:
            client.create(obj)
            report.created.append(describe(obj))
        except ApiError as err:
            if err.status != 409:
                raise ApiError(err.status, err.body, f"creating {describe(obj)}") from None
            if obj["kind"] in KEEP_EXISTING or obj["kind"] == "Namespace":
                report.kept.append(describe(obj))
            else:
                _replace(client, obj)
                report.replaced.append(describe(obj))
    return report
