"""PersistentVolume binding and dynamic provisioning (the PV controller's job).

A Pending claim binds:
- to an Available PV that fits (same class, access modes, enough capacity,
  matching selector) - static binding; else
- to a new PV made for it, when its `storageClassName` names an existing
  StorageClass, or is unset and a default StorageClass exists (annotation
  storageclass.kubernetes.io/is-default-class=true). With
  volumeBindingMode WaitForFirstConsumer this waits until the scheduler has
  put a pod using it on a node (annotation volume.kubernetes.io/selected-node).

New PVs are hostPath volumes under `<state_dir>/pv/<namespace>/<claim name>`:
named by the claim, not by its uid, so a claim made again with the same name
after a kubesim restart (persistent state_dir) finds its data. Deleting the
claim releases its PV; with reclaimPolicy Delete the PV and its directory go
too (Retain keeps both). This one provisioner serves every StorageClass.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import shutil

from kubesim.api.store_workers import cancel_and_wait
from kubesim.model.errors import ApiError
from kubesim.model.quantities import parse_quantity

log = logging.getLogger(__name__)

COMPONENT = "persistentvolume-controller"
PROVISIONER = "kubesim.io/hostpath"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
SELECTED_NODE = "volume.kubernetes.io/selected-node"


class Provisioner:
    def __init__(self, ctx):
        self.ctx = ctx
        self.queue: asyncio.Queue = asyncio.Queue()
        self.queued: set = set()
        self._task: asyncio.Task | None = None

    @property
    def root(self) -> str | None:
        return os.path.join(self.ctx.state_dir, "pv") if self.ctx.state_dir else None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    # ----- events

    def on_claim(self, event_type: str, claim: dict) -> None:
        meta = claim["metadata"]
        if event_type == "DELETED":
            self.ctx.recorder.forget(meta["uid"])
            self._enqueue(("released", meta["namespace"], meta["name"], meta["uid"]))
        elif (claim.get("status") or {}).get("phase") != "Bound":
            self._enqueue(("claim", meta["namespace"], meta["name"], meta["uid"]))

    def on_class(self, event_type: str, storage_class: dict) -> None:
        for claim in self.ctx.store.list("persistentvolumeclaims")[0]:
            self.on_claim("MODIFIED", claim)

    def _enqueue(self, item) -> None:
        if item not in self.queued:
            self.queued.add(item)
            self.queue.put_nowait(item)

    async def _run(self) -> None:
        while True:
            item = await self.queue.get()
            self.queued.discard(item)
            try:
                if item[0] == "claim":
                    await self._bind(item[1], item[2])
                else:
                    await self._release(item[1], item[2], item[3])
            except ApiError as error:
                log.warning("volume binding for %s/%s failed: %s", item[1], item[2], error)
            except Exception:
                log.exception("volume binding for %s/%s failed", item[1], item[2])

    # ----- classes

    def storage_class(self, claim: dict) -> tuple[dict | None, str | None]:
        """(StorageClass, name) the claim uses; (None, None) when it uses none."""
        name = (claim.get("spec") or {}).get("storageClassName")
        if name == "":
            return None, None
        if name is None:
            for candidate in self.ctx.store.list("storageclasses")[0]:
                annotations = candidate["metadata"].get("annotations") or {}
                if annotations.get(DEFAULT_CLASS_ANNOTATION) == "true":
                    return candidate, candidate["metadata"]["name"]
            return None, None
        return self.ctx.store.peek("storageclasses", name), name

    def binding_mode(self, claim: dict) -> str:
        storage_class, _ = self.storage_class(claim)
        return (storage_class or {}).get("volumeBindingMode") or "Immediate"

    # ----- binding

    async def _bind(self, namespace: str, name: str) -> None:
        store = self.ctx.store
        claim = store.peek("persistentvolumeclaims", name, namespace)
        if claim is None or (claim.get("status") or {}).get("phase") == "Bound":
            return
        if claim["metadata"].get("deletionTimestamp"):
            return
        pv = self._find_static(claim)
        storage_class, class_name = self.storage_class(claim)
        if pv is None:
            if class_name is None:
                await self._claim_event(
                    claim,
                    "Normal",
                    "FailedBinding",
                    "no persistent volumes available for this claim and no storage class is set",
                )
                return
            if storage_class is None:
                await self._claim_event(
                    claim,
                    "Warning",
                    "ProvisioningFailed",
                    f'storageclass.storage.k8s.io "{class_name}" not found',
                )
                return
            annotations = claim["metadata"].get("annotations") or {}
            if (
                storage_class.get("volumeBindingMode") == "WaitForFirstConsumer"
                and SELECTED_NODE not in annotations
            ):
                await self._claim_event(
                    claim,
                    "Normal",
                    "WaitForFirstConsumer",
                    "waiting for first consumer to be created before binding",
                )
                return
            pv = await self._provision(claim, storage_class)
        await self._complete_binding(claim, pv)

    def _find_static(self, claim: dict) -> dict | None:
        spec = claim.get("spec") or {}
        wanted_class = spec.get("storageClassName") or ""
        if spec.get("storageClassName") is None:
            default, default_name = self.storage_class(claim)
            wanted_class = default_name or ""
        wanted_modes = set(spec.get("accessModes") or [])
        requested = parse_quantity(
            ((spec.get("resources") or {}).get("requests") or {}).get("storage", "0")
        )
        if spec.get("volumeName"):
            return self.ctx.store.peek("persistentvolumes", spec["volumeName"])
        candidates = []
        for pv in self.ctx.store.list("persistentvolumes")[0]:
            pv_spec = pv.get("spec") or {}
            claim_ref = pv_spec.get("claimRef")
            if claim_ref:
                if (
                    claim_ref.get("name") == claim["metadata"]["name"]
                    and claim_ref.get("namespace") == claim["metadata"]["namespace"]
                    and claim_ref.get("uid")
                    in (
                        None,
                        claim["metadata"]["uid"],
                    )
                ):
                    return pv
                continue
            if (pv.get("status") or {}).get("phase") not in (None, "Available", "Pending"):
                continue
            if (pv_spec.get("storageClassName") or "") != wanted_class:
                continue
            if not wanted_modes <= set(pv_spec.get("accessModes") or []):
                continue
            capacity = parse_quantity((pv_spec.get("capacity") or {}).get("storage", "0"))
            if capacity < requested:
                continue
            if not _selector_matches(spec.get("selector"), pv["metadata"].get("labels") or {}):
                continue
            candidates.append((capacity, pv["metadata"]["name"], pv))
        return min(candidates, key=lambda c: c[:2])[2] if candidates else None

    async def _provision(self, claim: dict, storage_class: dict) -> dict:
        meta = claim["metadata"]
        spec = claim.get("spec") or {}
        path = os.path.join(self.root or "/tmp/kubesim-pv", meta["namespace"], meta["name"])
        os.makedirs(path, exist_ok=True)
        os.chmod(path, 0o777)  # like the hostpath provisioners: any pod user may write
        storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        pv = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {
                "name": f"pvc-{meta['uid']}",
                "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER},
                "finalizers": ["kubernetes.io/pv-protection"],
            },
            "spec": {
                "capacity": {"storage": storage},
                "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy") or "Delete",
                "storageClassName": storage_class["metadata"]["name"],
                "volumeMode": spec.get("volumeMode") or "Filesystem",
                "hostPath": {"path": path, "type": "DirectoryOrCreate"},
                "claimRef": {
                    "kind": "PersistentVolumeClaim",
                    "apiVersion": "v1",
                    "namespace": meta["namespace"],
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "resourceVersion": meta.get("resourceVersion"),
                },
            },
        }
        try:
            created = await self.ctx.store.create("persistentvolumes", pv)
        except ApiError as error:
            if error.code != 409:
                raise
            created = self.ctx.store.get_nowait("persistentvolumes", pv["metadata"]["name"])
        await self._claim_event(
            claim,
            "Normal",
            "ProvisioningSucceeded",
            f"Successfully provisioned volume {created['metadata']['name']}",
            component=PROVISIONER,
        )
        return created

    async def _complete_binding(self, claim: dict, pv: dict) -> None:
        store = self.ctx.store
        meta = claim["metadata"]
        pv_name = pv["metadata"]["name"]
        pv_spec = pv.get("spec") or {}
        if not pv_spec.get("claimRef"):
            updated = copy.deepcopy(pv)
            updated["spec"]["claimRef"] = {
                "kind": "PersistentVolumeClaim",
                "apiVersion": "v1",
                "namespace": meta["namespace"],
                "name": meta["name"],
                "uid": meta["uid"],
            }
            updated["metadata"].pop("resourceVersion", None)
            pv = await store.replace("persistentvolumes", pv_name, updated)
        await store.patch(
            "persistentvolumes",
            pv_name,
            {"status": {"phase": "Bound"}},
            "merge",
            subresource="status",
        )
        annotations = {
            "pv.kubernetes.io/bind-completed": "yes",
            "pv.kubernetes.io/bound-by-controller": "yes",
        }
        if (pv["metadata"].get("annotations") or {}).get("pv.kubernetes.io/provisioned-by"):
            annotations["volume.kubernetes.io/storage-provisioner"] = PROVISIONER
            annotations["volume.beta.kubernetes.io/storage-provisioner"] = PROVISIONER
        current = store.peek("persistentvolumeclaims", meta["name"], meta["namespace"])
        if current is None or current["metadata"]["uid"] != meta["uid"]:
            return
        if (current.get("spec") or {}).get("volumeName") != pv_name:
            await store.patch(
                "persistentvolumeclaims",
                meta["name"],
                {"metadata": {"annotations": annotations}, "spec": {"volumeName": pv_name}},
                "merge",
                meta["namespace"],
            )
        await store.patch(
            "persistentvolumeclaims",
            meta["name"],
            {
                "status": {
                    "phase": "Bound",
                    "accessModes": pv_spec.get("accessModes") or ["ReadWriteOnce"],
                    "capacity": pv_spec.get("capacity") or {},
                }
            },
            "merge",
            meta["namespace"],
            subresource="status",
        )

    async def _release(self, namespace: str, name: str, uid: str) -> None:
        store = self.ctx.store
        for pv in store.list("persistentvolumes")[0]:
            ref = (pv.get("spec") or {}).get("claimRef") or {}
            if (ref.get("namespace"), ref.get("name"), ref.get("uid")) != (namespace, name, uid):
                continue
            pv_name = pv["metadata"]["name"]
            policy = (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy") or "Retain"
            await store.patch(
                "persistentvolumes",
                pv_name,
                {"status": {"phase": "Released"}},
                "merge",
                subresource="status",
            )
            if policy != "Delete":
                continue
            _remove_provisioned(
                ((pv.get("spec") or {}).get("hostPath") or {}).get("path"), self.root
            )
            await store.delete("persistentvolumes", pv_name)
            current = store.peek("persistentvolumes", pv_name)
            if current is not None and current["metadata"].get("finalizers"):
                dropped = copy.deepcopy(current)
                dropped["metadata"]["finalizers"] = [
                    f
                    for f in current["metadata"]["finalizers"]
                    if f != "kubernetes.io/pv-protection"
                ]
                dropped["metadata"].pop("resourceVersion", None)
                await store.replace("persistentvolumes", pv_name, dropped)

    async def _claim_event(self, claim, event_type, reason, message, component=COMPONENT):
        await self.ctx.recorder.emit(claim, event_type, reason, message, component=component)

    async def select_node(self, pod: dict, node: str) -> None:
        """After binding a pod: mark its waiting (WaitForFirstConsumer) claims."""
        namespace = pod["metadata"]["namespace"]
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            source = volume.get("persistentVolumeClaim")
            if not source:
                continue
            claim = self.ctx.store.peek(
                "persistentvolumeclaims", source.get("claimName"), namespace
            )
            if claim is None or (claim.get("status") or {}).get("phase") == "Bound":
                continue
            if SELECTED_NODE in (claim["metadata"].get("annotations") or {}):
                continue
            await self.ctx.store.patch(
                "persistentvolumeclaims",
                claim["metadata"]["name"],
                {"metadata": {"annotations": {SELECTED_NODE: node}}},
                "merge",
                namespace,
            )


def _remove_provisioned(path: str | None, root: str | None) -> None:
    """Delete a PV's directory, but only one we provisioned (under our root)."""
    if path and root and os.path.realpath(path).startswith(os.path.realpath(root) + "/"):
        shutil.rmtree(path, ignore_errors=True)


def _selector_matches(selector: dict | None, labels: dict) -> bool:
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key"), expression.get("operator")
        values = expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True
