"""The Deployment controller: one ReplicaSet per pod template, rolled out by strategy.

As kube-controller-manager's deployment controller (pkg/controller/deployment):
- `Recreate` scales every old ReplicaSet to zero and makes the new one only
  once no old pod is left at all, terminating ones included (rolloutRecreate);
- `RollingUpdate` grows the new ReplicaSet while all pods stay within
  `replicas + maxSurge` (percentages round up) and shrinks old ones while the
  available pods stay at least `replicas - maxUnavailable` (round down),
  unhealthy old pods first (reconcileNewReplicaSet / reconcileOldReplicaSets);
- ReplicaSets carry `deployment.kubernetes.io/revision`; going back to an
  older template (`kubectl rollout undo`, `helm rollback`) gives its ReplicaSet
  the next revision again; old empty ones beyond `revisionHistoryLimit` go;
- conditions `Available` and `Progressing` (NewReplicaSetCreated,
  ReplicaSetUpdated, NewReplicaSetAvailable, and False ProgressDeadlineExceeded
  after `progressDeadlineSeconds` without progress), as kubectl reads them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kubesim.api.store import now_rfc3339
from kubesim.model.errors import ApiError
from kubesim.model.jsonutil import clone
from kubesim.model.ownership import controller_of, owner_reference, scaled_value, template_hash

Obj = dict[str, Any]
REVISION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"


def revision_of(rs: Obj) -> int:
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def rolling_limits(deploy: Obj) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as pod counts (ResolveFenceposts)."""
    spec = deploy.get("spec") or {}
    replicas = spec.get("replicas", 1)
    strategy = spec.get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0, 0
    rolling = strategy.get("rollingUpdate") or {}
    surge = scaled_value(rolling.get("maxSurge", "25%"), replicas, True, "maxSurge")
    unavailable = scaled_value(
        rolling.get("maxUnavailable", "25%"), replicas, False, "maxUnavailable"
    )
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def scale_old_for_rolling(
    deploy: Obj, new_rs: Obj, old: list[Obj], new_replicas: int
) -> dict[str, int]:
    """Old ReplicaSet name -> its new size, within maxUnavailable (reconcileOldReplicaSets)."""
    replicas = (deploy.get("spec") or {}).get("replicas", 1)
    _, max_unavailable = rolling_limits(deploy)
    min_available = replicas - max_unavailable
    sizes = {rs["metadata"]["name"]: rs["spec"].get("replicas", 0) for rs in old}
    if not sum(sizes.values()):
        return sizes
    all_pods = sum(sizes.values()) + new_replicas
    new_available = (new_rs.get("status") or {}).get("availableReplicas", 0)
    new_unavailable = max(new_replicas - new_available, 0)
    budget = all_pods - min_available - new_unavailable
    if budget <= 0:
        return sizes
    ordered = sorted(old, key=lambda rs: (rs["metadata"]["creationTimestamp"], revision_of(rs)))
    # unhealthy old pods first: they cost no availability
    for rs in ordered:
        name = rs["metadata"]["name"]
        unhealthy = sizes[name] - (rs.get("status") or {}).get("availableReplicas", 0)
        cut = max(min(budget, unhealthy), 0)
        sizes[name] -= cut
        budget -= cut
    available = (
        sum(
            min((rs.get("status") or {}).get("availableReplicas", 0), sizes[rs["metadata"]["name"]])
            for rs in old
        )
        + new_available
    )
    room = available - min_available
    for rs in ordered:
        name = rs["metadata"]["name"]
        cut = max(min(sizes[name], room), 0)
        sizes[name] -= cut
        room -= cut
    return sizes


def new_size_for_rolling(deploy: Obj, new_replicas: int, old_total: int) -> int:
    """The new ReplicaSet's size within maxSurge (reconcileNewReplicaSet)."""
    replicas = (deploy.get("spec") or {}).get("replicas", 1)
    if new_replicas >= replicas:
        return replicas
    surge, _ = rolling_limits(deploy)
    room = replicas + surge - (old_total + new_replicas)
    return min(replicas, new_replicas + max(room, 0))


def _epoch(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


class DeploymentController:
    def __init__(self, store, requeue: Callable[[Obj, float], None]):
        self.store = store
        self.requeue = requeue

    def _owned(self, key: str, owner: Obj) -> list[Obj]:
        uid = owner["metadata"]["uid"]
        items, _ = self.store.list(key, owner["metadata"]["namespace"])
        return [o for o in items if (controller_of(o) or {}).get("uid") == uid]

    async def sync(self, deploy: Obj) -> None:
        name = deploy["metadata"]["name"]
        spec = deploy.get("spec") or {}
        replicas = spec.get("replicas", 1)
        template = spec.get("template") or {}
        pod_hash = template_hash(template)
        rs_name = f"{name}-{pod_hash}"
        owned = self._owned("replicasets.apps", deploy)
        new_rs = next((rs for rs in owned if rs["metadata"]["name"] == rs_name), None)
        old = [rs for rs in owned if rs is not new_rs]
        top = max((revision_of(rs) for rs in old), default=0)
        created = False
        if spec.get("paused"):
            await self._status(deploy, new_rs, owned, created)
            return
        recreate = (spec.get("strategy") or {}).get("type") == "Recreate"
        old_total = sum(rs["spec"].get("replicas", 0) for rs in old)
        if recreate:
            for rs in old:
                await self._scale(rs, 0)
            old_pods = [p for rs in old for p in self._owned("pods", rs)]
            target = 0 if old_pods or old_total else replicas
        else:
            target = new_size_for_rolling(
                deploy, (new_rs or {}).get("spec", {}).get("replicas", 0), old_total
            )
        if new_rs is None:
            new_rs = await self._create_rs(deploy, rs_name, pod_hash, target, top + 1)
            created = True
        else:
            if revision_of(new_rs) <= top:
                await self._annotate("replicasets.apps", new_rs, top + 1)
            await self._scale(new_rs, target)
        if not recreate:
            sizes = scale_old_for_rolling(deploy, new_rs, old, target)
            for rs in old:
                await self._scale(rs, sizes[rs["metadata"]["name"]])
        await self._annotate("deployments.apps", deploy, max(top + 1, revision_of(new_rs)))
        await self._prune(deploy, old)
        owned = self._owned("replicasets.apps", deploy)
        new_rs = next((rs for rs in owned if rs["metadata"]["name"] == rs_name), new_rs)
        await self._status(deploy, new_rs, owned, created)

    # ----- writes

    async def _create_rs(self, deploy, rs_name, pod_hash, replicas, revision) -> Obj:
        spec = deploy.get("spec") or {}
        template = clone(spec.get("template") or {})
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = pod_hash
        selector = clone(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
        surge, _ = rolling_limits(deploy)
        rs_spec: Obj = {"replicas": replicas, "selector": selector, "template": template}
        if spec.get("minReadySeconds"):
            rs_spec["minReadySeconds"] = spec["minReadySeconds"]
        return await self.store.create(
            "replicasets.apps",
            {
                "metadata": {
                    "name": rs_name,
                    "labels": template["metadata"]["labels"],
                    "annotations": {
                        "deployment.kubernetes.io/desired-replicas": str(spec.get("replicas", 1)),
                        "deployment.kubernetes.io/max-replicas": str(
                            spec.get("replicas", 1) + surge
                        ),
                        REVISION: str(revision),
                    },
                    "ownerReferences": [owner_reference(deploy, "Deployment", "apps/v1")],
                },
                "spec": rs_spec,
            },
            deploy["metadata"]["namespace"],
        )

    async def _scale(self, rs: Obj, replicas: int) -> None:
        if rs["spec"].get("replicas") != replicas:
            await self.store.patch(
                "replicasets.apps",
                rs["metadata"]["name"],
                {"spec": {"replicas": replicas}},
                "merge",
                rs["metadata"]["namespace"],
            )

    async def _annotate(self, key: str, obj: Obj, revision: int) -> None:
        """Set the revision annotation of a ReplicaSet or Deployment."""
        if (obj["metadata"].get("annotations") or {}).get(REVISION) != str(revision):
            await self.store.patch(
                key,
                obj["metadata"]["name"],
                {"metadata": {"annotations": {REVISION: str(revision)}}},
                "merge",
                obj["metadata"]["namespace"],
            )

    async def _prune(self, deploy: Obj, old: list[Obj]) -> None:
        limit = (deploy.get("spec") or {}).get("revisionHistoryLimit", 10)
        empty = sorted(
            (
                rs
                for rs in old
                if not rs["spec"].get("replicas") and not (rs.get("status") or {}).get("replicas")
            ),
            key=revision_of,
        )
        for rs in empty[: max(len(empty) - limit, 0)]:
            try:
                await self.store.delete(
                    "replicasets.apps", rs["metadata"]["name"], rs["metadata"]["namespace"]
                )
            except ApiError as error:
                if error.code != 404:
                    raise

    async def _status(self, deploy: Obj, new_rs: Obj | None, owned: list[Obj], created: bool):
        spec, old = deploy.get("spec") or {}, deploy.get("status") or {}
        replicas = spec.get("replicas", 1)
        statuses = [rs.get("status") or {} for rs in owned]
        total = sum(s.get("replicas", 0) for s in statuses)
        ready = sum(s.get("readyReplicas", 0) for s in statuses)
        available = sum(s.get("availableReplicas", 0) for s in statuses)
        updated = ((new_rs or {}).get("status") or {}).get("replicas", 0)
        _, max_unavailable = rolling_limits(deploy)
        rs_name = (new_rs or {}).get("metadata", {}).get("name", "")
        counts = {
            "observedGeneration": deploy["metadata"].get("generation", 1),
            "replicas": total,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": available,
            "unavailableReplicas": max(
                sum(rs["spec"].get("replicas", 0) for rs in owned) - available, 0
            ),
        }
        complete = updated == replicas and available >= replicas and total == replicas
        progressed = any(counts[k] != old.get(k) for k in counts if k != "observedGeneration")
        previous = {c["type"]: c for c in old.get("conditions") or []}
        now, stamp = time.time(), now_rfc3339()
        if complete:
            progressing = (
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{rs_name}" has successfully progressed.',
            )
        elif created:
            progressing = ("True", "NewReplicaSetCreated", f'Created new replica set "{rs_name}"')
        elif progressed or "Progressing" not in previous:
            progressing = ("True", "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.')
        else:
            last = previous["Progressing"]
            progressing = (last["status"], last.get("reason"), last.get("message"))
            deadline = spec.get("progressDeadlineSeconds")
            if deadline is not None and last.get("reason") != "NewReplicaSetAvailable":
                left = _epoch(last["lastUpdateTime"]) + deadline - now
                if left <= 0:
                    progressing = (
                        "False",
                        "ProgressDeadlineExceeded",
                        f'ReplicaSet "{rs_name}" has timed out progressing.',
                    )
                else:
                    self.requeue(deploy, left + 0.05)
        has_minimum = available >= replicas - max_unavailable
        wanted = {
            "Available": (
                "True" if has_minimum else "False",
                "MinimumReplicasAvailable" if has_minimum else "MinimumReplicasUnavailable",
                "Deployment has minimum availability."
                if has_minimum
                else "Deployment does not have minimum availability.",
            ),
            "Progressing": progressing,
        }
        conditions = []
        for type_, (status, reason, message) in wanted.items():
            before = previous.get(type_) or {}
            same = (before.get("status"), before.get("reason"), before.get("message")) == (
                status,
                reason,
                message,
            )
            if same and not (type_ == "Progressing" and progressed):
                conditions.append(before)
                continue
            conditions.append(
                {
                    "type": type_,
                    "status": status,
                    "lastUpdateTime": stamp,
                    "lastTransitionTime": before.get("lastTransitionTime", stamp)
                    if before.get("status") == status
                    else stamp,
                    "reason": reason,
                    "message": message,
                }
            )
        status = {**counts, "conditions": conditions}
        if status != {k: old.get(k) for k in status}:
            await self.store.update_status(
                "deployments.apps",
                deploy["metadata"]["name"],
                {"metadata": {"name": deploy["metadata"]["name"]}, "status": status},
                deploy["metadata"]["namespace"],
            )
