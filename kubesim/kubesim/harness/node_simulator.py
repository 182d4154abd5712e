"""NodeSimulator: the node side of a cluster, with the controllers pods need.

It runs the kubelets (`kubesim.node`) and the scheduler, and the controllers
that pods depend on (`kubesim.control`): PV binding/provisioning
(`volume_provisioner`), the endpoints controller (`endpoints`), the node
lifecycle controller (`node_lifecycle`) and, with the process runtime, a
kube-proxy for loopback cluster IPs (`kubesim.node.kube_proxy`) and cluster
DNS (`kubesim.node.cluster_dns`; `nodes.cluster_dns.host/port`).

    nodes = NodeSimulator(store, nodes=3, runtime="process", state_dir="/tmp/k")
    await nodes.start()
    ...
    await nodes.stop()      # every process it started is gone afterwards

Constructor (keyword-only after `store`, a `kubesim.api.store.Store`):

nodes
    how many nodes ("node-1", "node-2", ...), or a list of dicts, one per node:
    {"name", "cpu", "memory", "pods", "labels", "taints", "resources"}; keys
    left out take the defaults below.
node_cpu, node_memory, node_pods
    capacity (= allocatable) of each node: "4", "16Gi", 110.
node_labels, node_taints
    extra labels / taints for every node (besides kubernetes.io/hostname etc.).
runtime
    "pause" (no processes; fast, for tests and benchmarks) or "process"
    (a local subprocess per container; see `kubesim.node.process_runtime` and `pod_network`;
    Services with a loopback cluster IP are forwarded to their ready pods,
    see `kube_proxy`).
state_dir
    where pod volumes, container logs and provisioned PVs live. None: a
    temporary directory removed by stop(). A directory you pass is kept, and
    PV data in `<state_dir>/pv/<namespace>/<claim>` survives restarts.
delays
    dict of per-step delays in seconds (see `kubesim.node.node_settings.Delays`: scheduling,
    pulling, creating, starting, readiness, terminating, image_pull_backoff,
    crashloop_backoff, node_monitor_grace); `nodes.delays` can be changed
    while running.
scheduler_names
    extra scheduler names served besides "default-scheduler"; a tuple, or
    a dict name -> "LeastAllocated" | "MostAllocated".
image_rules
    list of rules (see `node_settings`): pull failures, pull delays, and for the
    process runtime the image's ENTRYPOINT/CMD/ENV/WORKDIR; `add_image_rule`.
api_access
    {"host", "port", "token", "ca.crt"}: how pods reach the API server. The
    process runtime then sets KUBERNETES_SERVICE_HOST/PORT and mounts a
    service account directory (token, ca.crt, namespace) at
    /var/run/secrets/kubernetes.io/serviceaccount, so in-cluster config works.
mount_mode
    process runtime: "auto" (mount namespaces when root), "namespace", "rewrite".
default_storage_class
    True: start() creates StorageClass "standard" (default class, hostpath,
    Immediate, reclaim Delete) unless a default class already exists.

Methods: `start()`, `stop()`, `pause_kubelet(node=None)` / `resume_kubelet(node=None)`
(the kubelet stops reporting: no status, no events, no deletions; processes keep
running; after node_monitor_grace the node goes Ready=Unknown and gets the
unreachable taints), `read_log(namespace, pod, container=None, previous=False,
timestamps=False, tail_lines=None)`, `add_image_rule(rule)`,
`set_delays(**seconds)`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
from pathlib import Path

from kubesim.api.event_recorder import EventRecorder
from kubesim.api.informer import Informer
from kubesim.control.endpoints import EndpointsController
from kubesim.control.node_lifecycle import NodeLifecycle, node_manifest
from kubesim.control.predicates import validate_quantity
from kubesim.control.scheduler import Scheduler
from kubesim.control.volume_provisioner import DEFAULT_CLASS_ANNOTATION, PROVISIONER, Provisioner
from kubesim.model.errors import ApiError
from kubesim.node.cluster_dns import ClusterDNS
from kubesim.node.cri_logs import read_cri_log
from kubesim.node.kube_proxy import KubeProxy
from kubesim.node.kubelet import Kubelet
from kubesim.node.node_settings import Delays, ImageRules
from kubesim.node.pause_runtime import PauseRuntime
from kubesim.node.pod_network import PodAddressPool, is_loopback, node_ip

log = logging.getLogger(__name__)

__all__ = ["NodeSimulator"]

_NODE_KEYS = {"name", "cpu", "memory", "pods", "labels", "taints", "resources"}


class NodeSimulator:
    def __init__(
        self,
        store,
        *,
        nodes: int | list[dict] = 1,
        node_cpu: str | int | float = "4",
        node_memory: str = "16Gi",
        node_pods: int = 110,
        node_labels: dict | None = None,
        node_taints: list | None = None,
        runtime: str = "pause",
        state_dir: str | Path | None = None,
        delays: dict | Delays | None = None,
        scheduler_names=("default-scheduler",),
        image_rules: list | None = None,
        api_access: dict | None = None,
        mount_mode: str = "auto",
        default_storage_class: bool = True,
    ):
        if runtime not in ("pause", "process"):
            raise ValueError(f"runtime={runtime!r}: use 'pause' or 'process'")
        self.store = store
        self.node_specs = self._node_specs(
            nodes, node_cpu, node_memory, node_pods, node_labels or {}, node_taints or []
        )
        self.runtime_name = runtime
        self.mount_mode = mount_mode
        self._state_dir_arg = str(state_dir) if state_dir else None
        self.state_dir: str | None = None
        self._own_state_dir = False
        self.delays = Delays.from_value(delays)
        names = {"default-scheduler": "LeastAllocated"}
        if isinstance(scheduler_names, dict):
            names.update(scheduler_names)
        elif isinstance(scheduler_names, str):
            names[scheduler_names] = "LeastAllocated"
        else:
            names.update(dict.fromkeys(scheduler_names or (), "LeastAllocated"))
        self.scheduler_names = names
        self.image_rules = ImageRules(image_rules)
        self.api_access = api_access
        self.default_storage_class = default_storage_class
        self.recorder = EventRecorder(store)
        self.pod_ips = PodAddressPool()
        self.runtime = None
        self.kubelets: dict[str, Kubelet] = {}
        self.scheduler: Scheduler | None = None
        self.provisioner: Provisioner | None = None
        self.lifecycle: NodeLifecycle | None = None
        self.kube_proxy: KubeProxy | None = None
        self.cluster_dns: ClusterDNS | None = None
        self.endpoints: EndpointsController | None = None
        self._informers: list[Informer] = []

    @staticmethod
    def _node_specs(nodes, cpu, memory, pods, labels, taints) -> list[dict]:
        validate_quantity("node_cpu", cpu)
        validate_quantity("node_memory", memory)
        if isinstance(nodes, int):
            if nodes < 0:
                raise ValueError(f"nodes={nodes}: must be >= 0")
            nodes = [{} for _ in range(nodes)]
        specs = []
        for index, given in enumerate(nodes):
            unknown = set(given) - _NODE_KEYS
            if unknown:
                raise ValueError(
                    f"node {index}: unknown keys {sorted(unknown)}; known: {sorted(_NODE_KEYS)}"
                )
            spec = {
                "name": given.get("name") or f"node-{index + 1}",
                "cpu": str(given.get("cpu", cpu)),
                "memory": str(given.get("memory", memory)),
                "pods": int(given.get("pods", pods)),
                "labels": {**labels, **(given.get("labels") or {})},
                "taints": list(taints) + list(given.get("taints") or []),
                "resources": given.get("resources") or {},
            }
            validate_quantity(f"nodes[{index}].cpu", spec["cpu"])
            validate_quantity(f"nodes[{index}].memory", spec["memory"])
            specs.append(spec)
        return specs

    # ----- lifecycle

    async def start(self) -> NodeSimulator:
        if self._state_dir_arg:
            self.state_dir = self._state_dir_arg
            os.makedirs(self.state_dir, exist_ok=True)
        else:
            self.state_dir = tempfile.mkdtemp(prefix="kubesim-nodes-")
            self._own_state_dir = True
        # containers may run as other users (runAsUser): they must reach their volumes
        os.chmod(self.state_dir, os.stat(self.state_dir).st_mode | 0o011)
        if self.runtime_name == "process":
            from kubesim.node.process_runtime import ProcessRuntime

            self.runtime = await asyncio.to_thread(ProcessRuntime, self.mount_mode, self.delays)
        else:
            self.runtime = PauseRuntime(self.delays)
        if self.default_storage_class:
            await self._ensure_default_storage_class()
        for index, spec in enumerate(self.node_specs):
            ip = node_ip(index)
            await self._register_node(spec, ip)
            allocatable = {"cpu": spec["cpu"], "memory": spec["memory"], **spec["resources"]}
            self.kubelets[spec["name"]] = Kubelet(self, spec["name"], ip, allocatable)
        if self.runtime_name == "process":
            self.kube_proxy = KubeProxy(self.store)
            self.cluster_dns = await ClusterDNS(self.store).start()
            self.runtime.cluster_nameserver = self.cluster_dns.nameserver
        self.scheduler = Scheduler(self, self.scheduler_names)
        self.endpoints = EndpointsController(self.store)
        self.provisioner = Provisioner(self)
        self.lifecycle = NodeLifecycle(self, self.kubelets)
        self._informers = [
            Informer(self.store, "nodes", self._on_node),
            Informer(self.store, "services", self._on_service),
            Informer(self.store, "persistentvolumeclaims", self._on_claim),
            Informer(self.store, "storageclasses", self._on_class),
            Informer(self.store, "pods", self._on_pod),
        ]
        for informer in self._informers:
            informer.start()
        for informer in self._informers:
            await informer.synced.wait()
        self.scheduler.start()
        self.endpoints.start()
        self.provisioner.start()
        self.lifecycle.start()
        return self

    async def stop(self) -> None:
        for informer in self._informers:
            await informer.stop()
        self._informers = []
        for part in (self.scheduler, self.endpoints, self.provisioner, self.lifecycle):
            if part is not None:
                await part.stop()
        if self.kube_proxy is not None:
            await self.kube_proxy.close()
        if self.cluster_dns is not None:
            await self.cluster_dns.close()
        for kubelet in self.kubelets.values():
            kubelet.resume()
            await kubelet.close()
        if self.runtime is not None:
            await self.runtime.close()
        if self._own_state_dir and self.state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)
            self._own_state_dir = False

    async def _register_node(self, spec: dict, ip: str) -> None:
        manifest = node_manifest(
            spec["name"],
            ip,
            cpu=spec["cpu"],
            memory=spec["memory"],
            pods=spec["pods"],
            labels=spec["labels"],
            taints=spec["taints"],
            extra_resources=spec["resources"],
        )
        try:
            await self.store.create("nodes", manifest)
        except ApiError as error:
            if error.code != 409:
                raise

    async def _ensure_default_storage_class(self) -> None:
        for existing in self.store.list("storageclasses")[0]:
            annotations = existing["metadata"].get("annotations") or {}
            if annotations.get(DEFAULT_CLASS_ANNOTATION) == "true":
                return
        if self.store.peek("storageclasses", "standard") is not None:
            return
        await self.store.create(
            "storageclasses",
            {
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": {
                    "name": "standard",
                    "annotations": {DEFAULT_CLASS_ANNOTATION: "true"},
                },
                "provisioner": PROVISIONER,
                "reclaimPolicy": "Delete",
                "volumeBindingMode": "Immediate",
            },
        )

    # ----- informer fan-out

    def _on_node(self, event_type, node, old) -> None:
        self.scheduler.on_node(event_type, node)

    def _on_service(self, event_type, service, old) -> None:
        self.endpoints.on_service(event_type, service)
        if self.kube_proxy is not None:
            self.kube_proxy.on_service(event_type, service)

    def _on_claim(self, event_type, claim, old) -> None:
        self.provisioner.on_claim(event_type, claim)
        self.scheduler.on_claim(event_type, claim)

    def _on_class(self, event_type, storage_class, old) -> None:
        self.provisioner.on_class(event_type, storage_class)

    def _on_pod(self, event_type, pod, old) -> None:
        self.scheduler.on_pod(event_type, pod)
        self.endpoints.on_pod(event_type, pod, old)
        node = (pod.get("spec") or {}).get("nodeName")
        kubelet = self.kubelets.get(node) if node else None
        if kubelet is not None:
            kubelet.on_pod(event_type, pod)

    # ----- what the parts ask of the cluster

    def binding_mode(self, claim: dict) -> str:
        return self.provisioner.binding_mode(claim)

    async def claims_selected_node(self, pod: dict, node: str) -> None:
        await self.provisioner.select_node(pod, node)

    def kubernetes_env(self) -> dict[str, str]:
        """KUBERNETES_SERVICE_* variables every container gets."""
        host = port = None
        if self.api_access and self.api_access.get("host"):
            host, port = self.api_access["host"], self.api_access.get("port")
        else:
            service = self.store.peek("services", "kubernetes", "default")
            spec = (service or {}).get("spec") or {}
            routable = self.runtime_name == "pause" or is_loopback(spec.get("clusterIP"))
            if spec.get("clusterIP") and spec.get("ports") and routable:
                host, port = spec["clusterIP"], spec["ports"][0]["port"]
        if not host:
            return {}
        return {
            "KUBERNETES_SERVICE_HOST": str(host),
            "KUBERNETES_SERVICE_PORT": str(port),
            "KUBERNETES_SERVICE_PORT_HTTPS": str(port),
            "KUBERNETES_PORT": f"tcp://{host}:{port}",
            f"KUBERNETES_PORT_{port}_TCP": f"tcp://{host}:{port}",
            f"KUBERNETES_PORT_{port}_TCP_PROTO": "tcp",
            f"KUBERNETES_PORT_{port}_TCP_PORT": str(port),
            f"KUBERNETES_PORT_{port}_TCP_ADDR": str(host),
        }

    # ----- controls

    def pause_kubelet(self, node: str | None = None) -> None:
        for name, kubelet in self.kubelets.items():
            if node is None or name == node:
                kubelet.pause()
        if self.lifecycle:
            self.lifecycle.poke()

    def resume_kubelet(self, node: str | None = None) -> None:
        for name, kubelet in self.kubelets.items():
            if node is None or name == node:
                kubelet.resume()
        if self.lifecycle:
            self.lifecycle.poke()

    def add_image_rule(self, rule) -> None:
        self.image_rules.add(rule)

    def set_delays(self, **seconds) -> None:
        self.delays.update(seconds)

    def open_stream(self, pod: dict, kind: str, options):
        """The kubelet's GetExec/GetAttach: a starter for the running container's session.

        A container that is not running is the kubelet's `container not found ("c")`
        (pkg/kubelet/kubelet_pods.go), which kube-apiserver passes on as a 500."""
        from kubesim.api.exec_attach import KubeletError

        kubelet = self.kubelets.get((pod.get("spec") or {}).get("nodeName") or "")
        worker = kubelet.workers.get(pod["metadata"]["uid"]) if kubelet else None
        handle = worker.handles.get(options.container) if worker else None
        if handle is None or getattr(handle, "exited", False):
            raise KubeletError(f'container not found ("{options.container}")')
        return self.runtime.open_stream(handle, kind, options)

    async def read_log(
        self,
        namespace: str,
        pod: str,
        container: str | None = None,
        *,
        previous: bool = False,
        timestamps: bool = False,
        tail_lines: int | None = None,
    ) -> str:
        """What `kubectl logs` shows: the container's stdout+stderr ("" in pause runtime)."""
        obj = self.store.peek("pods", pod, namespace)
        if obj is None:
            raise ApiError(
                404,
                "NotFound",
                f'pods "{pod}" not found',
                {"name": pod, "kind": "pods"},
            )
        spec = obj.get("spec") or {}
        names = [c["name"] for c in spec.get("containers") or []]
        init_names = [c["name"] for c in spec.get("initContainers") or []]
        if container is None:
            if len(names) != 1:
                raise ApiError(
                    400,
                    "BadRequest",
                    f"a container name must be specified for pod {pod}, choose one of: "
                    f"[{' '.join(names)}]",
                )
            container = names[0]
        if container not in names + init_names:
            raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {pod}")
        kubelet = self.kubelets.get(spec.get("nodeName") or "")
        worker = kubelet.workers.get(obj["metadata"]["uid"]) if kubelet else None
        if worker is None or self.state_dir is None:
            return ""
        record = next(r for r in worker.init + worker.app if r.name == container)
        attempt = record.restart_count
        if previous:
            attempt -= 1
            if attempt < 0:
                raise ApiError(
                    400,
                    "BadRequest",
                    f'previous terminated container "{container}" in pod "{pod}" not found',
                )
        elif "waiting" in record.state and not record.last_state:
            reason = record.state["waiting"].get("reason", "ContainerCreating")
            raise ApiError(
                400,
                "BadRequest",
                f'container "{container}" in pod "{pod}" is waiting to start: {reason}',
            )
        elif "waiting" in record.state:
            attempt -= 1  # restarting: the last run's output, like the real kubelet
        path = os.path.join(
            self.state_dir,
            "logs",
            f"{namespace}_{pod}_{obj['metadata']['uid']}",
            container,
            f"{attempt}.log",
        )
        return await asyncio.to_thread(
            read_cri_log, path, timestamps=timestamps, tail_lines=tail_lines
        )
