"""events.k8s.io/v1 Events as a view of core/v1 Events, as kube-apiserver serves them.

Both APIs share one storage: an Event written through either is listed,
watched and described through both. Reads convert core objects to the
events.k8s.io shape; writes convert back. Field names map as the real
conversion does (regarding <-> involvedObject, note <-> message,
reportingController <-> reportingComponent, deprecated* <-> the old fields).
"""

from __future__ import annotations

from typing import Any

from kubesim.api.patches import apply_patch
from kubesim.model.jsonutil import clone

Obj = dict[str, Any]

# events.k8s.io field -> core field
FIELDS = {
    "regarding": "involvedObject",
    "related": "related",
    "note": "message",
    "reason": "reason",
    "type": "type",
    "action": "action",
    "eventTime": "eventTime",
    "series": "series",
    "reportingController": "reportingComponent",
    "reportingInstance": "reportingInstance",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
}
CORE_FIELDS = {core: view for view, core in FIELDS.items()}
SELECTOR_FIELDS = {"regarding.": "involvedObject.", "reportingController": "reportingComponent"}


def to_core(event: Obj) -> Obj:
    core: Obj = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": clone(event.get("metadata") or {}),
    }
    for view_name, core_name in FIELDS.items():
        if event.get(view_name) is not None:
            core[core_name] = clone(event[view_name])
    return core


def from_core(core: Obj) -> Obj:
    event: Obj = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": core.get("metadata") or {},
    }
    for core_name, view_name in CORE_FIELDS.items():
        if core.get(core_name) is not None:
            event[view_name] = core[core_name]
    event.setdefault("eventTime", None)
    return event


def core_selector(selector: str | None) -> str | None:
    if not selector:
        return selector
    for view_name, core_name in SELECTOR_FIELDS.items():
        selector = selector.replace(view_name, core_name)
    return selector


class ConvertedWatch:
    """A core Event watch whose objects arrive in the events.k8s.io shape."""

    def __init__(self, watch):
        self.watch = watch

    def close(self) -> None:
        self.watch.close()

    def __aiter__(self):
        return self

    async def __anext__(self) -> tuple[str, Obj]:
        event_type, obj = await self.watch.__anext__()
        if event_type == "ERROR":
            return event_type, obj
        if event_type == "BOOKMARK":
            return event_type, {**obj, "apiVersion": "events.k8s.io/v1"}
        return event_type, from_core(obj)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.close()


class EventsView:
    """The store operations for events.k8s.io/v1, done on core Events."""

    def __init__(self, store, view_rt, core_rt):
        self.store, self.view_rt, self.core_rt = store, view_rt, core_rt

    def _validate(self, obj: Obj, operation: str) -> None:
        if self.store.admit:
            self.store.admit(self.view_rt, clone(obj), None, operation)

    def peek(self, name, namespace):
        obj = self.store.peek(self.core_rt, name, namespace)
        return from_core(obj) if obj is not None else None

    def get_nowait(self, name, namespace):
        return from_core(self.store.get_nowait(self.core_rt, name, namespace))

    def list(self, namespace, label_selector, field_selector):
        items, rv = self.store.list(
            self.core_rt, namespace, label_selector, core_selector(field_selector)
        )
        return [from_core(o) for o in items], rv

    def list_page(self, namespace, label_selector, field_selector, limit, continue_token):
        items, rv, token, remaining = self.store.list_page(
            self.core_rt,
            namespace,
            label_selector,
            core_selector(field_selector),
            limit,
            continue_token,
        )
        return [from_core(o) for o in items], rv, token, remaining

    async def create(self, obj, namespace, dry_run):
        self._validate(obj, "CREATE")
        created = await self.store.create(self.core_rt, to_core(obj), namespace, dry_run=dry_run)
        return from_core(created)

    async def replace(self, name, obj, namespace, dry_run):
        self._validate(obj, "UPDATE")
        replaced = await self.store.replace(
            self.core_rt, name, to_core(obj), namespace, dry_run=dry_run
        )
        return from_core(replaced)

    async def patch(self, name, patch, patch_type, namespace, dry_run):
        current = self.get_nowait(name, namespace)
        patched = apply_patch(self.view_rt, current, patch, patch_type, self.store.version)
        sent_rv = (patched.get("metadata") or {}).get("resourceVersion")
        if sent_rv == current["metadata"].get("resourceVersion"):
            patched["metadata"].pop("resourceVersion", None)
        return await self.replace(name, patched, namespace, dry_run)

    async def delete(self, name, namespace, **options):
        obj, removed = await self.store.delete(self.core_rt, name, namespace, **options)
        return from_core(obj), removed

    def watch(self, namespace, label_selector, field_selector, resource_version, **options):
        return ConvertedWatch(
            self.store.watch(
                self.core_rt,
                namespace,
                label_selector,
                core_selector(field_selector),
                resource_version,
                **options,
            )
        )
