"""Workload controllers (opt-in): Deployments, ReplicaSets, StatefulSets and Jobs make pods.

`KubeSim(controllers=True)` / `--controllers` starts them. They work like the
kube-controller-manager's, simplified: a Deployment owns one ReplicaSet per
pod template (named `<deployment>-<template hash>`, labelled
`pod-template-hash`) and scales older ones to zero at once; a ReplicaSet keeps
`replicas` pods (`<rs>-xxxxx`); a StatefulSet creates `<sts>-0..n-1` in order,
each after the previous is Ready, with PVCs from volumeClaimTemplates; a Job
runs pods until `completions` succeed. Status fields are the ones `kubectl`
and `helm --wait` read. Pods reach nodes through the usual scheduler.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import Any

from .errors import ApiError
from .jsonutil import clone
from .store import Store, now_rfc3339

log = logging.getLogger(__name__)

Obj = dict[str, Any]
OWNED_KINDS = {
    "deployments.apps": "Deployment",
    "replicasets.apps": "ReplicaSet",
    "statefulsets.apps": "StatefulSet",
    "jobs.batch": "Job",
}


def template_hash(template: Obj) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
    return "".join(c for c in digest if c in "bcdfghjklmnpqrstvwxz2456789")[:10]


def owner_reference(obj: Obj, kind: str, api_version: str) -> Obj:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def controller_of(obj: Obj) -> Obj | None:
    return next(
        (r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")), None
    )


def pod_ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


class WorkloadControllers:
    def __init__(self, store: Store):
        self.store = store
        self._queue: asyncio.Queue[tuple[str, str, str]] = asyncio.Queue()
        self._pending: set[tuple[str, str, str]] = set()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self.store.on_change.append(self._on_change)
        for key in OWNED_KINDS:
            for obj in self.store.list(key)[0]:
                self._enqueue(key, obj)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._on_change in self.store.on_change:
            self.store.on_change.remove(self._on_change)
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def _enqueue(self, key: str, obj: Obj) -> None:
        item = (key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if item not in self._pending:
            self._pending.add(item)
            self._queue.put_nowait(item)

    def _on_change(self, event_type: str, rt, obj: Obj, old: Obj | None) -> None:
        if rt.key in OWNED_KINDS:
            self._enqueue(rt.key, obj)
        owner = controller_of(obj)
        if owner:
            for key, kind in OWNED_KINDS.items():
                if kind == owner.get("kind"):
                    ns = obj["metadata"].get("namespace", "")
                    self._enqueue(key, {"metadata": {"namespace": ns, "name": owner["name"]}})

    async def _run(self) -> None:
        while True:
            key, ns, name = await self._queue.get()
            self._pending.discard((key, ns, name))
            obj = self.store.peek(key, name, ns)
            if obj is None or obj["metadata"].get("deletionTimestamp"):
                continue
            try:
                if key == "deployments.apps":
                    await self._deployment(obj)
                elif key == "replicasets.apps":
                    await self._replicaset(obj)
                elif key == "statefulsets.apps":
                    await self._statefulset(obj)
                elif key == "jobs.batch":
                    await self._job(obj)
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

    # ----- Deployment ----------------------------------------------------------------

    async def _deployment(self, deploy: Obj) -> None:
        ns, name = deploy["metadata"]["namespace"], deploy["metadata"]["name"]
        spec = deploy.get("spec") or {}
        replicas = spec.get("replicas", 1)
        template = spec.get("template") or {}
        pod_hash = template_hash(template)
        rs_name = f"{name}-{pod_hash}"
        owned = self._owned("replicasets.apps", deploy)
        current = next((rs for rs in owned if rs["metadata"]["name"] == rs_name), None)
        if current is None:
            rs_template = clone(template)
            rs_template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = (
                pod_hash
            )
            selector = clone(spec.get("selector") or {})
            selector.setdefault("matchLabels", {})["pod-template-hash"] = pod_hash
            current = await self.store.create(
                "replicasets.apps",
                {
                    "metadata": {
                        "name": rs_name,
                        "labels": {
                            **(template.get("metadata") or {}).get("labels", {}),
                            "pod-template-hash": pod_hash,
                        },
                        "annotations": {
                            "deployment.kubernetes.io/desired-replicas": str(replicas),
                            "deployment.kubernetes.io/revision": str(len(owned) + 1),
                        },
                        "ownerReferences": [owner_reference(deploy, "Deployment", "apps/v1")],
                    },
                    "spec": {"replicas": replicas, "selector": selector, "template": rs_template},
                },
                ns,
            )
        elif (current.get("spec") or {}).get("replicas") != replicas:
            await self.store.patch(
                "replicasets.apps", rs_name, {"spec": {"replicas": replicas}}, "merge", ns
            )
        for rs in owned:
            if rs["metadata"]["name"] != rs_name and (rs.get("spec") or {}).get("replicas"):
                await self.store.patch(
                    "replicasets.apps",
                    rs["metadata"]["name"],
                    {"spec": {"replicas": 0}},
                    "merge",
                    ns,
                )
        owned = self._owned("replicasets.apps", deploy)
        new_status = next(
            (rs.get("status") or {} for rs in owned if rs["metadata"]["name"] == rs_name), {}
        )
        total = sum((rs.get("status") or {}).get("replicas", 0) for rs in owned)
        ready = sum((rs.get("status") or {}).get("readyReplicas", 0) for rs in owned)
        available = sum((rs.get("status") or {}).get("availableReplicas", 0) for rs in owned)
        updated = new_status.get("replicas", 0)
        now = now_rfc3339()
        complete = updated == replicas and available >= replicas and total == replicas
        status: Obj = {
            "observedGeneration": deploy["metadata"].get("generation", 1),
            "replicas": total,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": available,
            "unavailableReplicas": max(replicas - available, 0),
            "conditions": [
                {
                    "type": "Available",
                    "status": "True" if available >= replicas else "False",
                    "reason": "MinimumReplicasAvailable"
                    if available >= replicas
                    else "MinimumReplicasUnavailable",
                    "message": "Deployment has minimum availability."
                    if available >= replicas
                    else "Deployment does not have minimum availability.",
                    "lastUpdateTime": now,
                    "lastTransitionTime": now,
                },
                {
                    "type": "Progressing",
                    "status": "True",
                    "reason": "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
                    "message": f'ReplicaSet "{rs_name}" has successfully progressed.'
                    if complete
                    else f'ReplicaSet "{rs_name}" is progressing.',
                    "lastUpdateTime": now,
                    "lastTransitionTime": now,
                },
            ],
        }
        old = deploy.get("status") or {}
        if (
            {k: v for k, v in status.items() if k != "conditions"}
            != {k: old.get(k) for k in status if k != "conditions"}
            or [c["status"] for c in status["conditions"]]
            != [c.get("status") for c in old.get("conditions") or []]
            or [c["reason"] for c in status["conditions"]]
            != [c.get("reason") for c in old.get("conditions") or []]
        ):
            await self._set_status("deployments.apps", deploy, status)

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
        await self._set_status(
            "replicasets.apps",
            rs,
            {
                "replicas": len(pods),
                "fullyLabeledReplicas": len(pods),
                "readyReplicas": ready,
                "availableReplicas": ready,
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
        ready = sum(1 for p in pods if pod_ready(p))
        await self._set_status(
            "statefulsets.apps",
            sts,
            {
                "replicas": len(pods),
                "readyReplicas": ready,
                "availableReplicas": ready,
                "currentReplicas": len(pods),
                "updatedReplicas": len(pods),
                "currentRevision": revision,
                "updateRevision": revision,
                "observedGeneration": sts["metadata"].get("generation", 1),
            },
        )

    # ----- Job -------------------------------------------------------------------------

    async def _job(self, job: Obj) -> None:
        spec = job.get("spec") or {}
        completions = spec.get("completions", 1)
        parallelism = spec.get("parallelism", 1)
        backoff_limit = spec.get("backoffLimit", 6)
        pods = self._owned("pods", job)
        succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
        failed = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Failed")
        active = [
            p
            for p in pods
            if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
            and not p["metadata"].get("deletionTimestamp")
        ]
        status: Obj = {"succeeded": succeeded, "failed": failed, "active": len(active)}
        conditions = (job.get("status") or {}).get("conditions") or []
        finished = any(c.get("type") in ("Complete", "Failed") for c in conditions)
        if not finished:
            now = now_rfc3339()
            if succeeded >= completions:
                status["conditions"] = [
                    {
                        "type": "Complete",
                        "status": "True",
                        "lastProbeTime": now,
                        "lastTransitionTime": now,
                    }
                ]
                status["completionTime"] = now
            elif failed > backoff_limit:
                status["conditions"] = [
                    {
                        "type": "Failed",
                        "status": "True",
                        "reason": "BackoffLimitExceeded",
                        "message": "Job has reached the specified backoff limit",
                        "lastProbeTime": now,
                        "lastTransitionTime": now,
                    }
                ]
            else:
                wanted = min(parallelism, completions - succeeded) - len(active)
                for _ in range(max(wanted, 0)):
                    await self._create_pod(
                        job,
                        "Job",
                        extra_labels={
                            "batch.kubernetes.io/job-name": job["metadata"]["name"],
                            "job-name": job["metadata"]["name"],
                        },
                    )
                status["active"] = len(active) + max(wanted, 0)
            if not (job.get("status") or {}).get("startTime"):
                status["startTime"] = now
        await self._set_status("jobs.batch", job, status)
