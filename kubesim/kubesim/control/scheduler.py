"""The scheduler: binds pending pods to nodes, like kube-scheduler.

It serves the pods whose `spec.schedulerName` it was given (by default only
"default-scheduler"; each name can use "LeastAllocated" - spread, the
default - or "MostAllocated" - pack, like the Z2JH user-scheduler). Filters
are the pure functions in `kubesim.control.predicates`; before them, a pod's PVCs must exist
and, unless their StorageClass waits for the first consumer, be bound.

A pod that fits nowhere gets a FailedScheduling event, the condition
PodScheduled=False/Unschedulable with the same message, and waits until the
cluster changes (a node, pod or claim) or a minute passes.

Binding sets spec.nodeName through the store's `bind` when it has one (the
pods/binding subresource), else a patch, then PodScheduled=True and a
Scheduled event.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections import Counter

from kubesim.api.store import TERMINAL_PHASES, now_rfc3339
from kubesim.control import predicates
from kubesim.model.errors import ApiError

log = logging.getLogger(__name__)

COMPONENT = "default-scheduler"
RETRY_UNSCHEDULABLE = 60.0
STRATEGIES = ("LeastAllocated", "MostAllocated")


def served_names(scheduler_names) -> dict[str, str]:
    """name -> scoring strategy, from a tuple of names or a {name: strategy} dict."""
    if isinstance(scheduler_names, str):
        scheduler_names = (scheduler_names,)
    if isinstance(scheduler_names, dict):
        names = dict(scheduler_names)
    else:
        names = dict.fromkeys(scheduler_names, "LeastAllocated")
    for name, strategy in names.items():
        if strategy not in STRATEGIES:
            raise ValueError(
                f"scheduler {name!r}: strategy {strategy!r} is not one of {', '.join(STRATEGIES)}"
            )
    return names


class Scheduler:
    def __init__(self, ctx, scheduler_names):
        self.ctx = ctx
        self.names = served_names(scheduler_names)
        self.nodes: dict[str, dict] = {}
        self.allocatable: dict[str, dict[str, int]] = {}  # parsed once per node change
        # pod uid -> (node name, requests, host ports) for pods holding node resources
        self.assigned: dict[str, tuple[str, dict, set]] = {}
        self.usage: dict[str, Counter] = {}
        self.ports: dict[str, set] = {}
        # (key, when it was queued): the scheduling delay is each pod's
        # latency from that moment, not a pause between pods, so a burst of
        # pods is not throttled to 1/delay pods per second (kube-scheduler
        # decides hundreds a second)
        self.queue: asyncio.Queue[tuple[tuple[str, str], float]] = asyncio.Queue()
        self.queued: set[tuple[str, str]] = set()
        self.unschedulable: set[tuple[str, str]] = set()
        self._task: asyncio.Task | None = None
        self._retry: asyncio.Task | None = None

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._run())
        self._retry = loop.create_task(self._retry_periodically())

    async def stop(self) -> None:
        for task in (self._task, self._retry):
            if task is not None:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass

    # ----- bookkeeping from informer events

    def on_node(self, event_type: str, node: dict) -> None:
        name = node["metadata"]["name"]
        if event_type == "DELETED":
            self.nodes.pop(name, None)
            self.allocatable.pop(name, None)
        else:
            self.nodes[name] = node
            self.allocatable[name] = predicates.node_allocatable(node)
        self.cluster_changed()

    def on_pod(self, event_type: str, pod: dict) -> None:
        meta = pod["metadata"]
        uid = meta["uid"]
        spec = pod.get("spec") or {}
        holds = (
            event_type != "DELETED"
            and spec.get("nodeName")
            and (pod.get("status") or {}).get("phase") not in TERMINAL_PHASES
        )
        if holds:
            self._assign(uid, spec["nodeName"], pod)
        elif uid in self.assigned:
            self._unassign(uid)
            self.cluster_changed()
        key = (meta["namespace"], meta["name"])
        if (
            event_type != "DELETED"
            and not spec.get("nodeName")
            and not meta.get("deletionTimestamp")
            and (spec.get("schedulerName") or "default-scheduler") in self.names
            and key not in self.unschedulable
        ):
            self._enqueue(key)
        if event_type == "DELETED":
            self.unschedulable.discard(key)
            if not spec.get("nodeName"):  # bound pods: the kubelet's worker forgets them
                self.ctx.recorder.forget(uid)

    def on_claim(self, event_type: str, claim: dict) -> None:
        self.cluster_changed()

    def _assign(self, uid: str, node: str, pod: dict) -> None:
        if uid in self.assigned:
            if self.assigned[uid][0] == node:
                return
            self._unassign(uid)
        requests = predicates.pod_requests(pod)
        ports = predicates.host_ports(pod)
        self.assigned[uid] = (node, requests, ports)
        self.usage.setdefault(node, Counter()).update(requests)
        self.ports.setdefault(node, set()).update(ports)

    def _unassign(self, uid: str) -> None:
        node, requests, ports = self.assigned.pop(uid)
        self.usage[node].subtract(requests)
        self.ports[node] -= ports

    def _enqueue(self, key) -> None:
        if key not in self.queued:
            self.queued.add(key)
            self.queue.put_nowait((key, time.monotonic()))

    def cluster_changed(self) -> None:
        """Something freed or added capacity: try the unschedulable pods again."""
        if self.unschedulable:
            waiting, self.unschedulable = self.unschedulable, set()
            for key in sorted(waiting):
                self._enqueue(key)

    async def _retry_periodically(self) -> None:
        while True:
            await asyncio.sleep(RETRY_UNSCHEDULABLE)
            self.cluster_changed()

    # ----- the scheduling loop

    async def _run(self) -> None:
        while True:
            key, queued_at = await self.queue.get()
            self.queued.discard(key)
            try:
                await self._schedule(key, queued_at)
            except ApiError as error:
                log.warning("scheduling %s/%s failed: %s", *key, error)
            except Exception:
                log.exception("scheduling %s/%s failed", *key)

    def _current(self, key) -> dict | None:
        pod = self.ctx.store.peek("pods", key[1], key[0])
        if pod is None:
            return None
        spec = pod.get("spec") or {}
        if spec.get("nodeName") or pod["metadata"].get("deletionTimestamp"):
            return None
        if (spec.get("schedulerName") or "default-scheduler") not in self.names:
            return None
        return pod

    def _claims_problem(self, pod: dict) -> str | None:
        """The VolumeBinding PreFilter: claims must exist and (mostly) be bound."""
        namespace = pod["metadata"]["namespace"]
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            source = volume.get("persistentVolumeClaim")
            if not source:
                continue
            name = source.get("claimName", "")
            claim = self.ctx.store.peek("persistentvolumeclaims", name, namespace)
            if claim is None:
                return f'persistentvolumeclaim "{name}" not found'
            if claim["metadata"].get("deletionTimestamp"):
                return f'persistentvolumeclaim "{name}" is being deleted'
            if (claim.get("status") or {}).get("phase") == "Bound":
                continue
            if self.ctx.binding_mode(claim) != "WaitForFirstConsumer":
                return "pod has unbound immediate PersistentVolumeClaims"
        return None

    async def _schedule(self, key, queued_at: float) -> None:
        wait = queued_at + self.ctx.delays.scheduling - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        pod = self._current(key)
        if pod is None:
            return
        strategy = self.names[(pod.get("spec") or {}).get("schedulerName") or "default-scheduler"]
        nodes = sorted(self.nodes.values(), key=lambda n: n["metadata"]["name"])
        problem = self._claims_problem(pod)
        if problem:
            await self._unschedulable(
                key, pod, predicates.prefilter_error_message(len(nodes), problem)
            )
            return
        requests = predicates.pod_requests(pod)
        reasons_by_node: dict[str, list[str]] = {}
        best, best_score = None, None
        for node in nodes:
            name = node["metadata"]["name"]
            used = self.usage.get(name, Counter())
            allocatable = self.allocatable[name]
            reasons = predicates.filter_reasons(
                pod, node, used, self.ports.get(name), requests=requests, allocatable=allocatable
            )
            if reasons:
                reasons_by_node[name] = reasons
                continue
            score = predicates.least_allocated_score(requests, allocatable, used)
            if strategy == "MostAllocated":
                score = -score
            if best_score is None or score > best_score:
                best, best_score = name, score
        if best is None:
            await self._unschedulable(
                key, pod, predicates.fit_error_message(len(nodes), reasons_by_node)
            )
            return
        await self._bind(pod, best)

    async def _unschedulable(self, key, pod: dict, message: str) -> None:
        self.unschedulable.add(key)
        await self.ctx.recorder.emit(
            pod, "Warning", "FailedScheduling", message, component=COMPONENT
        )
        await self._set_scheduled_condition(pod, "False", "Unschedulable", message)

    async def _set_scheduled_condition(self, pod, status, reason=None, message=None) -> None:
        meta = pod["metadata"]
        current = self.ctx.store.peek("pods", meta["name"], meta["namespace"])
        if current is None or current["metadata"]["uid"] != meta["uid"]:
            return
        conditions = [
            c
            for c in (current.get("status") or {}).get("conditions") or []
            if c.get("type") != "PodScheduled"
        ]
        old = next(
            (
                c
                for c in (current.get("status") or {}).get("conditions") or []
                if c.get("type") == "PodScheduled"
            ),
            None,
        )
        condition = {
            "type": "PodScheduled",
            "status": status,
            "lastProbeTime": None,
            "lastTransitionTime": old["lastTransitionTime"]
            if old and old.get("status") == status
            else now_rfc3339(),
        }
        if reason:
            condition["reason"] = reason
        if message:
            condition["message"] = message
        status_obj = copy.deepcopy(current.get("status") or {})
        status_obj.setdefault("phase", "Pending")
        status_obj["conditions"] = [*conditions, condition]
        await self.ctx.store.update_status(
            "pods",
            meta["name"],
            {"metadata": {"name": meta["name"]}, "status": status_obj},
            meta["namespace"],
        )

    async def _bind(self, pod: dict, node: str) -> None:
        meta = pod["metadata"]
        self._assign(meta["uid"], node, pod)  # assume it, before the informer confirms
        bind = getattr(self.ctx.store, "bind", None)
        try:
            if bind is not None:
                await bind(meta["name"], meta["namespace"], node)
            else:
                await self.ctx.store.patch(
                    "pods", meta["name"], {"spec": {"nodeName": node}}, "merge", meta["namespace"]
                )
                await self._set_scheduled_condition(pod, "True")
        except ApiError:
            self._unassign(meta["uid"])
            raise
        self.unschedulable.discard((meta["namespace"], meta["name"]))
        await self.ctx.recorder.emit(
            pod,
            "Normal",
            "Scheduled",
            f"Successfully assigned {meta['namespace']}/{meta['name']} to {node}",
            component=COMPONENT,
        )
        await self.ctx.claims_selected_node(pod, node)
