"""List+watch with resume, like a client-go informer, on the in-process Store.

The node-side controllers must survive the same faults clients do (watch
streams cut, history stopped so resumes get 410), so they watch through this:
after a cut it resumes from the last resourceVersion, after an ERROR (410) it
lists again and reports the differences as synthetic events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from kubesim.api.store_workers import cancel_and_wait
from kubesim.model.errors import ApiError

log = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any], dict[str, Any] | None], None]


def object_key(obj: dict) -> tuple[str, str]:
    meta = obj["metadata"]
    return meta.get("namespace", ""), meta["name"]


class Informer:
    """Keeps `cache` (key -> shared read-only object) in sync and calls `handler`.

    handler(event_type, obj, old) is called synchronously for ADDED, MODIFIED
    and DELETED; it must not block (queue work instead).
    """

    def __init__(self, store, resource: str, handler: Handler, *, field_selector=None):
        self.store = store
        self.resource = resource
        self.handler = handler
        self.field_selector = field_selector
        self.cache: dict[tuple[str, str], dict] = {}
        self.synced = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._watch = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.close()
        await cancel_and_wait(self._task)

    def _relist(self) -> str:
        items, resource_version = self.store.list(self.resource, field_selector=self.field_selector)
        seen = set()
        for obj in items:
            key = object_key(obj)
            seen.add(key)
            old = self.cache.get(key)
            self.cache[key] = obj
            if old is None:
                self._call("ADDED", obj, None)
            elif old["metadata"]["resourceVersion"] != obj["metadata"]["resourceVersion"]:
                self._call("MODIFIED", obj, old)
        for key in [k for k in self.cache if k not in seen]:
            old = self.cache.pop(key)
            self._call("DELETED", old, old)
        return resource_version

    def _call(self, event_type: str, obj: dict, old: dict | None) -> None:
        try:
            self.handler(event_type, obj, old)
        except Exception:  # a handler bug must not stop the informer
            log.exception("informer handler for %s failed", self.resource)

    def _open_watch(self, resource_version: str):
        # "the next watches start with 410" is a fault for API clients: the node
        # side must not use up the count meant for the client under test.
        saved = getattr(self.store, "expire_next_watches", 0)
        self.store.expire_next_watches = 0
        try:
            return self.store.watch(
                self.resource, field_selector=self.field_selector, resource_version=resource_version
            )
        finally:
            self.store.expire_next_watches = saved

    async def _run(self) -> None:
        resource_version = None
        while True:
            try:
                if resource_version is None:
                    resource_version = self._relist()
                    self.synced.set()
                self._watch = self._open_watch(resource_version)
                async for event_type, obj in self._watch:
                    if event_type == "ERROR":
                        resource_version = None  # expired: list again
                        break
                    resource_version = obj["metadata"].get("resourceVersion") or resource_version
                    if event_type == "BOOKMARK":
                        continue
                    key = object_key(obj)
                    old = self.cache.get(key)
                    if event_type == "DELETED":
                        self.cache.pop(key, None)
                    else:
                        self.cache[key] = obj
                    self._call(event_type, obj, old)
            except ApiError as error:
                log.warning("watch %s failed: %s; listing again", self.resource, error)
                resource_version = None
                await asyncio.sleep(0.1)
            # a cut stream ends quietly: resume from the last version
            await asyncio.sleep(0)
