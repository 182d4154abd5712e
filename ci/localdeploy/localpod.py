"""Turn a rendered Deployment's pod into a local process launch: the
kubelet's environment (Service variables pointing at loopback), volumes as
directories, the working dir, and the service-account files."""

import copy
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .podenv import PodFacts, container_argv, container_env, service_env
from .volumes import host_path, mount_all


class LocalPodError(ValueError):
    pass


@dataclass
class LocalPod:
    """One pod of a rendered Deployment, run by ci/dev at `address`."""

    deployment: dict
    address: str
    container_name: str
    # container port -> port it really listens on (published ports)
    port_overrides: dict[int, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.deployment["metadata"]["name"]

    @property
    def template(self) -> dict:
        return self.deployment["spec"]["template"]

    @property
    def spec(self) -> dict:
        return self.template["spec"]

    @property
    def labels(self) -> dict:
        return self.template.get("metadata", {}).get("labels") or {}

    @property
    def container(self) -> dict:
        containers = self.spec.get("containers", [])
        for c in containers:
            if c["name"] == self.container_name:
                return c
        if len(containers) == 1:
            return containers[0]
        names = [c["name"] for c in containers]
        raise LocalPodError(
            f"Deployment {self.name} has no container {self.container_name!r} (it has {names})"
        )

    def container_port(self, target) -> int:
        """A Service's targetPort (number or port name) as a number."""
        if isinstance(target, int):
            return target
        if str(target).isdigit():
            return int(target)
        for c in self.spec.get("containers", []):
            for p in c.get("ports") or []:
                if p.get("name") == target:
                    return p["containerPort"]
        raise LocalPodError(f"no container of Deployment {self.name} has a port named {target!r}")


def selects(selector: dict | None, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def services_env(services: list[dict], pods: list[LocalPod], published: dict) -> dict[str, str]:
    """Kubernetes' Service variables, each Service pointing straight at the
    local pod that backs it (there is no kube-proxy: the port is the one the
    process listens on). `published` maps a Service name to the (host, port)
    it is published on, like a LoadBalancer. Services with no local backend
    get no variables: nothing would answer there."""
    env = {}
    for svc in services:
        name = svc["metadata"]["name"]
        selector = svc.get("spec", {}).get("selector")
        backend = next((p for p in pods if selects(selector, p.labels)), None)
        if backend is None and name not in published:
            continue
        ports = []
        for port in svc["spec"].get("ports") or []:
            if name in published:
                host, number = published[name]
            else:
                target = backend.container_port(port.get("targetPort", port["port"]))
                host, number = backend.address, backend.port_overrides.get(target, target)
            ports.append(
                {"name": port.get("name"), "port": number, "protocol": port.get("protocol", "TCP")}
            )
        env.update(service_env(name, host, ports))
    return env


def kubernetes_service_env(server_url: str) -> dict[str, str]:
    """The `kubernetes` Service variables every pod gets: how in-cluster
    clients find the API server (kubesim here)."""
    url = urlsplit(server_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    env = service_env("kubernetes", url.hostname, [{"name": "https", "port": port}])
    return env


def with_env_values(container: dict, replacements: dict[str, str]) -> dict:
    """A copy of `container` whose plain `env` values are replaced (e.g. a
    path in the image that lives elsewhere on this machine)."""
    container = copy.deepcopy(container)
    for var in container.get("env") or []:
        if var["name"] in replacements and "value" in var:
            var["value"] = replacements[var["name"]]
    return container


@dataclass
class Launch:
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    automount_token: bool


def prepare_launch(
    pod: LocalPod,
    facts: PodFacts,
    services: dict[str, str],
    fs_root: Path,
    claim_dir,
    path_env: tuple[str, ...] = (),
    base_env: dict[str, str] | None = None,
) -> Launch:
    """Mount the volumes under `fs_root` and compute argv/env/cwd. Env vars
    named in `path_env` hold container paths and are pointed at `fs_root`.
    `base_env` is what the image itself sets (PATH, HOME...)."""
    container = pod.container
    replacements = {}
    for var in container.get("env") or []:
        if var["name"] in path_env and "value" in var:
            replacements[var["name"]] = str(host_path(fs_root, var["value"]))
    container = with_env_values(container, replacements)
    mount_all(pod.spec, container, fs_root, facts, claim_dir)
    env = dict(base_env or {})
    env.update(container_env(container, facts, services))
    argv = container_argv(container, env)
    cwd = host_path(fs_root, container.get("workingDir") or "/")
    cwd.mkdir(parents=True, exist_ok=True)
    automount = pod.spec.get("automountServiceAccountToken", True)
    return Launch(argv=argv, env=env, cwd=cwd, automount_token=automount)
