"""Workload controllers: Deployments, ReplicaSets, StatefulSets, DaemonSets and Jobs make pods.

On by default (`KubeSim(controllers=False)` / `--no-controllers` turns them
off). They work like the
kube-controller-manager's, simplified: a Deployment owns one ReplicaSet per
pod template (named `<deployment>-<template hash>`, labelled
`pod-template-hash`) and scales older ones to zero at once; a ReplicaSet keeps
`replicas` pods (`<rs>-xxxxx`); a StatefulSet creates `<sts>-0..n-1` in order,
each after the previous is Ready, with PVCs from volumeClaimTemplates; a Job
runs pods until `completions` succeed (`kubesim.control.jobs`); DaemonSets are in
`kubesim.control.daemonsets`. Status fields are the ones `kubectl`
and `helm --wait` read. Pods reach nodes through the usual scheduler.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from kubesim.api.store import Store
from kubesim.api.store_workers import cancel_and_wait
from kubesim.control.daemonsets import DaemonSetController
from kubesim.control.deployments import DeploymentController
from kubesim.control.jobs import JobController
from kubesim.model.errors import ApiError
from kubesim.model.jsonutil import clone
from kubesim.model.ownership import (
    available_in,
    controller_of,
    owner_reference,
    pod_ready,
    template_hash,
)

log = logging.getLogger(__name__)

Obj = dict[str, Any]
OWNED_KINDS = {
    "deployments.apps": "Deployment",
    "replicasets.apps": "ReplicaSet",
    "statefulsets.apps": "StatefulSet",
    "daemonsets.apps": "DaemonSet",
    "jobs.batch": "Job",
}


def node_facts(node: Obj | None) -> tuple:
    """What a DaemonSet's node eligibility reads of a Node."""
    if node is None:
        return ()
    spec = node.get("spec") or {}
    return (node["metadata"].get("labels"), spec.get("taints"), spec.get("unschedulable"))


class WorkloadControllers:
    def __init__(self, store: Store):
        self.store = store
        self._queue: asyncio.Queue[tuple[str, str, str]] = asyncio.Queue()
        self._pending: set[tuple[str, str, str]] = set()
        self._task: asyncio.Task | None = None
        self._timers: dict[tuple[str, str, str], asyncio.TimerHandle] = {}
        self.daemonsets = DaemonSetController(
            store, lambda ds, delay: self._requeue_later("daemonsets.apps", ds, delay)
        )
        self.deployments = DeploymentController(
            store, lambda d, delay: self._requeue_later("deployments.apps", d, delay)
        )
        self.jobs = JobController(
            store,
            self._create_pod,
            lambda job, delay: self._requeue_later("jobs.batch", job, delay),
        )

    def _requeue_later(self, key: str, obj: Obj, delay: float) -> None:
        """Sync a workload again after `delay` (minReadySeconds, deadlines); one timer each."""
        meta = obj["metadata"]
        item = (key, meta["namespace"], meta["name"])
        loop = asyncio.get_running_loop()
        when = loop.time() + delay
        existing = self._timers.get(item)
        if existing is not None and existing.when() <= when:
            return
        if existing is not None:
            existing.cancel()

        def fire() -> None:
            self._timers.pop(item, None)
            self._enqueue(key, {"metadata": {"namespace": item[1], "name": item[2]}})

        self._timers[item] = loop.call_at(when, fire)

    async def start(self) -> None:
        self.store.on_change.append(self._on_change)
        for key in OWNED_KINDS:
            for obj in self.store.list(key)[0]:
                self._enqueue(key, obj)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        if self._on_change in self.store.on_change:
            self.store.on_change.remove(self._on_change)
        await cancel_and_wait(self._task)

    def _enqueue(self, key: str, obj: Obj) -> None:
        item = (key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if item not in self._pending:
            self._pending.add(item)
            self._queue.put_nowait(item)

    def _on_change(self, event_type: str, rt, obj: Obj, old: Obj | None) -> None:
        if rt.key in OWNED_KINDS:
            self._enqueue(rt.key, obj)
        elif rt.key == "nodes":
            if event_type != "MODIFIED" or node_facts(obj) != node_facts(old):
                for ds in self.store.list("daemonsets.apps")[0]:
                    self._enqueue("daemonsets.apps", ds)
            return
        owner = controller_of(obj)
        if owner:
            ns = obj["metadata"].get("namespace", "")
            for key, kind in OWNED_KINDS.items():
                if kind == owner.get("kind"):
                    self._enqueue(key, {"metadata": {"namespace": ns, "name": owner["name"]}})
            if event_type == "DELETED" and owner.get("kind") == "ReplicaSet":
                # a Recreate rollout waits for the old pods to be gone
                rs = self.store.peek("replicasets.apps", owner["name"], ns)
                deployment = controller_of(rs) if rs else None
                if deployment and deployment.get("kind") == "Deployment":
                    self._enqueue(
                        "deployments.apps",
                        {"metadata": {"namespace": ns, "name": deployment["name"]}},
                    )

    async def _run(self) -> None:
        while True:
            key, ns, name = await self._queue.get()
            self._pending.discard((key, ns, name))
            obj = self.store.peek(key, name, ns)
            if obj is None or obj["metadata"].get("deletionTimestamp"):
                continue
            try:
                if key == "deployments.apps":
                    await self.deployments.sync(obj)
                elif key == "replicasets.apps":
                    await self._replicaset(obj)
                elif key == "statefulsets.apps":
                    await self._statefulset(obj)
                elif key == "daemonsets.apps":
                    await self.daemonsets.sync(obj)
                elif key == "jobs.batch":
                    await self.jobs.sync(obj)
            except ApiError as err:
                if err.code not in (404, 409):
                    log.warning("%s %s/%s: %s", key, ns, name, err.message)
            except Exception:
                log.exception("controller for %s %s/%s failed", key, ns, name)

    def _owned(self, key: str, owner: Obj) -> list[Obj]:
        uid = owner["metadata"]["uid"]
        items, _ = self.store.list(key, owner["metadata"]["namespace"])
        return [o for o in items if (controller_of(o) or {}).get("uid") == uid]

    async def _set_status(self, key: str, obj: Obj, status: Obj) -> None:
        merged = {**(obj.get("status") or {}), **status}
        if merged != obj.get("status"):
            await self.store.patch(
                key,
                obj["metadata"]["name"],
                {"status": status},
                "merge",
                obj["metadata"]["namespace"],
                subresource="status",
            )

    # ----- ReplicaSet ------------------------------------------------------------------

    async def _pods_of(self, owner: Obj) -> list[Obj]:
        return [p for p in self._owned("pods", owner) if not p["metadata"].get("deletionTimestamp")]

    async def _create_pod(
        self,
        owner: Obj,
        kind: str,
        name: str | None = None,
        extra_labels: Obj | None = None,
        spec_extra: Obj | None = None,
    ) -> Obj:
        template = clone((owner.get("spec") or {}).get("template") or {})
        meta = template.get("metadata") or {}
        pod_meta: Obj = {
            "labels": {**(meta.get("labels") or {}), **(extra_labels or {})},
            "ownerReferences": [
                owner_reference(owner, kind, "batch/v1" if kind == "Job" else "apps/v1")
            ],
        }
        if meta.get("annotations"):
            pod_meta["annotations"] = meta["annotations"]
        if name:
            pod_meta["name"] = name
        else:
            pod_meta["generateName"] = owner["metadata"]["name"] + "-"
        spec = template.get("spec") or {}
        spec.update(spec_extra or {})
        return await self.store.create(
            "pods",
            {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec},
            owner["metadata"]["namespace"],
        )

    async def _replicaset(self, rs: Obj) -> None:
        ns = rs["metadata"]["namespace"]
        replicas = (rs.get("spec") or {}).get("replicas", 1)
        pods = await self._pods_of(rs)
        for _ in range(replicas - len(pods)):
            await self._create_pod(rs, "ReplicaSet")
        for pod in sorted(pods, key=lambda p: (pod_ready(p), p["metadata"]["name"]))[
            : max(len(pods) - replicas, 0)
        ]:
            await self.store.delete("pods", pod["metadata"]["name"], ns)
        pods = await self._pods_of(rs)
        ready = sum(1 for p in pods if pod_ready(p))
        min_ready, now = (rs.get("spec") or {}).get("minReadySeconds", 0), time.time()
        waits = [available_in(p, min_ready, now) for p in pods]
        if any(waits):
            self._requeue_later("replicasets.apps", rs, min(w for w in waits if w) + 0.05)
        await self._set_status(
            "replicasets.apps",
            rs,
            {
                "replicas": len(pods),
                "fullyLabeledReplicas": len(pods),
                "readyReplicas": ready,
                "availableReplicas": waits.count(0),
                "observedGeneration": rs["metadata"].get("generation", 1),
            },
        )

    # ----- StatefulSet -----------------------------------------------------------------

    async def _statefulset(self, sts: Obj) -> None:
        ns, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        spec = sts.get("spec") or {}
        replicas = spec.get("replicas", 1)
        revision = f"{name}-{template_hash(spec.get('template') or {})}"
        pods = {p["metadata"]["name"]: p for p in await self._pods_of(sts)}
        parallel = spec.get("podManagementPolicy") == "Parallel"
        for i in range(replicas):
            pod_name = f"{name}-{i}"
            if pod_name in pods:
                if not parallel and not pod_ready(pods[pod_name]):
                    break
                continue
            for claim in spec.get("volumeClaimTemplates") or []:
                claim_name = f"{claim['metadata']['name']}-{pod_name}"
                if self.store.peek("persistentvolumeclaims", claim_name, ns) is None:
                    body = clone(claim)
                    body["metadata"] = {
                        **(claim.get("metadata") or {}),
                        "name": claim_name,
                        "labels": (spec.get("selector") or {}).get("matchLabels", {}),
                    }
                    body.pop("status", None)
                    await self.store.create("persistentvolumeclaims", body, ns)
            volumes = [
                {
                    "name": c["metadata"]["name"],
                    "persistentVolumeClaim": {"claimName": f"{c['metadata']['name']}-{pod_name}"},
                }
                for c in spec.get("volumeClaimTemplates") or []
            ]
            template_volumes = ((spec.get("template") or {}).get("spec") or {}).get("volumes") or []
            extra = {"hostname": pod_name}
            if spec.get("serviceName"):
                extra["subdomain"] = spec["serviceName"]
            if volumes:
                extra["volumes"] = template_volumes + volumes
            await self._create_pod(
                sts,
                "StatefulSet",
                pod_name,
                {
                    "statefulset.kubernetes.io/pod-name": pod_name,
                    "apps.kubernetes.io/pod-index": str(i),
                    "controller-revision-hash": revision,
                },
                extra,
            )
            if not parallel:
                break
        for pod_name, _pod in pods.items():
            if int(pod_name.rsplit("-", 1)[1]) >= replicas:
                await self.store.delete("pods", pod_name, ns)
        pods = await self._pods_of(sts)
        await self._roll_statefulset(sts, revision, pods)
        ready = sum(1 for p in pods if pod_ready(p))
        revisions = [p["metadata"]["labels"].get("controller-revision-hash") for p in pods]
        updated = revisions.count(revision)
        current = (sts.get("status") or {}).get("currentRevision") or revision
        if updated == len(pods) == replicas:
            current = revision  # the rollout is done: the update revision becomes current
        await self._set_status(
            "statefulsets.apps",
            sts,
            {
                "replicas": len(pods),
                "readyReplicas": ready,
                "availableReplicas": ready,
                "currentReplicas": revisions.count(current),
                "updatedReplicas": updated,
                "currentRevision": current,
                "updateRevision": revision,
                "observedGeneration": sts["metadata"].get("generation", 1),
            },
        )

    async def _roll_statefulset(self, sts: Obj, revision: str, pods: list[Obj]) -> None:
        """RollingUpdate: replace the highest-ordinal old pod at or above the partition,
        one at a time, once every pod is Ready (the real controller's order)."""
        spec = sts.get("spec") or {}
        strategy = spec.get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") != "RollingUpdate":
            return  # OnDelete: pods are replaced only when someone deletes them
        replicas = spec.get("replicas", 1)
        if len(pods) != replicas or not all(pod_ready(p) for p in pods):
            return
        partition = (strategy.get("rollingUpdate") or {}).get("partition", 0)
        by_ordinal = {int(p["metadata"]["name"].rsplit("-", 1)[1]): p for p in pods}
        for ordinal in range(replicas - 1, partition - 1, -1):
            pod = by_ordinal.get(ordinal)
            if pod and pod["metadata"]["labels"].get("controller-revision-hash") != revision:
                await self.store.delete(
                    "pods", pod["metadata"]["name"], pod["metadata"]["namespace"]
                )
                return
