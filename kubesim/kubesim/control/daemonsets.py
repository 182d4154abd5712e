"""The DaemonSet controller: one pod per eligible node, rolled out node by node.

It follows kube-controller-manager's daemon controller (pkg/controller/daemon):
- a node is eligible when the pod template's nodeSelector and required node
  affinity match it and it has no NoSchedule/NoExecute taint the pod does not
  tolerate; an untolerated NoSchedule taint keeps a running pod, an untolerated
  NoExecute one removes it (nodeShouldRunDaemonPod);
- each pod gets the default DaemonSet tolerations (AddOrUpdateDaemonPodTolerations)
  and is pinned to its node by required node affinity `matchFields
  metadata.name In [node]` replacing the template's terms
  (ReplaceDaemonSetPodNodeNameNodeAffinity); the scheduler then binds it;
- the template is recorded in a ControllerRevision `<ds>-<hash>`; pods carry
  `controller-revision-hash: <hash>` and `pod-template-generation`;
- RollingUpdate replaces old pods within maxUnavailable (and maxSurge, a new pod
  beside the old one until it is available); OnDelete only replaces deleted pods;
- pods bound to a node that no longer exists are removed (what the pod GC does).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kubesim.control.predicates import first_untolerated_taint, node_matches_selector_and_affinity
from kubesim.model.errors import ApiError
from kubesim.model.jsonutil import clone
from kubesim.model.ownership import (
    available_in,
    controller_of,
    owner_reference,
    scaled_value,
    template_hash,
)

Obj = dict[str, Any]

HASH_LABEL = "controller-revision-hash"
GENERATION_LABEL = "pod-template-generation"
# AddOrUpdateDaemonPodTolerations (pkg/controller/daemon/util/daemonset_util.go)
DEFAULT_TOLERATIONS = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)
HOST_NETWORK_TOLERATION = {
    "key": "node.kubernetes.io/network-unavailable",
    "operator": "Exists",
    "effect": "NoSchedule",
}


# ----- pure functions ---------------------------------------------------------------


def daemon_tolerations(spec: Obj) -> list[Obj]:
    """The template's tolerations plus the defaults (an existing key+effect is replaced)."""
    defaults = list(DEFAULT_TOLERATIONS)
    if spec.get("hostNetwork"):
        defaults.append(HOST_NETWORK_TOLERATION)
    tolerations = list(spec.get("tolerations") or [])
    for default in defaults:
        tolerations = [
            t
            for t in tolerations
            if (t.get("key"), t.get("effect")) != (default["key"], default["effect"])
        ]
        tolerations.append(dict(default))
    return tolerations


def pinned_affinity(affinity: Obj | None, node_name: str) -> Obj:
    """The template's affinity with its required node terms replaced by the node's name."""
    affinity = clone(affinity or {})
    node_affinity = affinity.setdefault("nodeAffinity", {})
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {
        "nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}
        ]
    }
    return affinity


def daemon_pod_spec(template_spec: Obj, node_name: str) -> Obj:
    spec = clone(template_spec)
    spec["tolerations"] = daemon_tolerations(spec)
    spec["affinity"] = pinned_affinity(spec.get("affinity"), node_name)
    return spec


def node_eligibility(template_spec: Obj, node: Obj) -> tuple[bool, bool]:
    """(should run a pod there, may keep a running one there): nodeShouldRunDaemonPod."""
    wanted = template_spec.get("nodeName")
    if wanted and wanted != node["metadata"]["name"]:
        return False, False
    if not node_matches_selector_and_affinity({"spec": template_spec}, node):
        return False, False
    tolerations = daemon_tolerations(template_spec)
    taints = (node.get("spec") or {}).get("taints") or []
    if first_untolerated_taint(tolerations, taints, ("NoExecute",)) is not None:
        return False, False
    if first_untolerated_taint(tolerations, taints, ("NoSchedule",)) is not None:
        return False, True
    return True, True


def pod_node(pod: Obj) -> str | None:
    """The node a daemon pod is for: its nodeName, or the one its affinity pins it to."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return spec["nodeName"]
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    for term in required.get("nodeSelectorTerms") or []:
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("values"):
                return field["values"][0]
    return None


def rolling_limits(ds: Obj, desired: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as pod counts; percentages round up (as the real one)."""
    rolling = ((ds.get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate") or {}
    surge = scaled_value(rolling.get("maxSurge", 0), desired, True, "rollingUpdate.maxSurge")
    unavailable = scaled_value(
        rolling.get("maxUnavailable", 1), desired, True, "rollingUpdate.maxUnavailable"
    )
    if surge == 0 and unavailable == 0:
        unavailable = 1  # validation forbids both zero; never stall
    return surge, unavailable


def revision_data(template: Obj) -> Obj:
    """What a DaemonSet ControllerRevision holds: a patch that restores the template."""
    return {"spec": {"template": {**clone(template), "$patch": "replace"}}}


# ----- the controller ---------------------------------------------------------------


class DaemonSetController:
    def __init__(self, store, requeue: Callable[[Obj, float], None]):
        self.store = store
        self.requeue = requeue  # (daemonset, delay seconds): sync it again later

    def _owned(self, key: str, ds: Obj) -> list[Obj]:
        uid = ds["metadata"]["uid"]
        items, _ = self.store.list(key, ds["metadata"]["namespace"])
        return [o for o in items if (controller_of(o) or {}).get("uid") == uid]

    async def sync(self, ds: Obj) -> None:
        spec = ds.get("spec") or {}
        template = spec.get("template") or {}
        template_spec = template.get("spec") or {}
        current_hash = await self._revision(ds, template)
        nodes = {n["metadata"]["name"]: n for n in self.store.list("nodes")[0]}
        by_node: dict[str, list[Obj]] = {}
        terminating: set[str] = set()
        for pod in self._owned("pods", ds):
            node = pod_node(pod)
            if node not in nodes:
                # the pod GC removes pods of vanished nodes at once (force deletion)
                await self._delete(pod, grace=0)
                continue
            if pod["metadata"].get("deletionTimestamp"):
                terminating.add(node)
            elif (pod.get("status") or {}).get("phase") == "Failed":
                await self._delete(pod)  # a failed daemon pod is replaced
                terminating.add(node)
            else:
                by_node.setdefault(node, []).append(pod)
        eligibility = {name: node_eligibility(template_spec, n) for name, n in nodes.items()}
        desired = sum(1 for run, _ in eligibility.values() if run)
        strategy = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate")
        surge = rolling_limits(ds, desired)[0] if strategy == "RollingUpdate" else 0
        now = time.time()
        min_ready = spec.get("minReadySeconds", 0) or 0
        wake: list[float] = []

        def available(pod: Obj) -> bool:
            left = available_in(pod, min_ready, now)
            if left:
                wake.append(left)
            return left == 0

        for name, (run, keep) in eligibility.items():
            pods = by_node.get(name, [])
            if not keep or (not run and not pods):
                for pod in pods:
                    await self._delete(pod)
                by_node.pop(name, None)
                continue
            if run and not pods and name not in terminating:
                by_node[name] = [await self._create_pod(ds, name, current_hash)]
                continue
            new = [p for p in pods if _hash_of(p) == current_hash]
            old = [p for p in pods if _hash_of(p) != current_hash]
            keep_pods = new[:1] + old[:1] if surge else (new or old)[:1]
            for pod in pods:
                if pod not in keep_pods:
                    await self._delete(pod)
            by_node[name] = keep_pods
        if strategy == "RollingUpdate":
            await self._roll(ds, by_node, eligibility, current_hash, available)
        await self._set_status(ds, by_node, eligibility, current_hash, available)
        if wake:
            self.requeue(ds, min(wake) + 0.05)

    async def _roll(self, ds, by_node, eligibility, current_hash, available) -> None:
        desired = sum(1 for run, _ in eligibility.values() if run)
        surge, max_unavailable = rolling_limits(ds, desired)
        unavailable, surged = 0, 0
        to_delete: list[Obj] = []
        candidates: list[Obj] = []
        to_surge: list[str] = []
        for name, (run, _keep) in eligibility.items():
            if not run:
                continue
            pods = by_node.get(name, [])
            new = next((p for p in pods if _hash_of(p) == current_hash), None)
            old = next((p for p in pods if _hash_of(p) != current_hash), None)
            if new is None and old is None:
                unavailable += 1  # missing, or its old pod is still terminating
            elif old is None:
                if not available(new):
                    unavailable += 1
            elif new is not None:  # surge in progress on this node
                if available(new):
                    to_delete.append(old)
                else:
                    surged += 1
            elif not available(old):
                if surge:
                    to_surge.append(name)
                else:
                    to_delete.append(old)  # an unavailable old pod may always go
            elif surge:
                to_surge.append(name)
            else:
                candidates.append(old)
        for pod in to_delete:
            await self._delete(pod)
        for pod in candidates[: max(max_unavailable - unavailable, 0)]:
            await self._delete(pod)
        for name in to_surge[: max(surge - surged, 0)]:
            by_node[name].append(await self._create_pod(ds, name, current_hash))

    # ----- writes

    async def _create_pod(self, ds: Obj, node_name: str, current_hash: str) -> Obj:
        template = clone((ds.get("spec") or {}).get("template") or {})
        meta = template.get("metadata") or {}
        pod_meta: Obj = {
            "generateName": ds["metadata"]["name"] + "-",
            "labels": {
                **(meta.get("labels") or {}),
                HASH_LABEL: current_hash,
                GENERATION_LABEL: str(ds["metadata"].get("generation", 1)),
            },
            "ownerReferences": [owner_reference(ds, "DaemonSet", "apps/v1")],
        }
        if meta.get("annotations"):
            pod_meta["annotations"] = meta["annotations"]
        return await self.store.create(
            "pods",
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": pod_meta,
                "spec": daemon_pod_spec(template.get("spec") or {}, node_name),
            },
            ds["metadata"]["namespace"],
        )

    async def _delete(self, pod: Obj, grace: int | None = None) -> None:
        if pod["metadata"].get("deletionTimestamp") and grace is None:
            return
        try:
            await self.store.delete(
                "pods", pod["metadata"]["name"], pod["metadata"]["namespace"], grace
            )
        except ApiError as error:
            if error.code != 404:
                raise

    async def _revision(self, ds: Obj, template: Obj) -> str:
        """Make sure a ControllerRevision holds the current template; its hash.

        A template that returns to an older revision (rollout undo) moves that
        revision to the top, as the real controller does; older ones beyond
        revisionHistoryLimit are pruned.
        """
        ns, name = ds["metadata"]["namespace"], ds["metadata"]["name"]
        current_hash = template_hash(template)
        revision_name = f"{name}-{current_hash}"
        revisions = self._owned("controllerrevisions.apps", ds)
        top = max((r.get("revision", 0) for r in revisions), default=0)
        mine = next((r for r in revisions if r["metadata"]["name"] == revision_name), None)
        if mine is None:
            await self.store.create(
                "controllerrevisions.apps",
                {
                    "apiVersion": "apps/v1",
                    "kind": "ControllerRevision",
                    "metadata": {
                        "name": revision_name,
                        "labels": {
                            **((template.get("metadata") or {}).get("labels") or {}),
                            HASH_LABEL: current_hash,
                        },
                        "ownerReferences": [owner_reference(ds, "DaemonSet", "apps/v1")],
                    },
                    "data": revision_data(template),
                    "revision": top + 1,
                },
                ns,
            )
        elif mine.get("revision", 0) < top:
            await self.store.patch(
                "controllerrevisions.apps", revision_name, {"revision": top + 1}, "merge", ns
            )
        limit = (ds.get("spec") or {}).get("revisionHistoryLimit", 10)
        in_use = {_hash_of(p) for p in self._owned("pods", ds)} | {current_hash}
        old = sorted(
            (r for r in revisions if r["metadata"]["labels"].get(HASH_LABEL) not in in_use),
            key=lambda r: r.get("revision", 0),
        )
        for revision in old[: max(len(old) - limit, 0)]:
            try:
                await self.store.delete(
                    "controllerrevisions.apps", revision["metadata"]["name"], ns
                )
            except ApiError as error:
                if error.code != 404:
                    raise
        return current_hash

    async def _set_status(self, ds, by_node, eligibility, current_hash, available) -> None:
        desired = current = misscheduled = ready = avail = updated = 0
        for name, (run, _keep) in eligibility.items():
            pods = by_node.get(name, [])
            if not run:
                misscheduled += bool(pods)
                continue
            desired += 1
            if not pods:
                continue
            current += 1
            pod = next((p for p in pods if _hash_of(p) == current_hash), pods[0])
            if _hash_of(pod) == current_hash:
                updated += 1
            if available_in(pod, 0, 0) is not None:
                ready += 1
                avail += available(pod)
        status = {
            "desiredNumberScheduled": desired,
            "currentNumberScheduled": current,
            "numberMisscheduled": misscheduled,
            "numberReady": ready,
            "numberAvailable": avail,
            "updatedNumberScheduled": updated,
            "observedGeneration": ds["metadata"].get("generation", 1),
        }
        if desired - avail:
            status["numberUnavailable"] = desired - avail
        old = ds.get("status") or {}
        if any(old.get(k) != v for k, v in status.items()) or (
            "numberUnavailable" in old and "numberUnavailable" not in status
        ):
            # a status PUT: numberUnavailable is omitted (zero) once all are available
            await self.store.update_status(
                "daemonsets.apps",
                ds["metadata"]["name"],
                {"metadata": {"name": ds["metadata"]["name"]}, "status": status},
                ds["metadata"]["namespace"],
            )


def _hash_of(pod: Obj) -> str | None:
    return (pod["metadata"].get("labels") or {}).get(HASH_LABEL)
