"""Node objects as a kubelet registers them, and the node lifecycle controller.

`node_manifest` is pure. `NodeLifecycle` watches the kubelets' reporting: a
kubelet silent for longer than `delays.node_monitor_grace` gets its node's
Ready condition set to Unknown ("Kubelet stopped posting node status.") and
the node.kubernetes.io/unreachable NoSchedule and NoExecute taints, as the
real controller does; when it reports again both are undone.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import platform

from kubesim.api.store import now_rfc3339
from kubesim.api.store_workers import cancel_and_wait
from kubesim.model.errors import ApiError

log = logging.getLogger(__name__)

UNREACHABLE_TAINTS = (
    {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"},
)
KUBELET_VERSION = "v1.33.0"


def _condition(type_, status, reason, message, now):
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastHeartbeatTime": now,
        "lastTransitionTime": now,
    }


def node_conditions(now: str) -> list[dict]:
    return [
        _condition(
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
            now,
        ),
        _condition(
            "DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", now
        ),
        _condition(
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
            now,
        ),
        _condition("Ready", "True", "KubeletReady", "kubelet is posting ready status", now),
    ]


def node_manifest(
    name: str,
    ip: str,
    *,
    cpu: str,
    memory: str,
    pods: int = 110,
    labels: dict | None = None,
    taints: list | None = None,
    extra_resources: dict | None = None,
) -> dict:
    now = now_rfc3339()
    resources = {
        "cpu": str(cpu),
        "memory": str(memory),
        "pods": str(pods),
        "ephemeral-storage": "100Gi",
    }
    resources.update({k: str(v) for k, v in (extra_resources or {}).items()})
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": arch,
                "beta.kubernetes.io/os": "linux",
                "beta.kubernetes.io/arch": arch,
                **(labels or {}),
            },
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {"taints": list(taints)} if taints else {},
        "status": {
            "capacity": dict(resources),
            "allocatable": dict(resources),
            "conditions": node_conditions(now),
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "Hostname", "address": name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": arch,
                "bootID": "",
                "containerRuntimeVersion": "kubesim://1.0",
                "kernelVersion": platform.release(),
                "kubeProxyVersion": KUBELET_VERSION,
                "kubeletVersion": KUBELET_VERSION,
                "machineID": "",
                "operatingSystem": "linux",
                "osImage": "kubesim",
                "systemUUID": "",
            },
        },
    }


class NodeLifecycle:
    def __init__(self, ctx, kubelets):
        self.ctx = ctx
        self.kubelets = kubelets  # node name -> Kubelet
        self.unreachable: set[str] = set()
        self._task: asyncio.Task | None = None
        self.changed = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    def poke(self) -> None:
        self.changed.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            next_check = None
            for name, kubelet in self.kubelets.items():
                if kubelet.paused and name not in self.unreachable:
                    due = kubelet.paused_at + self.ctx.delays.node_monitor_grace
                    if loop.time() >= due:
                        await self._set_reachable(name, False)
                    else:
                        next_check = min(next_check or due, due)
                elif not kubelet.paused and name in self.unreachable:
                    await self._set_reachable(name, True)
            self.changed.clear()
            timeout = None if next_check is None else max(next_check - loop.time(), 0)
            try:
                await asyncio.wait_for(self.changed.wait(), timeout)
            except TimeoutError:
                pass

    async def _set_reachable(self, name: str, reachable: bool) -> None:
        store = self.ctx.store
        node = store.peek("nodes", name)
        if node is None:
            return
        updated = copy.deepcopy(node)
        now = now_rfc3339()
        taints = [
            t
            for t in (updated.get("spec") or {}).get("taints") or []
            if t.get("key") != "node.kubernetes.io/unreachable"
        ]
        if not reachable:
            taints += [{**t, "timeAdded": now} for t in UNREACHABLE_TAINTS]
        updated.setdefault("spec", {})["taints"] = taints
        updated["metadata"].pop("resourceVersion", None)
        try:
            await store.replace("nodes", name, updated)
            status = copy.deepcopy(store.peek("nodes", name)["status"])
            for condition in status.get("conditions") or []:
                if reachable:
                    fresh = {c["type"]: c for c in node_conditions(now)}
                    condition.update(fresh.get(condition["type"], {}))
                else:
                    condition.update(
                        {
                            "status": "Unknown",
                            "reason": "NodeStatusUnknown",
                            "message": "Kubelet stopped posting node status.",
                            "lastTransitionTime": now,
                        }
                    )
            await store.update_status("nodes", name, {"metadata": {"name": name}, "status": status})
        except ApiError as error:
            log.warning("node %s not updated: %s", name, error)
            return
        if reachable:
            self.unreachable.discard(name)
        else:
            self.unreachable.add(name)
