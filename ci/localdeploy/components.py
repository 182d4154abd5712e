"""Facts of the rendered chart ci/dev needs: the resource names and the
values as the hub sees them (pure functions over `helm template`'s objects)."""

import base64

import yaml

from .render import find


class ChartError(ValueError):
    pass


def decode_secret(secret: dict) -> dict[str, str]:
    data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    data.update(secret.get("stringData") or {})
    return data


def resource_names(objects: list[dict]) -> dict[str, str]:
    """Short name -> rendered name, from the hub ConfigMap's
    `resource-names.yaml` (see docs/chart-hub-interface.md), or for z2jh's
    chart, which has none, from its `component` labels."""
    for obj in objects:
        if obj["kind"] == "ConfigMap" and "resource-names.yaml" in (obj.get("data") or {}):
            return yaml.safe_load(obj["data"]["resource-names.yaml"]) or {}
    names = z2jh_names(objects)
    if not {"hub", "proxy", "proxy-public"} <= set(names):
        raise ChartError(
            "no rendered ConfigMap has the key resource-names.yaml, and no Deployments hub and "
            "proxy and Service proxy-public carry z2jh's `component` labels; the chart must "
            "provide resource-names.yaml (docs/chart-hub-interface.md)"
        )
    return names


def z2jh_names(objects: list[dict]) -> dict[str, str]:
    """The names ci/dev needs of a z2jh chart: each Deployment's and
    Service's by its `component` label; the user-scheduler's scheduler name
    from its KubeSchedulerConfiguration (z2jh gives it to users' pods)."""
    names: dict[str, str] = {}
    for obj in objects:
        component = (obj["metadata"].get("labels") or {}).get("component")
        if component and obj["kind"] in ("Deployment", "Service", "StatefulSet"):
            names.setdefault(component, obj["metadata"]["name"])
        if obj["kind"] == "ConfigMap" and component == "user-scheduler":
            config = yaml.safe_load((obj.get("data") or {}).get("config.yaml") or "{}") or {}
            profiles = config.get("profiles") or [{}]
            names["user-scheduler"] = profiles[0].get("schedulerName", "")
    return names


def rendered_values(objects: list[dict], names: dict[str, str]) -> dict:
    """The chart's values as the hub sees them (hub Secret, values.yaml)."""
    secret = find(objects, "Secret", names["hub"])
    if secret is None or "values.yaml" not in decode_secret(secret):
        raise ChartError(f"the rendered Secret {names['hub']!r} has no key values.yaml")
    return yaml.safe_load(decode_secret(secret)["values.yaml"]) or {}


def user_scheduler_name(values: dict, names: dict[str, str]) -> str | None:
    """The scheduler name users' pods ask for when the chart's user-scheduler
    is on; kubesim's scheduler serves it (kube-scheduler cannot run here)."""
    enabled = values.get("scheduling", {}).get("userScheduler", {}).get("enabled")
    return names.get("user-scheduler") if enabled else None
