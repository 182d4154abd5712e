"""One watch request's stream: fan-out target, selector transitions, bookmarks, timeouts.

The store offers every committed change to the `Watch` objects of its type;
each translates it into what its client sees (ADDED/MODIFIED/DELETED,
including selector transitions) and queues it. Iterating yields
(event_type, obj) until the timeout, a cut, or close().
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any

from kubesim.model.resources import ResourceType

if TYPE_CHECKING:
    from kubesim.api.store import Store

Obj = dict[str, Any]


class _Event:
    __slots__ = ("rv", "rt_key", "type", "obj", "old")

    def __init__(self, rv: int, rt_key: str, type_: str, obj: Obj, old: Obj | None):
        self.rv, self.rt_key, self.type, self.obj, self.old = rv, rt_key, type_, obj, old


_CUT = object()  # queue sentinel: the stream is cut (fault injection or shutdown)


class Watch:
    """Async iterator of (event_type, obj) for one watch request."""

    def __init__(
        self,
        store: Store,
        rt: ResourceType,
        namespace,
        label_match,
        field_match,
        initial: list[tuple[str, Obj]],
        timeout: float | None,
        bookmark_interval: float | None,
    ):
        self.store = store
        self.rt = rt
        self.namespace = namespace
        self.label_match = label_match
        self.field_match = field_match
        self.queue: asyncio.Queue = asyncio.Queue()
        self._initial = deque(initial)
        self._deadline = (asyncio.get_running_loop().time() + timeout) if timeout else None
        self._bookmark_interval = bookmark_interval
        self._closed = False

    def matches(self, obj: Obj) -> bool:
        meta = obj["metadata"]
        if self.namespace and meta.get("namespace") != self.namespace:
            return False
        if self.label_match and not self.label_match(meta.get("labels") or {}):
            return False
        return not (self.field_match and not self.field_match(obj))

    def offer(self, event: _Event) -> None:
        """Fan-out from the store: translate a change into what this watcher sees."""
        new_match = event.type != "DELETED" and self.matches(event.obj)
        old = event.old if event.type != "ADDED" else None
        old_match = old is not None and self.matches(old)
        if event.type == "DELETED":
            if old_match:
                self.queue.put_nowait(("DELETED", event.obj))
        elif new_match and old_match:
            self.queue.put_nowait(("MODIFIED", event.obj))
        elif new_match:
            self.queue.put_nowait(("ADDED", event.obj))
        elif old_match:
            self.queue.put_nowait(("DELETED", event.obj))

    def cut(self) -> None:
        self.queue.put_nowait(_CUT)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.store._watchers.get(self.rt.key, set()).discard(self)

    def __aiter__(self):
        return self

    async def __anext__(self) -> tuple[str, Obj]:
        if self._closed:
            raise StopAsyncIteration
        if self._initial:
            return self._initial.popleft()
        loop = asyncio.get_running_loop()
        while True:
            wait = None
            if self._deadline is not None:
                wait = self._deadline - loop.time()
                if wait <= 0:
                    self.close()
                    raise StopAsyncIteration
            bookmark = False
            if self._bookmark_interval is not None and (
                wait is None or self._bookmark_interval < wait
            ):
                wait, bookmark = self._bookmark_interval, True
            try:
                item = await asyncio.wait_for(self.queue.get(), wait)
            except TimeoutError:
                if bookmark and self.queue.empty():
                    return "BOOKMARK", self.store.bookmark_object(self.rt)
                continue
            if item is _CUT:
                self.close()
                raise StopAsyncIteration
            return item

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.close()
