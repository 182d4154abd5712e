"""A container's environment, built the way the kubelet builds it.

Order (later wins): service link variables, `envFrom`, then `env` in order.
Each `env[].value` may use `$(NAME)` for variables defined before it;
`$$` escapes a `$`; references to undefined names stay as written. Command and
args are expanded against the finished environment.

Missing secrets/configmaps/keys raise `EnvError`, which the kubelet reports as
the container's `CreateContainerConfigError`, as the real one does.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Mapping

from kubesim.model.quantities import parse_quantity


class EnvError(Exception):
    """The environment cannot be built; the message is what the kubelet reports."""


def expand(text: str, variables: Mapping[str, str]) -> str:
    """Kubernetes `$(VAR)` expansion."""
    out = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char != "$" or i + 1 >= n:
            out.append(char)
            i += 1
            continue
        following = text[i + 1]
        if following == "$":
            out.append("$")
            i += 2
        elif following == "(":
            close = text.find(")", i + 2)
            if close == -1:
                out.append("$(")
                i += 2
            else:
                name = text[i + 2 : close]
                out.append(variables[name] if name in variables else f"$({name})")
                i = close + 1
        else:
            out.append("$" + following)
            i += 2
    return "".join(out)


def service_link_env(services: list[Mapping]) -> dict[str, str]:
    """{NAME}_SERVICE_HOST/_PORT and docker-link style variables for each service."""
    env: dict[str, str] = {}
    for service in sorted(services, key=lambda s: s["metadata"]["name"]):
        spec = service.get("spec") or {}
        ip = spec.get("clusterIP")
        ports = spec.get("ports") or []
        if not ip or ip == "None" or not ports:
            continue
        prefix = service["metadata"]["name"].upper().replace("-", "_")
        env[f"{prefix}_SERVICE_HOST"] = ip
        env[f"{prefix}_SERVICE_PORT"] = str(ports[0]["port"])
        for port in ports:
            if port.get("name"):
                env[f"{prefix}_SERVICE_PORT_{port['name'].upper().replace('-', '_')}"] = str(
                    port["port"]
                )
        first = ports[0]
        protocol = (first.get("protocol") or "TCP").lower()
        env[f"{prefix}_PORT"] = f"{protocol}://{ip}:{first['port']}"
        for port in ports:
            protocol = port.get("protocol") or "TCP"
            base = f"{prefix}_PORT_{port['port']}_{protocol.upper()}"
            env[base] = f"{protocol.lower()}://{ip}:{port['port']}"
            env[f"{base}_PROTO"] = protocol.lower()
            env[f"{base}_PORT"] = str(port["port"])
            env[f"{base}_ADDR"] = ip
    return env


def _subscripted(path: str, prefix: str) -> str | None:
    """metadata.labels['key'] -> key"""
    if path.startswith(prefix + "['") and path.endswith("']"):
        return path[len(prefix) + 2 : -2]
    return None


def field_ref_value(pod: Mapping, path: str) -> str:
    metadata = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    simple = {
        "metadata.name": metadata.get("name"),
        "metadata.namespace": metadata.get("namespace"),
        "metadata.uid": metadata.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName") or "default",
        "status.hostIP": status.get("hostIP"),
        "status.podIP": status.get("podIP"),
        "status.hostIPs": ",".join(i["ip"] for i in status.get("hostIPs") or []),
        "status.podIPs": ",".join(i["ip"] for i in status.get("podIPs") or []),
    }
    if path in simple:
        return simple[path] or ""
    if path in ("metadata.labels", "metadata.annotations"):
        items = metadata.get(path.split(".")[1]) or {}
        return "\n".join(f'{k}="{v}"' for k, v in sorted(items.items()))
    for kind in ("labels", "annotations"):
        key = _subscripted(path, f"metadata.{kind}")
        if key is not None:
            return (metadata.get(kind) or {}).get(key, "")
    raise EnvError(f"unsupported fieldRef fieldPath {path!r}")


def resource_field_value(
    pod: Mapping, container_name: str, ref: Mapping, node_allocatable: Mapping[str, str]
) -> str:
    """limits.cpu / requests.memory ... divided by `divisor`, rounded up like the kubelet."""
    target = ref.get("containerName") or container_name
    containers = (pod.get("spec") or {}).get("containers") or []
    container = next((c for c in containers if c.get("name") == target), None)
    if container is None:
        raise EnvError(f"resourceFieldRef: container {target!r} not found in pod")
    kind, _, resource = (ref.get("resource") or "").partition(".")
    if kind not in ("limits", "requests") or not resource:
        raise EnvError(f"unsupported resourceFieldRef resource {ref.get('resource')!r}")
    resources = container.get("resources") or {}
    value = (resources.get(kind) or {}).get(resource)
    if value is None and kind == "requests":
        value = (resources.get("limits") or {}).get(resource)
    if value is None:
        # An unset limit means "whatever the node has"; an unset request means 0.
        value = node_allocatable.get(resource, "0") if kind == "limits" else "0"
    divisor = parse_quantity(ref.get("divisor") or "1")
    if divisor == 0:
        raise EnvError("resourceFieldRef divisor must not be zero")
    return str(math.ceil(parse_quantity(value) / divisor))


def secret_data(obj: Mapping) -> dict[str, str]:
    """A Secret's data, with any write-only stringData folded in (base64, like the API)."""
    data = dict(obj.get("data") or {})
    for key, value in (obj.get("stringData") or {}).items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    return data


def _decoded(data: Mapping[str, str], key: str, is_secret: bool) -> str:
    value = data[key]
    if is_secret:
        return base64.b64decode(value).decode("utf-8", errors="replace")
    return value


def build_env(
    pod: Mapping,
    container: Mapping,
    *,
    get_secret: Callable[[str], Mapping | None],
    get_configmap: Callable[[str], Mapping | None],
    services: list[Mapping] = (),
    node_allocatable: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The container's environment as a dict (insertion order = definition order).

    `get_secret` / `get_configmap` return the object in the pod's namespace, or
    None when it does not exist.
    """
    namespace = (pod.get("metadata") or {}).get("namespace")
    env: dict[str, str] = {}
    if (pod.get("spec") or {}).get("enableServiceLinks", True):
        env.update(service_link_env(list(services)))

    def source(kind: str, name: str, optional: bool) -> Mapping | None:
        obj = get_secret(name) if kind == "Secret" else get_configmap(name)
        if obj is None and not optional:
            raise EnvError(f'{kind.lower()} "{name}" not found')
        return obj

    for item in container.get("envFrom") or []:
        prefix = item.get("prefix") or ""
        for kind, ref in (
            ("Secret", item.get("secretRef")),
            ("ConfigMap", item.get("configMapRef")),
        ):
            if not ref:
                continue
            obj = source(kind, ref["name"], bool(ref.get("optional")))
            if obj is None:
                continue
            data = secret_data(obj) if kind == "Secret" else obj.get("data") or {}
            for key in data:
                env[prefix + key] = _decoded(data, key, kind == "Secret")
            if kind == "ConfigMap":
                for key, value in (obj.get("binaryData") or {}).items():
                    env[prefix + key] = base64.b64decode(value).decode("utf-8", errors="replace")

    for item in container.get("env") or []:
        name = item["name"]
        value_from = item.get("valueFrom")
        if not value_from:
            env[name] = expand(item.get("value") or "", env)
            continue
        if "fieldRef" in value_from:
            env[name] = field_ref_value(pod, value_from["fieldRef"]["fieldPath"])
        elif "resourceFieldRef" in value_from:
            env[name] = resource_field_value(
                pod, container["name"], value_from["resourceFieldRef"], node_allocatable or {}
            )
        else:
            kind, ref = (
                ("Secret", value_from["secretKeyRef"])
                if "secretKeyRef" in value_from
                else ("ConfigMap", value_from.get("configMapKeyRef") or {})
            )
            optional = bool(ref.get("optional"))
            obj = source(kind, ref.get("name", ""), optional)
            if obj is None:
                continue
            data = secret_data(obj) if kind == "Secret" else obj.get("data") or {}
            key = ref.get("key")
            if key not in data:
                if optional:
                    continue
                raise EnvError(f"couldn't find key {key} in {kind} {namespace}/{ref.get('name')}")
            env[name] = _decoded(data, key, kind == "Secret")
    return env


def expand_command(container: Mapping, env: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """The container's command and args with `$(VAR)` expanded."""
    command = [expand(str(part), env) for part in container.get("command") or []]
    args = [expand(str(part), env) for part in container.get("args") or []]
    return command, args
