"""The two chart pods ci/dev runs itself: the hub and the proxy. Pure
functions that find them in the rendered objects and adapt what cannot be
the same on one machine (where the proxy listens)."""

import yaml

from .localpod import LocalPod
from .order import find
from .podenv import configmap_data, decode_secret


class ChartError(ValueError):
    pass


def resource_names(objects: list[dict]) -> dict[str, str]:
    """Short name -> rendered name, from the hub ConfigMap's
    `resource-names.yaml` (see docs/chart-hub-interface.md)."""
    for obj in objects:
        if obj["kind"] == "ConfigMap" and "resource-names.yaml" in (obj.get("data") or {}):
            return yaml.safe_load(obj["data"]["resource-names.yaml"]) or {}
    raise ChartError(
        "no rendered ConfigMap has the key resource-names.yaml; the chart must provide it "
        "(docs/chart-hub-interface.md)"
    )


def rendered_values(objects: list[dict], names: dict[str, str]) -> dict:
    """The chart's values as the hub sees them (hub Secret, values.yaml)."""
    secret = find(objects, "Secret", names["hub"])
    if secret is None or "values.yaml" not in decode_secret(secret):
        raise ChartError(f"the rendered Secret {names['hub']!r} has no key values.yaml")
    return yaml.safe_load(decode_secret(secret)["values.yaml"]) or {}


def deployment(objects: list[dict], names: dict[str, str], short: str) -> dict:
    obj = find(objects, "Deployment", names.get(short, short))
    if obj is None:
        raise ChartError(f"the chart rendered no Deployment {names.get(short, short)!r} ({short})")
    return obj


def hub_pod(objects, names, address: str) -> LocalPod:
    return LocalPod(deployment(objects, names, "hub"), address, "hub")


def proxy_pod(objects, names, address: str) -> LocalPod:
    return LocalPod(deployment(objects, names, "proxy"), address, "chp")


def set_flag(argv: list[str], flag: str, value: str) -> list[str]:
    """argv with `--flag=value` (replacing `--flag=...` or `--flag ...`)."""
    out, i, found = [], 0, False
    while i < len(argv):
        part = argv[i]
        if part == flag and i + 1 < len(argv):
            out.append(f"{flag}={value}")
            found, i = True, i + 2
            continue
        if part.startswith(flag + "="):
            out.append(f"{flag}={value}")
            found = True
        else:
            out.append(part)
        i += 1
    if not found:
        out.append(f"{flag}={value}")
    return out


def flag_value(argv: list[str], flag: str) -> str | None:
    for i, part in enumerate(argv):
        if part.startswith(flag + "="):
            return part.split("=", 1)[1]
        if part == flag and i + 1 < len(argv):
            return argv[i + 1]
    return None


def publish_proxy(
    argv: list[str], public_host: str, public_port: int, pod_address: str
) -> list[str]:
    """configurable-http-proxy's rendered args listen on every interface
    (`--ip=`, `--api-ip=`), as a pod does on its own network. Here the
    public side is published on `public_host:public_port` (what the
    proxy-public LoadBalancer would be) and the API stays on the pod's own
    loopback address; every other flag is kept as rendered."""
    argv = set_flag(argv, "--ip", public_host)
    argv = set_flag(argv, "--port", str(public_port))
    return set_flag(argv, "--api-ip", pod_address)


def configmaps_and_secrets(configmaps: list[dict], secrets: list[dict]):
    return (
        {c["metadata"]["name"]: configmap_data(c) for c in configmaps},
        {s["metadata"]["name"]: decode_secret(s) for s in secrets},
    )
