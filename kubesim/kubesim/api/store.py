"""The in-process object store: the API server's semantics without HTTP.

Everything that talks to the simulated cluster goes through one `Store`:
the HTTP layer (`kubesim.api.server`) and the node side (scheduler, kubelet in
`kubesim.harness.node_simulator`). Objects are plain dicts shaped exactly like the JSON
the real API server sends.

Contract (stable; extended only compatibly):

Resource types
    ``store.resource("pods")`` (also "Pod", "po", "deployments.apps", or a
    ResourceType) -> ResourceType; ``store.registry.lookup(group, version,
    plural)``. Every method below takes a ResourceType or any such name.

Reads (synchronous, no I/O)
    ``store.get_nowait(rt, name, namespace=None) -> dict`` and
    ``await store.get(...)``: a deep copy you may mutate; ApiError 404.
    ``store.list(rt, namespace=None, label_selector=None,
    field_selector=None) -> (items, resource_version)``: items are the
    stored snapshots, sorted by (namespace, name). They are SHARED and
    read-only: ``copy.deepcopy`` one before editing it. Selectors are the
    query-string syntax ("app=x,tier in (a,b)", "spec.nodeName=node-1").

``store.peek(rt, name, namespace=None)``: the shared snapshot or None (no
    copy; for assertions). ``store.list_page(..., limit=, continue_token=)``
    adds pagination. ``store.encode(obj)``: its JSON bytes, cached.

Writes (async; each returns the new stored object as a deep copy)
    ``create(rt, obj, namespace=None)``; ``replace(rt, name, obj,
    namespace=None)`` (409 Conflict if obj carries a stale resourceVersion;
    status changes are ignored for types with a status subresource);
    ``update_status(rt, name, obj, namespace=None)`` (only .status is
    taken); ``patch(rt, name, patch, patch_type, namespace=None,
    subresource=None)`` with patch_type "merge", "strategic" or "json"
    (or the matching Content-Type); ``delete(rt, name, namespace=None,
    grace_period_seconds=None, propagation_policy=None, preconditions=None)``
    -> (object, removed: bool). ``bind(name, namespace, node_name)`` is
    POST pods/<name>/binding: sets spec.nodeName and PodScheduled=True (409
    if already bound), the only way to change a pod's nodeName.
    Admission (defaults, name/label rules) runs on every write; the OpenAPI
    schema walk only for API requests (see kubesim.api.admission.SCHEMA_CHECK).

Pods and graceful deletion (real semantics)
    Deleting a pod bound to a node (spec.nodeName set, phase not
    Succeeded/Failed) with a grace period > 0 only sets
    metadata.deletionTimestamp (now + grace) and
    deletionGracePeriodSeconds; watchers see MODIFIED. The kubelet
    then stops the containers and calls ``delete(rt, name, ns,
    grace_period_seconds=0)``, which removes the object (DELETED). An
    unbound pod is removed at once. Objects with finalizers stay (with a
    deletionTimestamp) until an update empties metadata.finalizers.

Watches
    ``store.watch(rt, namespace=None, label_selector=None,
    field_selector=None, resource_version=None, ...)`` returns a `Watch`,
    an async iterator of ``(event_type, obj)`` with event_type ADDED,
    MODIFIED, DELETED, BOOKMARK or ERROR (obj is then a Status). No
    resource_version (or "0"): the current objects come first as ADDED.
    An explicit version replays the changes after it from bounded
    history, or yields one ERROR 410 Expired if it is too old. An object
    that stops matching the selectors arrives as DELETED, one that starts
    matching as ADDED. Event objects are shared snapshots (read-only).
    Call ``watch.close()`` (or leave the ``async for``) when done.

Errors
    `ApiError(code, reason, message, details)`; ``err.to_status()`` is
    the Status body the HTTP layer sends.

Hooks
    ``store.admit`` (defaults + validation, see kubesim.api.admission) runs on
    every create/replace/patch; ``store.on_change`` callbacks get
    (event_type, rt, obj, old) after every committed change.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import copy
import json
import random
import uuid
from collections import deque

try:
    import orjson

    def dumps(obj: Any) -> bytes:
        return orjson.dumps(obj)
except ImportError:  # orjson is an optional speed-up

    def dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()


from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from kubesim.api.event_views import EventsView
from kubesim.api.store_controllers import GarbageCollection
from kubesim.api.watches import _CUT, Watch, _Event
from kubesim.model import errors
from kubesim.model.errors import ApiError
from kubesim.model.jsonutil import clone
from kubesim.model.resources import REGISTRY, Registry, ResourceType
from kubesim.model.selectors import parse_field_selector, parse_label_selector, single_name

__all__ = ["ApiError", "Store", "Watch", "ResourceType", "clone", "now_rfc3339"]

Obj = dict[str, Any]

_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
TERMINAL_PHASES = ("Succeeded", "Failed")
IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")  # NamespaceLifecycle
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


# Set by the HTTP layer for one request: write methods then return the stored snapshot
# itself (which the server only encodes) instead of a private copy.
SHARED_RESULTS: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "shared_results", default=False
)


def _out(obj: Obj) -> Obj:
    return obj if SHARED_RESULTS.get() else clone(obj)


def now_rfc3339(offset_seconds: float = 0) -> str:
    t = datetime.now(UTC) + timedelta(seconds=offset_seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(obj: Obj) -> Obj:
    meta = obj.get("metadata")
    if meta is None:
        meta = obj["metadata"] = {}
    return meta


_OMITEMPTY_META = ("labels", "annotations", "finalizers", "ownerReferences", "managedFields")


def _drop_empty_meta(meta: Obj) -> None:
    """Empty maps and lists in ObjectMeta are Go zero values the real server never writes."""
    for key in _OMITEMPTY_META:
        if key in meta and not meta[key]:
            del meta[key]


class Store(GarbageCollection):
    """All objects of the simulated cluster, with watch fan-out and history."""

    def __init__(
        self,
        registry: Registry = REGISTRY,
        history_size: int = 20000,
        bookmark_interval: float = 60.0,
        version: str = "1.33",
    ):
        self.registry = registry
        self.version = version
        self._rv = 0
        # rt.key -> namespace ("" for cluster-scoped) -> name -> stored snapshot
        self._objects: dict[str, dict[str, dict[str, Obj]]] = {t.key: {} for t in registry.types}
        self._history: deque[_Event] = deque()
        self.history_size = history_size
        self._compacted_rv = 0  # events at or below this are gone from history
        self.history_enabled = True
        self._watchers: dict[str, set[Watch]] = {t.key: set() for t in registry.types}
        # owner uid -> set of (rt.key, namespace, name) of dependents
        self._dependents: dict[str, set[tuple[str, str, str]]] = {}
        self.bookmark_interval = bookmark_interval
        self.expire_next_watches = 0  # fault: that many next watches start with 410
        self.admit: Callable[..., None] | None = None
        self.on_change: list[Callable[[str, ResourceType, Obj, Obj | None], None]] = []
        self._tasks: set[asyncio.Task] = set()
        # id(snapshot) -> (snapshot, JSON bytes): stored snapshots never change, so each is
        # encoded once however many lists, gets and watchers send it.
        self._encoded: dict[int, tuple[Obj, bytes]] = {}
        self._views = {
            "events.events.k8s.io": EventsView(
                self, self.resource("events.events.k8s.io"), self.resource("events")
            )
        }
        for ns in SYSTEM_NAMESPACES:
            self._put_new(self.resource("namespaces"), self._namespace_object(ns))

    # ----- lookups -------------------------------------------------------------

    def _view(self, rt) -> EventsView | None:
        """The converting view for types stored as another type (events.k8s.io)."""
        if isinstance(rt, ResourceType):
            return self._views.get(rt.key)
        return self._views.get(self.resource(rt).key)

    def resource(self, name: str | ResourceType) -> ResourceType:
        return self.registry.resolve(name)

    @property
    def resource_version(self) -> str:
        return str(self._rv)

    def _bucket(self, rt: ResourceType, namespace: str | None) -> dict[str, Obj] | None:
        return self._objects[rt.key].get(namespace or "" if rt.namespaced else "")

    def _find(self, rt: ResourceType, name: str, namespace: str | None) -> Obj:
        bucket = self._bucket(rt, namespace)
        obj = bucket.get(name) if bucket else None
        if obj is None:
            raise errors.not_found(rt, name)
        return obj

    def peek(self, rt, name: str, namespace: str | None = None) -> Obj | None:
        """The stored snapshot (shared, read-only) or None: for assertions."""
        view = self._view(rt)
        if view:
            return view.peek(name, namespace)
        rt = self.resource(rt)
        bucket = self._bucket(rt, namespace)
        return bucket.get(name) if bucket else None

    def get_nowait(self, rt, name: str, namespace: str | None = None) -> Obj:
        view = self._view(rt)
        if view:
            return view.get_nowait(name, namespace)
        rt = self.resource(rt)
        return clone(self._find(rt, name, namespace))

    async def get(self, rt, name: str, namespace: str | None = None) -> Obj:
        return self.get_nowait(rt, name, namespace)

    def list(
        self,
        rt,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[list[Obj], str]:
        view = self._view(rt)
        if view:
            return view.list(namespace, label_selector, field_selector)
        rt = self.resource(rt)
        label_match = parse_label_selector(label_selector)
        field_match = parse_field_selector(field_selector, rt)
        return self._select(
            rt, namespace, label_match, field_match, single_name(field_selector)
        ), str(self._rv)

    def _select(self, rt, namespace, label_match, field_match, only_name=None) -> list[Obj]:
        buckets = self._objects[rt.key]
        if rt.namespaced and namespace:
            ns_items = [(namespace, buckets.get(namespace) or {})]
        else:
            ns_items = sorted(buckets.items())
        out = []
        for _ns, bucket in ns_items:
            if only_name is not None:
                names = [only_name] if only_name in bucket else []
            else:
                names = sorted(bucket)
            for name in names:
                obj = bucket[name]
                if label_match and not label_match(obj["metadata"].get("labels") or {}):
                    continue
                if field_match and not field_match(obj):
                    continue
                out.append(obj)
        return out

    def list_page(
        self,
        rt,
        namespace=None,
        label_selector=None,
        field_selector=None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> tuple[list[Obj], str, str | None, int | None]:
        """list() with limit/continue: (items, resourceVersion, continue, remaining)."""
        view = self._view(rt)
        if view:
            return view.list_page(namespace, label_selector, field_selector, limit, continue_token)
        rt = self.resource(rt)
        start_after = None
        list_rv = self._rv
        if continue_token:
            try:
                token = json.loads(base64.urlsafe_b64decode(continue_token.encode()))
                list_rv, start_after = int(token["rv"]), tuple(token["start"])
            except (ValueError, KeyError, TypeError):
                raise errors.bad_request("continue key is not valid: invalid token") from None
            if list_rv < self._compacted_rv:
                raise errors.expired(
                    "The provided continue parameter is too old to display a consistent list "
                    "result. You can start a new list without the continue parameter, or use "
                    "the continue token in this response to retrieve the remainder of the "
                    "results. Continuing with the provided token results in an inconsistent "
                    "list - objects that were created, modified, or deleted between the time "
                    "the first chunk was returned and now may show up in the list."
                )
        items, _ = self.list(rt, namespace, label_selector, field_selector)
        if start_after is not None:
            items = [o for o in items if _sort_key(o) > start_after]
        if not limit or limit >= len(items):
            return items, str(list_rv), None, None
        page = items[:limit]
        token = base64.urlsafe_b64encode(
            json.dumps({"rv": list_rv, "start": list(_sort_key(page[-1]))}).encode()
        ).decode()
        remaining = len(items) - limit if not label_selector and not field_selector else None
        return page, str(list_rv), token, remaining

    def encode(self, obj: Obj) -> bytes:
        """JSON bytes of a stored snapshot (or any object), cached per snapshot."""
        entry = self._encoded.get(id(obj))
        if entry is not None and entry[0] is obj:
            return entry[1]
        data = dumps(obj)
        if len(self._encoded) > 100_000:
            self._encoded.clear()
        self._encoded[id(obj)] = (obj, data)
        return data

    # ----- writes ---------------------------------------------------------------

    def _next_rv(self) -> int:
        self._rv += 1
        return self._rv

    def _check_namespace(
        self, rt: ResourceType, name: str, namespace: str | None, creating: bool
    ) -> None:
        if not rt.namespaced:
            return
        if not namespace:
            raise errors.bad_request("the server could not find the requested resource")
        if not creating:
            return  # like the real server: a missing namespace just means a missing object
        ns_obj = self._bucket(self.resource("namespaces"), None).get(namespace)
        if ns_obj is None:
            raise errors.not_found(self.resource("namespaces"), namespace)
        if creating and ns_obj["metadata"].get("deletionTimestamp"):
            raise errors.forbidden(
                rt,
                name,
                f"unable to create new content in namespace {namespace} because it is being "
                "terminated",
            )

    async def create(
        self, rt, obj: Obj, namespace: str | None = None, dry_run: bool = False
    ) -> Obj:
        view = self._view(rt)
        if view:
            return await view.create(obj, namespace, dry_run)
        rt = self.resource(rt)
        obj = clone(obj)
        meta = _meta(obj)
        if rt.namespaced:
            body_ns = meta.get("namespace")
            if namespace and body_ns and body_ns != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent "
                    "on the request"
                )
            namespace = namespace or body_ns or None
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        obj.setdefault("apiVersion", rt.api_version)
        obj.setdefault("kind", rt.kind)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(random.choices(_NAME_CHARS, k=5))
        name = meta.get("name") or ""
        if not name:
            raise errors.invalid(
                rt,
                "",
                [
                    {
                        "reason": "FieldValueRequired",
                        "message": "Required value: name or generateName is required",
                        "field": "metadata.name",
                    }
                ],
            )
        self._check_namespace(rt, name, namespace, creating=True)
        for server_field in (
            "uid",
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ):
            meta.pop(server_field, None)
        meta["creationTimestamp"] = now_rfc3339()
        if self.admit:
            self.admit(rt, obj, None, "CREATE")
        if self._bucket(rt, namespace) and name in self._bucket(rt, namespace):
            if meta.get("generateName") and meta["name"].startswith(meta["generateName"]):
                # the real server retries name generation; a clash is rare enough
                meta["name"] = meta["generateName"] + "".join(random.choices(_NAME_CHARS, k=5))
                name = meta["name"]
            else:
                raise errors.already_exists(rt, name)
        meta["uid"] = str(uuid.uuid4())
        if rt.has_generation:
            meta["generation"] = 1
        _drop_empty_meta(meta)
        if dry_run:
            return obj
        self._put_new(rt, obj)
        return _out(obj)

    def _put_new(self, rt: ResourceType, obj: Obj) -> None:
        meta = obj["metadata"]
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now_rfc3339())
        rv = self._next_rv()
        meta["resourceVersion"] = str(rv)
        ns = meta.get("namespace", "") if rt.namespaced else ""
        self._objects[rt.key].setdefault(ns, {})[meta["name"]] = obj
        self._index_owners(rt, obj, None)
        self._emit(rt, "ADDED", obj, None, rv)
        if rt.plural == "namespaces" and not rt.group:
            self._after_namespace_created(obj)

    def _emit(self, rt: ResourceType, type_: str, obj: Obj, old: Obj | None, rv: int) -> None:
        if old is not None:
            self._encoded.pop(id(old), None)
        event = _Event(rv, rt.key, type_, obj, old)
        if self.history_enabled:
            self._history.append(event)
            while len(self._history) > self.history_size:
                self._compacted_rv = self._history.popleft().rv
        else:
            self._compacted_rv = rv
        for watcher in tuple(self._watchers[rt.key]):
            watcher.offer(event)
        for callback in self.on_change:
            callback(type_, rt, obj, old)

    async def replace(
        self, rt, name: str, obj: Obj, namespace: str | None = None, dry_run: bool = False
    ) -> Obj:
        view = self._view(rt)
        if view:
            return await view.replace(name, obj, namespace, dry_run)
        return self._update(self.resource(rt), name, obj, namespace, "main", dry_run)

    async def update_status(
        self, rt, name: str, obj: Obj, namespace: str | None = None, dry_run: bool = False
    ) -> Obj:
        view = self._view(rt)
        if view:
            return await view.replace(name, obj, namespace, dry_run)
        return self._update(self.resource(rt), name, obj, namespace, "status", dry_run)

    def _update(
        self,
        rt: ResourceType,
        name: str,
        obj: Obj,
        namespace: str | None,
        part: str,
        dry_run: bool = False,
        owned: bool = False,
        applied: bool = False,
    ) -> Obj:
        self._check_namespace(rt, name, namespace, creating=False)
        old = self._find(rt, name, namespace)
        new = obj if owned else clone(obj)
        meta = _meta(new)
        if meta.get("name") not in (None, name):
            raise errors.bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the "
                f"URL ({name})"
            )
        if rt.namespaced and meta.get("namespace") not in (None, "", namespace):
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        sent_rv = meta.get("resourceVersion")
        if sent_rv and sent_rv != old["metadata"]["resourceVersion"]:
            raise errors.conflict(rt, name)
        new.setdefault("apiVersion", rt.api_version)
        new.setdefault("kind", rt.kind)
        old_meta = old["metadata"]
        if part == "status":
            # a status write changes only .status
            status = new.get("status")
            new = {k: clone(v) for k, v in old.items() if k != "status"}
            if status is not None:
                new["status"] = status
            meta = new["metadata"]
        else:
            sent_uid = meta.get("uid")
            if sent_uid and sent_uid != old_meta.get("uid"):
                if not owned:
                    # a PUT's uid is a precondition (rest.defaultUpdatedObjectInfo)
                    raise errors.conflict(
                        rt,
                        name,
                        f"Precondition failed: UID in precondition: {sent_uid}, UID in object "
                        f"meta: {old_meta.get('uid')}",
                    )
                old_meta = {**old_meta, "uid": sent_uid}  # a patched uid: 422 in admission
            for keep in (
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
            ):
                if keep in old_meta:
                    meta[keep] = old_meta[keep]
                else:
                    meta.pop(keep, None)
            meta["name"] = name
            if rt.namespaced:
                meta["namespace"] = namespace
            if "status" in rt.subresources and "status" in old:
                new["status"] = clone(old["status"])
            elif "status" in rt.subresources:
                new.pop("status", None)
        if self.admit:
            self.admit(rt, new, old, "UPDATE" if part == "main" else "UPDATE_STATUS")
        if part == "main" and not applied:
            self._record_update_manager(rt, old, new)
        return self._commit_update(rt, old, new, dry_run)

    def _record_update_manager(self, rt: ResourceType, old: Obj, new: Obj) -> None:
        """managedFields stay the server's: a write's own copy is ignored, its manager noted."""
        from kubesim.api import fieldmanager

        meta = new["metadata"]
        if "managedFields" in old["metadata"]:
            meta["managedFields"] = old["metadata"]["managedFields"]
        else:
            meta.pop("managedFields", None)
            return
        manager = fieldmanager.FIELD_MANAGER.get()
        if manager:
            fieldmanager.record_update(rt, old, new, manager, self.version)

    def _commit_update(
        self, rt: ResourceType, old: Obj, new: Obj, dry_run=False, spec_generation=True
    ) -> Obj:
        meta, old_meta = new["metadata"], old["metadata"]
        meta["resourceVersion"] = old_meta["resourceVersion"]
        _drop_empty_meta(meta)
        if spec_generation and rt.has_generation and _spec_changed(old, new):
            meta["generation"] = old_meta.get("generation", 1) + 1
        if new == old:
            return _out(old)  # a no-op write keeps its resourceVersion
        if dry_run:
            return new
        if old_meta.get("deletionTimestamp") and self._ready_to_remove(rt, new):
            self._remove(rt, new)
            return _out(new)
        rv = self._next_rv()
        meta["resourceVersion"] = str(rv)
        ns = meta.get("namespace", "") if rt.namespaced else ""
        self._objects[rt.key][ns][meta["name"]] = new
        self._index_owners(rt, new, old)
        self._emit(rt, "MODIFIED", new, old, rv)
        if rt.key == "namespaces" and meta.get("deletionTimestamp"):
            self._maybe_finish_namespace(new)
        return _out(new)

    def _ready_to_remove(self, rt: ResourceType, obj: Obj) -> bool:
        meta = obj["metadata"]
        if meta.get("finalizers"):
            return False
        if rt.key == "namespaces" and (obj.get("spec") or {}).get("finalizers"):
            return False
        return not meta.get("deletionGracePeriodSeconds")

    async def patch(
        self,
        rt,
        name: str,
        patch: Any,
        patch_type: str,
        namespace: str | None = None,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> Obj:
        view = self._view(rt)
        if view:
            return await view.patch(name, patch, patch_type, namespace, dry_run)
        from kubesim.api import fieldmanager
        from kubesim.api.patches import CONTENT_TYPES, apply_patch

        rt = self.resource(rt)
        self._check_namespace(rt, name, namespace, creating=False)
        applying = CONTENT_TYPES.get(patch_type, patch_type) == "apply"
        manager = fieldmanager.FIELD_MANAGER.get() if applying else None
        if applying and self.peek(rt, name, namespace) is None:
            # server-side apply creates what does not exist yet
            if not isinstance(patch, dict):
                raise errors.bad_request("an apply patch must be an object")
            body = clone(patch)
            body.setdefault("metadata", {})["name"] = name
            if manager:
                fieldmanager.created_by_apply(rt, body, manager, self.version)
            return await self.create(rt, body, namespace, dry_run=dry_run)
        old = self._find(rt, name, namespace)
        patched = apply_patch(rt, old, patch, patch_type, self.version)
        if not isinstance(patched, dict):
            raise errors.bad_request("the patch did not produce an object")
        if manager and subresource != "status":
            patched = fieldmanager.apply(
                rt, old, patch, patched, manager, fieldmanager.FORCE.get(), self.version
            )
        patched.setdefault("metadata", {})
        sent_rv = patched["metadata"].get("resourceVersion")
        if sent_rv == old["metadata"]["resourceVersion"]:
            patched["metadata"].pop("resourceVersion")
        elif sent_rv:
            raise errors.conflict(rt, name)
        part = "status" if subresource == "status" else "main"
        return self._update(
            rt, name, patched, namespace, part, dry_run, owned=True, applied=bool(manager)
        )

    async def bind(self, name: str, namespace: str, node_name: str) -> Obj:
        """What POST pods/<name>/binding does: set spec.nodeName and PodScheduled=True.

        409 Conflict if the pod is already bound (the real message).
        """
        rt = self.resource("pods")
        self._check_namespace(rt, name, namespace, creating=False)
        old = self._find(rt, name, namespace)
        if old["metadata"].get("deletionTimestamp"):
            raise errors.conflict(rt, name, "pod is being deleted, cannot be assigned to a host")
        bound = (old.get("spec") or {}).get("nodeName")
        if bound:
            raise errors.conflict(rt, name, f'pod {name} is already assigned to node "{bound}"')
        new = clone(old)
        new["spec"]["nodeName"] = node_name
        conditions = new.setdefault("status", {}).setdefault("conditions", [])
        conditions[:] = [c for c in conditions if c.get("type") != "PodScheduled"]
        conditions.append(
            {
                "type": "PodScheduled",
                "status": "True",
                "lastProbeTime": None,
                "lastTransitionTime": now_rfc3339(),
            }
        )
        # the real binding writes storage directly, past the strategy that bumps generation
        return self._commit_update(rt, old, new, spec_generation=False)

    async def delete(
        self,
        rt,
        name: str,
        namespace: str | None = None,
        grace_period_seconds: int | None = None,
        propagation_policy: str | None = None,
        preconditions: dict[str, str] | None = None,
        dry_run: bool = False,
    ) -> tuple[Obj, bool]:
        """Delete or start deleting; returns (object, removed_now)."""
        view = self._view(rt)
        if view:
            return await view.delete(
                name,
                namespace,
                grace_period_seconds=grace_period_seconds,
                propagation_policy=propagation_policy,
                preconditions=preconditions,
                dry_run=dry_run,
            )
        rt = self.resource(rt)
        self._check_namespace(rt, name, namespace, creating=False)
        old = self._find(rt, name, namespace)
        meta = old["metadata"]
        for key, value in (preconditions or {}).items():
            if value and meta.get(key) != value:
                raise errors.conflict(
                    rt,
                    name,
                    f"Precondition failed: {key.upper() if key == 'uid' else key} in "
                    f"precondition: {value}, {key.upper() if key == 'uid' else key} in object "
                    f"meta: {meta.get(key)}",
                )
        if propagation_policy not in (None, "Orphan", "Background", "Foreground"):
            raise errors.bad_request(
                f'propagationPolicy: Unsupported value: "{propagation_policy}": supported '
                'values: "Foreground", "Background", "Orphan"'
            )
        new = clone(old)
        new_meta = new["metadata"]
        finalizers = list(new_meta.get("finalizers") or [])
        if propagation_policy == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
        elif propagation_policy == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        grace = self._grace_period(rt, old, grace_period_seconds)
        if rt.key == "namespaces":
            if name in IMMORTAL_NAMESPACES:
                raise errors.forbidden(rt, name, "this namespace may not be deleted")
            if not meta.get("deletionTimestamp"):
                new_meta["deletionTimestamp"] = now_rfc3339()
                new_meta["deletionGracePeriodSeconds"] = 0
                new.setdefault("status", {})["phase"] = "Terminating"
                if not dry_run:
                    self._commit_update(rt, old, new)
                    self._spawn(self._finalize_namespace(name))
            return clone(self.peek(rt, name) or new), False
        if finalizers != list(meta.get("finalizers") or []) and finalizers:
            new_meta["finalizers"] = finalizers
        if grace > 0:
            previous = meta.get("deletionGracePeriodSeconds")
            if previous is None or grace < previous:
                new_meta["deletionTimestamp"] = now_rfc3339(grace)
                new_meta["deletionGracePeriodSeconds"] = grace
            _bump_generation_on_delete(meta, new_meta)
            if dry_run:
                return new, False
            return self._commit_update(rt, old, new), False
        if new_meta.get("finalizers"):
            _bump_generation_on_delete(meta, new_meta)
            new_meta.setdefault("deletionTimestamp", now_rfc3339())
            new_meta["deletionGracePeriodSeconds"] = 0
            if dry_run:
                return new, False
            result = self._commit_update(rt, old, new)
            self._spawn(self._process_gc_finalizers(rt, name, namespace))
            return result, False
        if dry_run:
            return new, True
        new_meta.pop("deletionGracePeriodSeconds", None)
        new_meta.setdefault("deletionTimestamp", now_rfc3339())
        new_meta["deletionGracePeriodSeconds"] = 0
        self._remove(rt, new, propagation_policy or "Background")
        return _out(self._last_removed), True

    def _grace_period(self, rt: ResourceType, obj: Obj, requested: int | None) -> int:
        if rt.key != "pods":
            return 0
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        if not spec.get("nodeName") or status.get("phase") in TERMINAL_PHASES:
            return 0
        if requested is not None:
            return max(int(requested), 0)
        grace = spec.get("terminationGracePeriodSeconds")
        return 30 if grace is None else int(grace)

    def _remove(self, rt: ResourceType, obj: Obj, policy: str = "Background") -> None:
        meta = obj["metadata"]
        ns = meta.get("namespace", "") if rt.namespaced else ""
        bucket = self._objects[rt.key].get(ns) or {}
        old = bucket.pop(meta["name"], None)
        if not bucket:
            self._objects[rt.key].pop(ns, None)
        rv = self._next_rv()
        last = copy.copy(obj)
        last["metadata"] = {**meta, "resourceVersion": str(rv)}
        self._last_removed = last
        self._index_owners(rt, None, old)
        self._emit(rt, "DELETED", last, old or obj, rv)
        dependents = self._dependents.pop(meta["uid"], None)
        if dependents:
            self._spawn(self._collect_dependents(meta["uid"], dependents, policy))

    # ----- watches --------------------------------------------------------------

    def watch(
        self,
        rt,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
        timeout_seconds: float | None = None,
        allow_bookmarks: bool = False,
        send_initial_events: bool | None = None,
    ) -> Watch:
        view = self._view(rt)
        if view:
            return view.watch(
                namespace,
                label_selector,
                field_selector,
                resource_version,
                timeout_seconds=timeout_seconds,
                allow_bookmarks=allow_bookmarks,
                send_initial_events=send_initial_events,
            )
        rt = self.resource(rt)
        label_match = parse_label_selector(label_selector)
        field_match = parse_field_selector(field_selector, rt)
        initial: list[tuple[str, Obj]] = []
        interval = self.bookmark_interval if allow_bookmarks else None
        if self.expire_next_watches > 0:
            self.expire_next_watches -= 1
            return self._expired_watch(rt, resource_version or str(self._rv))
        if resource_version in (None, "", "0") or send_initial_events:
            watch = Watch(
                self, rt, namespace, label_match, field_match, [], timeout_seconds, interval
            )
            initial = [("ADDED", o) for o in self._select(rt, namespace, label_match, field_match)]
            watch._initial.extend(initial)
            if send_initial_events and allow_bookmarks:
                # the WatchList protocol: a bookmark marks the end of the initial state
                marker = self.bookmark_object(rt)
                marker["metadata"]["annotations"] = {"k8s.io/initial-events-end": "true"}
                watch._initial.append(("BOOKMARK", marker))
        else:
            try:
                since = int(resource_version)
            except ValueError:
                raise errors.bad_request(
                    f'invalid resource version: "{resource_version}"'
                ) from None
            if since < self._compacted_rv:
                return self._expired_watch(rt, resource_version)
            watch = Watch(
                self, rt, namespace, label_match, field_match, [], timeout_seconds, interval
            )
            for event in self._history:
                if event.rv > since and event.rt_key == rt.key:
                    watch.offer(event)
        self._watchers[rt.key].add(watch)
        return watch

    def _expired_watch(self, rt: ResourceType, resource_version: str) -> Watch:
        status = errors.expired(
            f"too old resource version: {resource_version} ({self._compacted_rv + 1})"
        ).to_status()
        watch = Watch(self, rt, None, None, None, [("ERROR", status)], None, None)
        watch.queue.put_nowait(_CUT)
        return watch

    def bookmark_object(self, rt: ResourceType) -> Obj:
        return {
            "kind": rt.kind,
            "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": str(self._rv)},
        }

    # ----- fault hooks ------------------------------------------------------------

    def cut_watches(self, rt=None) -> int:
        """Close open watch streams now (all, or of one type); returns how many."""
        keys = [self.resource(rt).key] if rt else list(self._watchers)
        cut = 0
        for key in keys:
            for watcher in tuple(self._watchers[key]):
                watcher.cut()
                cut += 1
        return cut

    def stop_history(self) -> None:
        """Forget the watch history and keep none: every resume gets 410 Expired."""
        self.history_enabled = False
        self._history.clear()
        self._compacted_rv = self._rv

    def resume_history(self) -> None:
        self.history_enabled = True

    async def close(self) -> None:
        self.cut_watches()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass

    def counts(self) -> dict[str, int]:
        """Number of stored objects per resource key (for assertions and benchmarks)."""
        return {k: sum(len(b) for b in v.values()) for k, v in self._objects.items()}


def _sort_key(obj: Obj) -> tuple[str, str]:
    meta = obj["metadata"]
    return (meta.get("namespace", ""), meta["name"])


def _bump_generation_on_delete(meta: dict, new_meta: dict) -> None:
    """Starting deletion counts as a change of intent: kube-apiserver bumps a set generation."""
    if not meta.get("deletionTimestamp") and meta.get("generation", 0) > 0:
        new_meta["generation"] = meta["generation"] + 1


def _spec_changed(old: Obj, new: Obj) -> bool:
    for key in set(old) | set(new):
        if key in ("metadata", "status", "apiVersion", "kind"):
            continue
        if old.get(key) != new.get(key):
            return True
    return False
