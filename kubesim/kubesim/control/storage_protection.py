"""Storage object in-use protection: the `kubernetes.io/pvc-protection` and
`kubernetes.io/pv-protection` finalizers.

As in Kubernetes, admission (the StorageObjectInUseProtection plugin) puts the
finalizer on every new PersistentVolumeClaim and PersistentVolume
(`kubesim.api.defaults`), so deleting one only marks it Terminating; the
pvc-protection controller removes the finalizer once no pod that is not
Succeeded or Failed uses the claim, the pv-protection controller once the
volume is no longer Bound to an existing claim. Then the object goes.
"""

from __future__ import annotations

import logging
from typing import Any

from kubesim.api.store_workers import StoreWorker

log = logging.getLogger(__name__)
Obj = dict[str, Any]
PVC_FINALIZER = "kubernetes.io/pvc-protection"
PV_FINALIZER = "kubernetes.io/pv-protection"
TERMINAL = ("Succeeded", "Failed")


def claims_of(pod: Obj) -> set[str]:
    """The claim names a pod's volumes use (generic ephemeral volumes included)."""
    names = set()
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        if volume.get("persistentVolumeClaim"):
            names.add(volume["persistentVolumeClaim"].get("claimName"))
        elif volume.get("ephemeral"):
            names.add(f"{pod['metadata']['name']}-{volume['name']}")
    return names


def claim_in_use(claim: Obj, pods: list[Obj]) -> bool:
    name = claim["metadata"]["name"]
    return any(
        (p.get("status") or {}).get("phase") not in TERMINAL and name in claims_of(p) for p in pods
    )


def volume_in_use(volume: Obj, store) -> bool:
    """Bound to a claim that still exists (the real one: status.phase Bound)."""
    if (volume.get("status") or {}).get("phase") != "Bound":
        return False
    ref = (volume.get("spec") or {}).get("claimRef") or {}
    claim = store.peek("persistentvolumeclaims", ref.get("name", ""), ref.get("namespace"))
    return claim is not None and claim["metadata"]["uid"] == ref.get(
        "uid", claim["metadata"]["uid"]
    )


class StorageProtection(StoreWorker):
    def initial(self) -> list[tuple[str, str, str]]:
        return [
            (key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            for key in ("persistentvolumeclaims", "persistentvolumes")
            for obj in self.store.list(key)[0]
            if obj["metadata"].get("deletionTimestamp")
        ]

    def on_change(self, event_type: str, rt, obj: Obj, old: Obj | None) -> None:
        meta = obj["metadata"]
        if rt.key in ("persistentvolumeclaims", "persistentvolumes"):
            if meta.get("deletionTimestamp") and event_type != "DELETED":
                self.enqueue((rt.key, meta.get("namespace", ""), meta["name"]))
            if rt.key == "persistentvolumeclaims" and event_type == "DELETED":
                for volume in self.store.list("persistentvolumes")[0]:
                    if volume["metadata"].get("deletionTimestamp"):
                        self.enqueue(("persistentvolumes", "", volume["metadata"]["name"]))
        elif rt.key != "pods":
            return
        elif event_type == "DELETED" or (obj.get("status") or {}).get("phase") in TERMINAL:
            for claim in claims_of(obj):
                self.enqueue(("persistentvolumeclaims", meta["namespace"], claim))

    def failed(self, item: tuple[str, str, str], error) -> None:
        if error.code == 409:
            self.enqueue(item)  # changed meanwhile: look again
        elif error.code != 404:
            log.warning("%s %s/%s: %s", *item, error.message)

    async def sync(self, item: tuple[str, str, str]) -> None:
        await self._sync(*item)

    async def _sync(self, key: str, namespace: str, name: str) -> None:
        obj = self.store.peek(key, name, namespace or None)
        if obj is None or not obj["metadata"].get("deletionTimestamp"):
            return
        finalizer = PVC_FINALIZER if key == "persistentvolumeclaims" else PV_FINALIZER
        if finalizer not in (obj["metadata"].get("finalizers") or []):
            return
        if key == "persistentvolumeclaims":
            if claim_in_use(obj, self.store.list("pods", namespace)[0]):
                return
        elif volume_in_use(obj, self.store):
            return
        body = {
            "metadata": {
                "resourceVersion": obj["metadata"]["resourceVersion"],
                "finalizers": [f for f in obj["metadata"]["finalizers"] if f != finalizer],
            }
        }
        await self.store.patch(key, name, body, "merge", namespace or None)
