"""The controllers the store itself runs: garbage collection and namespace lifecycle.

Mixed into `Store`: ownerReference dependents are deleted (Background,
Foreground) or orphaned after their owner goes; the `orphan` and
`foregroundDeletion` finalizers are processed; a new namespace gets its
"default" ServiceAccount; a deleted namespace is emptied, then removed.
Everything here runs asynchronously after the write that caused it, as the
real controllers do.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kubesim.model.errors import ApiError
from kubesim.model.jsonutil import clone
from kubesim.model.resources import ResourceType

Obj = dict[str, Any]


class GarbageCollection:
    def _index_owners(self, rt: ResourceType, new: Obj | None, old: Obj | None) -> None:
        def refs(obj):
            if obj is None:
                return set()
            return {r.get("uid") for r in obj["metadata"].get("ownerReferences") or ()}

        old_refs, new_refs = refs(old), refs(new)
        if not old_refs and not new_refs:
            return
        obj = new or old
        key = (rt.key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        for uid in old_refs - new_refs:
            self._dependents.get(uid, set()).discard(key)
        for uid in new_refs - old_refs:
            self._dependents.setdefault(uid, set()).add(key)

    def _spawn(self, coro) -> None:
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:  # no loop (store used synchronously): skip background work
            coro.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _collect_dependents(self, owner_uid: str, dependents, policy: str) -> None:
        await asyncio.sleep(0)  # the real GC is asynchronous too
        for rt_key, ns, name in sorted(dependents):
            rt = self.resource(rt_key)
            obj = self.peek(rt, name, ns or None)
            if obj is None:
                continue
            refs = obj["metadata"].get("ownerReferences") or []
            if policy == "Orphan" or not any(r.get("uid") == owner_uid for r in refs):
                continue
            remaining = [r for r in refs if r.get("uid") != owner_uid]
            try:
                if remaining:
                    new = clone(obj)
                    new["metadata"]["ownerReferences"] = remaining
                    self._commit_update(rt, obj, new)
                else:
                    await self.delete(
                        rt,
                        name,
                        ns or None,
                        propagation_policy="Background" if policy != "Foreground" else "Foreground",
                    )
            except ApiError:
                pass

    async def _process_gc_finalizers(self, rt: ResourceType, name: str, namespace) -> None:
        """Handle the orphan and foregroundDeletion finalizers of a deleted owner."""
        await asyncio.sleep(0)
        obj = self.peek(rt, name, namespace)
        if obj is None:
            return
        uid = obj["metadata"]["uid"]
        finalizers = obj["metadata"].get("finalizers") or []
        if "orphan" in finalizers:
            for rt_key, ns, dep_name in sorted(self._dependents.get(uid, set())):
                dep_rt = self.resource(rt_key)
                dep = self.peek(dep_rt, dep_name, ns or None)
                if dep is None:
                    continue
                new = clone(dep)
                new["metadata"]["ownerReferences"] = [
                    r for r in dep["metadata"].get("ownerReferences") or [] if r.get("uid") != uid
                ]
                if not new["metadata"]["ownerReferences"]:
                    del new["metadata"]["ownerReferences"]
                self._commit_update(dep_rt, dep, new)
            self._drop_finalizer(rt, name, namespace, "orphan")
        elif "foregroundDeletion" in finalizers:
            for rt_key, ns, dep_name in sorted(self._dependents.get(uid, set())):
                try:
                    await self.delete(rt_key, dep_name, ns or None, propagation_policy="Foreground")
                except ApiError:
                    pass
            while self._dependents.get(uid):
                await asyncio.sleep(0.05)
            self._drop_finalizer(rt, name, namespace, "foregroundDeletion")

    def _drop_finalizer(self, rt: ResourceType, name: str, namespace, finalizer: str) -> None:
        obj = self.peek(rt, name, namespace)
        if obj is None:
            return
        new = clone(obj)
        new["metadata"]["finalizers"] = [
            f for f in obj["metadata"].get("finalizers") or [] if f != finalizer
        ]
        if not new["metadata"]["finalizers"]:
            del new["metadata"]["finalizers"]
        self._commit_update(rt, obj, new)

    # ----- namespaces -----------------------------------------------------------

    def _namespace_object(self, name: str) -> Obj:
        return {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }

    def _after_namespace_created(self, ns_obj: Obj) -> None:
        """What the service-account controller does: a "default" account per namespace."""
        name = ns_obj["metadata"]["name"]
        sa = {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": name},
        }
        self._put_new(self.resource("serviceaccounts"), sa)

    async def _finalize_namespace(self, name: str) -> None:
        """The namespace controller: delete everything inside, then the namespace."""
        await asyncio.sleep(0)
        for t in self.registry.types:
            if not t.namespaced or t.plural in ("bindings",):
                continue
            for obj in list((self._objects[t.key].get(name) or {}).values()):
                try:
                    await self.delete(t, obj["metadata"]["name"], name)
                except ApiError:
                    pass
        while any(self._objects[t.key].get(name) for t in self.registry.types if t.namespaced):
            await asyncio.sleep(0.05)
        ns_rt = self.resource("namespaces")
        obj = self.peek(ns_rt, name)
        if obj is None:
            return
        new = clone(obj)
        new.setdefault("spec", {})["finalizers"] = [
            f for f in (obj.get("spec") or {}).get("finalizers") or [] if f != "kubernetes"
        ]
        self._commit_update(ns_rt, obj, new)

    def _maybe_finish_namespace(self, obj: Obj) -> None:
        if self._ready_to_remove(self.resource("namespaces"), obj):
            self._remove(self.resource("namespaces"), obj)
