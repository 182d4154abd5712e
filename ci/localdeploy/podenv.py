"""A container's environment and command line, computed the way the kubelet
does: Service variables, then `envFrom`, then `env` with `valueFrom`
references resolved and `$(VAR)` expanded; then `$(VAR)` in command/args.
Pure functions over plain dicts (rendered objects)."""

import base64
import math
import re
from dataclasses import dataclass, field

_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


class PodEnvError(ValueError):
    pass


@dataclass
class PodFacts:
    """What the kubelet knows about a pod that `fieldRef` can point at, plus
    the Secrets and ConfigMaps of its namespace (decoded to str)."""

    name: str
    namespace: str
    pod_ip: str
    host_ip: str = "127.0.0.1"
    node_name: str = "local"
    uid: str = ""
    service_account: str = "default"
    labels: dict = field(default_factory=dict)
    annotations: dict = field(default_factory=dict)
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    configmaps: dict[str, dict[str, str]] = field(default_factory=dict)
    node_cpu: str = "2"
    node_memory: str = "4Gi"


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes `$(VAR)` expansion: defined variables are replaced, unknown
    ones stay as written, `$$` is a literal `$`."""
    out = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "$" or i + 1 >= len(text):
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            close = text.find(")", i + 2)
            if close == -1:
                out.append("$(")
                i += 2
            else:
                name = text[i + 2 : close]
                out.append(env.get(name, f"$({name})"))
                i = close + 1
        else:
            out.append("$" + nxt)
            i += 2
    return "".join(out)


def service_env(name: str, host: str, ports: list[dict]) -> dict[str, str]:
    """The variables Kubernetes injects for one Service (`<NAME>_SERVICE_HOST`,
    `_SERVICE_PORT`, one per named port, and the docker-link style ones).
    `ports` are Service ports: {name, port, protocol}."""
    if not ports:
        return {}
    prefix = name.upper().replace("-", "_")
    env = {f"{prefix}_SERVICE_HOST": host, f"{prefix}_SERVICE_PORT": str(ports[0]["port"])}
    for p in ports:
        if p.get("name"):
            env[f"{prefix}_SERVICE_PORT_{p['name'].upper().replace('-', '_')}"] = str(p["port"])
    first_proto = ports[0].get("protocol", "TCP").lower()
    env[f"{prefix}_PORT"] = f"{first_proto}://{host}:{ports[0]['port']}"
    for p in ports:
        proto = p.get("protocol", "TCP")
        base = f"{prefix}_PORT_{p['port']}_{proto.upper()}"
        env[base] = f"{proto.lower()}://{host}:{p['port']}"
        env[f"{base}_PROTO"] = proto.lower()
        env[f"{base}_PORT"] = str(p["port"])
        env[f"{base}_ADDR"] = host
    return env


def decode_secret(secret: dict) -> dict[str, str]:
    data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    data.update(secret.get("stringData") or {})
    return data


def configmap_data(configmap: dict) -> dict[str, str]:
    data = dict(configmap.get("data") or {})
    for k, v in (configmap.get("binaryData") or {}).items():
        data[k] = base64.b64decode(v).decode(errors="replace")
    return data


_SUFFIX = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
    "n": 1e-9,
    "u": 1e-6,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
}


def quantity(value) -> float:
    """A Kubernetes quantity ("500m", "1Gi", "2", 1.5) as a number."""
    text = str(value).strip()
    match = re.fullmatch(r"([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)", text)
    if not match or (match.group(2) and match.group(2) not in _SUFFIX):
        raise PodEnvError(f"{value!r} is not a Kubernetes quantity (e.g. 500m, 1Gi, 2)")
    return float(match.group(1)) * _SUFFIX.get(match.group(2), 1)


def _resource_field(ref: dict, container: dict, facts: PodFacts) -> str:
    resource = ref["resource"]
    kind, _, what = resource.partition(".")
    resources = container.get("resources") or {}
    value = (resources.get(kind) or {}).get(what)
    if value is None and kind == "limits":
        # an unset limit reads as the node's allocatable, as in Kubernetes
        value = {"cpu": facts.node_cpu, "memory": facts.node_memory}.get(what)
    if value is None:
        value = 0
    divisor = quantity(ref.get("divisor", "1"))
    return str(math.ceil(quantity(value) / divisor))


def _field(path: str, facts: PodFacts) -> str:
    match = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
    if match:
        source = facts.labels if match.group(1) == "labels" else facts.annotations
        return str(source.get(match.group(2), ""))
    simple = {
        "metadata.name": facts.name,
        "metadata.namespace": facts.namespace,
        "metadata.uid": facts.uid,
        "spec.nodeName": facts.node_name,
        "spec.serviceAccountName": facts.service_account,
        "status.hostIP": facts.host_ip,
        "status.hostIPs": facts.host_ip,
        "status.podIP": facts.pod_ip,
        "status.podIPs": facts.pod_ip,
    }
    if path not in simple:
        raise PodEnvError(f"fieldRef.fieldPath {path!r} is not supported by Kubernetes")
    return simple[path]


def _key_ref(ref: dict, store: dict, what: str, var: str) -> str | None:
    name, key = ref.get("name"), ref.get("key")
    source = store.get(name)
    if source is None or key not in source:
        if ref.get("optional"):
            return None
        missing = f"{what} {name!r}" if source is None else f"key {key!r} in {what} {name!r}"
        raise PodEnvError(
            f"env {var}: {missing} does not exist (and the reference is not optional)"
        )
    return source[key]


def _value_from(var: dict, container: dict, facts: PodFacts) -> str | None:
    source = var["valueFrom"]
    name = var["name"]
    if "secretKeyRef" in source:
        return _key_ref(source["secretKeyRef"], facts.secrets, "Secret", name)
    if "configMapKeyRef" in source:
        return _key_ref(source["configMapKeyRef"], facts.configmaps, "ConfigMap", name)
    if "fieldRef" in source:
        return _field(source["fieldRef"]["fieldPath"], facts)
    if "resourceFieldRef" in source:
        return _resource_field(source["resourceFieldRef"], container, facts)
    raise PodEnvError(f"env {name}: unsupported valueFrom {sorted(source)}")


def container_env(
    container: dict, facts: PodFacts, services: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment the kubelet gives `container`."""
    services = dict(services or {})
    env = dict(services)
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        if "configMapRef" in source:
            ref, store, what = source["configMapRef"], facts.configmaps, "ConfigMap"
        else:
            ref, store, what = source["secretRef"], facts.secrets, "Secret"
        data = store.get(ref["name"])
        if data is None:
            if ref.get("optional"):
                continue
            raise PodEnvError(f"envFrom: {what} {ref['name']!r} does not exist")
        for key, value in data.items():
            if _ENV_NAME.match(prefix + key):
                env[prefix + key] = value
    for var in container.get("env") or []:
        if "valueFrom" in var:
            value = _value_from(var, container, facts)
            if value is None:
                continue
        else:
            value = expand(var.get("value", ""), env)
        env[var["name"]] = value
    return env


def container_argv(container: dict, env: dict[str, str]) -> list[str]:
    """command + args with `$(VAR)` expanded. A container without `command`
    would run its image's entrypoint, which only an image knows."""
    command = container.get("command")
    if not command:
        raise PodEnvError(
            f"container {container.get('name')!r} has no command; "
            "a local process needs the command the image would run"
        )
    return [expand(str(part), env) for part in list(command) + list(container.get("args") or [])]
