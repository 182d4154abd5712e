"""Local caches of Kubernetes objects kept current by LIST + WATCH.

A reflector lists its objects once, then watches for changes from the
resourceVersion that list returned, resuming every following watch from the
last version it saw (bookmarks keep that version fresh while nothing
changes). It lists again only when the server says that version has expired
(410) -- never periodically -- so a healthy reflector costs one long-lived
request per watch timeout, whatever the number of users.

Waiters (`wait_for`, `next_change`) are woken by the watch event itself:
futures are keyed by object, so a spawn waiting for its pod to become ready
returns in the same event-loop iteration the MODIFIED event arrives in.

Failure policy: errors are retried with exponential backoff and jitter.
A watch the server accepts (HTTP 200) or a LIST that succeeds resets the
count, so only failures in a row count. After `max_failures` of them (about
two to three minutes of an unreachable API server with the default backoff)
the reflector gives up: it marks itself unhealthy, fails every waiter with
the cause, and calls `on_failure`. The spawner's `on_failure` logs a
critical line and exits the hub process, because a hub that keeps running
on a frozen cache would report stopped servers as running (and the reverse)
without anyone noticing, while a restarted hub pod rebuilds its cache from
a fresh LIST and finds every server again from its database.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
import weakref
from collections.abc import Callable
from typing import Any

from kubernetes_asyncio.client.exceptions import ApiException

from .clients import KubeAPI
from .retry import backoff_delay, describe_error

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class ResourceVersionExpired(Exception):
    """The server no longer has the history we asked to resume from (410)."""


class ReflectorFailed(RuntimeError):
    """The reflector gave up; its cache can no longer be trusted."""


class ResourceReflector:
    """Cache of one resource type in one namespace (or all namespaces)."""

    api_prefix = "/api/v1"
    resource = ""  # plural, e.g. "pods"
    kind = ""  # for log lines

    def __init__(
        self,
        api: KubeAPI,
        *,
        namespace: str | None,
        label_selector: str = "",
        field_selector: str = "",
        on_failure: Callable[[BaseException], None] | None = None,
        max_failures: int = 12,
        max_backoff: float = 30.0,
        watch_timeout: int = 300,
        page_size: int = 500,
        logger: logging.Logger | None = None,
    ):
        self.api = api
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.on_failure = on_failure
        self.max_failures = max_failures
        self.max_backoff = max_backoff
        self.watch_timeout = watch_timeout
        self.page_size = page_size
        self.log = logger or log

        self.resources: dict[str, Obj] = {}
        self.resource_version: str | None = None
        self.failures = 0
        self._failures_before_open = 0
        self.last_error: BaseException | None = None
        self.failed: ReflectorFailed | None = None
        self.list_count = 0
        self.watch_count = 0
        self._waiters: dict[str, list[asyncio.Future]] = {}
        self._first_load: asyncio.Future | None = None
        self._watching = asyncio.Event()
        self._task: asyncio.Task | None = None

    # ---- public API -------------------------------------------------------

    @property
    def where(self) -> str:
        return f"namespace {self.namespace}" if self.namespace else "all namespaces"

    @property
    def healthy(self) -> bool:
        """Loaded and not currently failing."""
        return self.loaded and self.failures == 0

    @property
    def loaded(self) -> bool:
        """The first LIST is in and the reflector has not given up."""
        return (
            self.failed is None
            and self._first_load is not None
            and self._first_load.done()
            and not self._first_load.exception()
        )

    async def start(self) -> None:
        """Start listing + watching (once) and wait for the first LIST."""
        if self._task is None:
            loop = asyncio.get_running_loop()
            self._first_load = loop.create_future()
            self._task = loop.create_task(self._run(), name=f"{self.kind} reflector {self.where}")
        await asyncio.shield(self._first_load)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def watch_established(self) -> None:
        """Wait until a watch stream is open (changes from now on are seen)."""
        await self._watching.wait()

    def get(self, key: str) -> Obj | None:
        return self.resources.get(key)

    async def wait_for(
        self, key: str, predicate: Callable[[Obj | None], Any], timeout: float | None
    ) -> Obj | None:
        """Wait until predicate(cached object or None) is true; return the object.

        Raises TimeoutError after `timeout` seconds and ReflectorFailed if
        the reflector gives up meanwhile.
        """
        async with asyncio.timeout(timeout):
            while True:
                self.raise_if_failed()
                obj = self.resources.get(key)
                if predicate(obj):
                    return obj
                await self.next_change(key)

    def next_change(self, key: str) -> asyncio.Future:
        """A future resolved at the next change to the objects behind `key`."""
        future = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(key, []).append(future)
        future.add_done_callback(lambda f: self._forget(key, f))
        return future

    def raise_if_failed(self) -> None:
        if self.failed is not None:
            raise self.failed

    # ---- hooks for subclasses --------------------------------------------

    def key_of(self, obj: Obj) -> str:
        meta = obj["metadata"]
        return f"{meta.get('namespace', '')}/{meta['name']}"

    def notify_key_of(self, obj: Obj) -> str:
        return self.key_of(obj)

    def _stored(self, old: Obj | None, new: Obj | None) -> None:
        """Called after every change of one object (for secondary indexes)."""

    def _reset_indexes(self) -> None:
        """Called before a relist replaces the cache."""

    def _wanted(self, obj: Obj) -> bool:
        """Whether to cache this object at all (a filter the API cannot apply)."""
        return True

    # what the cache keeps of an object's metadata; None: all of it
    kept_metadata: frozenset[str] | None = None

    def _slim(self, obj: Obj) -> Obj:
        """The part of `obj` worth caching. managedFields (server-side apply's
        field owners, which API servers send with every object and which is
        often its largest part) is never read; client-go's informers drop it
        too. Subclasses keep only `kept_metadata`."""
        meta = obj.get("metadata") or {}
        if self.kept_metadata is None:
            meta.pop("managedFields", None)
        else:
            obj["metadata"] = {k: v for k, v in meta.items() if k in self.kept_metadata}
        return obj

    # ---- internals --------------------------------------------------------

    @property
    def path(self) -> str:
        if self.namespace:
            return f"{self.api_prefix}/namespaces/{self.namespace}/{self.resource}"
        return f"{self.api_prefix}/{self.resource}"

    def _selectors(self) -> dict[str, str]:
        params = {}
        if self.label_selector:
            params["labelSelector"] = self.label_selector
        if self.field_selector:
            params["fieldSelector"] = self.field_selector
        return params

    def _forget(self, key: str, future: asyncio.Future) -> None:
        waiters = self._waiters.get(key)
        if waiters is None:
            return
        try:
            waiters.remove(future)
        except ValueError:
            pass
        if not waiters:
            del self._waiters[key]

    def _notify(self, key: str) -> None:
        for future in self._waiters.pop(key, ()):
            if not future.done():
                future.set_result(None)

    def _put(self, obj: Obj) -> None:
        if not self._wanted(obj):
            if self.key_of(obj) in self.resources:
                self._delete(obj)
            return
        obj = self._slim(obj)
        key = self.key_of(obj)
        old = self.resources.get(key)
        self.resources[key] = obj
        self._stored(old, obj)
        if old is not None and self.notify_key_of(old) != self.notify_key_of(obj):
            self._notify(self.notify_key_of(old))
        self._notify(self.notify_key_of(obj))

    def _delete(self, obj: Obj) -> None:
        key = self.key_of(obj)
        old = self.resources.pop(key, None)
        self._stored(old, None)
        self._notify(self.notify_key_of(old or obj))

    async def _list(self) -> None:
        """LIST everything (in pages) and replace the cache with it."""
        items: list[Obj] = []
        params: dict[str, Any] = dict(self._selectors(), limit=self.page_size)
        while True:
            try:
                page = await self.api.request("GET", self.path, params=params)
            except ApiException as error:
                if error.status == 410:  # the continue token expired: start over
                    raise ResourceVersionExpired() from error
                raise
            # slimmed page by page: the whole LIST's raw objects (their
            # managedFields above all) never sit in memory at once
            items.extend(self._slim(o) for o in page.pop("items", None) or () if self._wanted(o))
            meta = page.get("metadata") or {}
            if not meta.get("continue"):
                break
            params["continue"] = meta["continue"]
        self.list_count += 1
        old = self.resources
        self.resources = {}
        self._reset_indexes()
        for obj in items:
            self.resources[self.key_of(obj)] = obj
            self._stored(None, obj)
        self.resource_version = meta.get("resourceVersion")
        # wake waiters whose objects appeared, changed or vanished meanwhile
        changed = set()
        for key in old.keys() | self.resources.keys():
            before, after = old.get(key), self.resources.get(key)
            if before is None or after is None or _rv(before) != _rv(after):
                changed.update(self.notify_key_of(o) for o in (before, after) if o is not None)
        for key in changed:
            self._notify(key)
        self.log.debug(
            "%s reflector listed %d objects in %s at resourceVersion %s",
            self.kind,
            len(items),
            self.where,
            self.resource_version,
        )

    async def _watch(self) -> int:
        """Watch from the current resourceVersion until the stream ends."""
        params = dict(
            self._selectors(),
            resourceVersion=self.resource_version,
            allowWatchBookmarks=True,
        )
        server_timeout = int(self.watch_timeout * random.uniform(0.8, 1.0)) or 1
        self.watch_count += 1
        seen = 0
        try:
            async for event in self.api.watch(
                self.path,
                params=params,
                server_timeout=server_timeout,
                on_open=self._watch_opened,
            ):
                seen += 1
                self._handle(event)
                if self.failures:
                    # the connection works again
                    self.failures = 0
        except ApiException as error:
            if error.status == 410:
                raise ResourceVersionExpired() from error
            raise
        finally:
            self._watching.clear()
        return seen

    def _watch_opened(self) -> None:
        """The API server accepted the watch (HTTP 200): the connection works
        again, so earlier errors stop counting towards max_failures --
        isolated errors hours apart must not add up to giving up. A stream
        that then closes at once with nothing in it undoes this (see _run)."""
        self._watching.set()
        self._failures_before_open = self.failures
        self.failures = 0

    def _handle(self, event: Obj) -> None:
        kind = event.get("type")
        obj = event.get("object") or {}
        if kind == "ERROR":
            code = obj.get("code")
            if code == 410:
                raise ResourceVersionExpired(obj.get("message"))
            raise WatchError(f"watch error {code}: {obj.get('message')}")
        rv = _rv(obj)
        if kind in ("ADDED", "MODIFIED"):
            self._put(obj)
        elif kind == "DELETED":
            self._delete(obj)
        elif kind != "BOOKMARK":
            self.log.warning("%s reflector ignored unknown watch event %r", self.kind, kind)
        if rv:
            self.resource_version = rv

    async def _run(self) -> None:
        need_list = True
        while True:
            try:
                if need_list:
                    await self._list()
                    need_list = False
                    self.failures = 0
                    if not self._first_load.done():
                        self._first_load.set_result(None)
                started = asyncio.get_running_loop().time()
                seen = await self._watch()
                if not seen and asyncio.get_running_loop().time() - started < 1:
                    # a stream closing at once with nothing in it is a fault,
                    # not a timeout: back off instead of spinning, and count
                    # it on top of the failures before it (it did not work)
                    self.failures = self._failures_before_open
                    raise WatchError("watch stream closed immediately")
                # it ran until the server ended it, without an error
                self.failures = 0
            except asyncio.CancelledError:
                raise
            except ResourceVersionExpired:
                self.log.info(
                    "%s reflector in %s: resourceVersion %s expired, listing again",
                    self.kind,
                    self.where,
                    self.resource_version,
                )
                need_list = True
            except Exception as error:
                self.failures += 1
                self.last_error = error
                if self.failures >= self.max_failures:
                    self._give_up(error)
                    return
                delay = backoff_delay(self.failures - 1, first=0.1, cap=self.max_backoff)
                self.log.warning(
                    "%s reflector in %s failed (%s), attempt %d of %d; retrying in %.1fs",
                    self.kind,
                    self.where,
                    describe_error(error),
                    self.failures,
                    self.max_failures,
                    delay,
                )
                await asyncio.sleep(delay)

    def _give_up(self, error: BaseException) -> None:
        self.failed = ReflectorFailed(
            f"The {self.kind} reflector for {self.where} failed {self.failures} times in a "
            f"row (last error: {describe_error(error)}); its cache is no longer trustworthy."
        )
        self.failed.__cause__ = error
        self.log.critical("%s", self.failed)
        if not self._first_load.done():
            self._first_load.set_exception(self.failed)
            self._first_load.exception()  # mark retrieved: waiters re-raise it
        for key in list(self._waiters):
            for future in self._waiters.pop(key, ()):
                if not future.done():
                    future.set_exception(self.failed)
        if self.on_failure is not None:
            self.on_failure(self.failed)


class WatchError(RuntimeError):
    """The watch stream reported an error other than 410."""


def _rv(obj: Obj | None) -> str | None:
    return ((obj or {}).get("metadata") or {}).get("resourceVersion")


class PodReflector(ResourceReflector):
    """Pods matching a label selector, keyed "namespace/name".

    `on_change(key, callback)` calls `callback(pod or None)` after every
    change of that one pod -- watch events and what a relist finds changed
    alike -- so a spawner learns of its server's end from the watch instead
    of polling. One callback per key, held weakly (a dropped spawner needs no
    clean-up), found by a dict look-up: O(1) per event whatever the number of
    servers. A callback's error is logged, never raised into the watch.
    """

    resource = "pods"
    kind = "pod"
    # what the spawner reads, and what upstream hooks commonly read of
    # `pods` (spec and status stay whole)
    kept_metadata = frozenset(
        (
            "name",
            "namespace",
            "labels",
            "annotations",
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "deletionTimestamp",
            "ownerReferences",
        )
    )

    def __init__(self, api: KubeAPI, **kwargs):
        super().__init__(api, **kwargs)
        self._change_callbacks: dict[str, weakref.WeakMethod] = {}

    def on_change(self, key: str, callback: Callable[[Obj | None], None]) -> None:
        """Call the bound method `callback` after each change of pod `key`."""
        self._change_callbacks[key] = weakref.WeakMethod(callback)

    def forget_change(self, key: str, callback: Callable[[Obj | None], None]) -> None:
        """Stop calling `callback` for `key` (another one registered since stays)."""
        ref = self._change_callbacks.get(key)
        if ref is not None and ref() in (None, callback):
            del self._change_callbacks[key]

    def _notify(self, key: str) -> None:
        super()._notify(key)
        ref = self._change_callbacks.get(key)
        if ref is None:
            return
        callback = ref()
        if callback is None:
            del self._change_callbacks[key]
            return
        try:
            callback(self.resources.get(key))
        except Exception:
            self.log.exception("pod change callback for %s failed", key)

    @property
    def pods(self) -> dict[str, Obj]:
        """The cached pods by "namespace/name" (upstream's name; read only)."""
        return self.resources


class EventReflector(ResourceReflector):
    """Events about our users' pods, indexed by the pod they are about.

    `next_change("namespace/podname")` fires when an event about that pod
    arrives; `events_for` lists them oldest first.

    A namespace holds events of every workload in it, and a busy one tens of
    thousands (an upstream hub's event cache reached 1.5 GB at 35,000). So
    the cache is bounded three ways: with `pods`, it keeps only events about
    pods in that reflector's cache or announced by `expect()` (a spawn about
    to create its pod: its first events may come before the pod's own watch
    event); events older than `max_age` seconds go (by their last time,
    swept at most every `sweep_every` seconds); and beyond `max_count` the
    least recently updated go first. Spawns read events only while they
    start, so none of this loses anything a user sees, short of thousands
    of spawns at once with events past `max_count`.
    """

    resource = "events"
    kind = "event"
    # an event's own metadata serves only to tell events apart and order
    # them; the rest of it (involvedObject, reason, message, times) stays
    kept_metadata = frozenset(("name", "namespace", "uid", "resourceVersion", "creationTimestamp"))

    def __init__(
        self,
        api: KubeAPI,
        *,
        pods: ResourceReflector | None = None,
        max_age: float = 3600,
        max_count: int = 10000,
        sweep_every: float = 60,
        clock: Callable[[], float] = time.time,
        **kwargs,
    ):
        kwargs.setdefault("field_selector", "involvedObject.kind=Pod")
        super().__init__(api, **kwargs)
        self.by_object: dict[str, dict[str, Obj]] = {}
        self.pods = pods
        self.max_age = max_age
        self.max_count = max_count
        self.sweep_every = sweep_every
        self.clock = clock
        self.expected: dict[str, int] = {}
        self._next_sweep = 0.0

    def expect(self, pod_key: str) -> None:
        """Keep events about this pod from now on, before the pod cache has it."""
        self.expected[pod_key] = self.expected.get(pod_key, 0) + 1

    def unexpect(self, pod_key: str) -> None:
        count = self.expected.get(pod_key, 0) - 1
        if count > 0:
            self.expected[pod_key] = count
        else:
            self.expected.pop(pod_key, None)

    def _wanted(self, obj: Obj) -> bool:
        if self.pods is not None:
            pod_key = self.notify_key_of(obj)
            if pod_key not in self.expected and self.pods.get(pod_key) is None:
                return False
        return self.max_age is None or event_time(obj) >= self._cutoff()

    def _cutoff(self) -> str:
        # RFC 3339 in UTC, as the API serializes every time: such strings
        # sort as the times they name (to the second), so no parsing
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock() - self.max_age))

    def _put(self, obj: Obj) -> None:
        # re-insert, so the dict's order is least recently updated first
        old = self.resources.pop(self.key_of(obj), None)
        if old is not None:
            self._stored(old, None)
        super()._put(obj)
        self._trim()

    async def _list(self) -> None:
        await super()._list()
        self._next_sweep = 0.0
        self._trim()

    def _trim(self) -> None:
        if self.max_age is not None and self.clock() >= self._next_sweep:
            self._next_sweep = self.clock() + self.sweep_every
            cutoff = self._cutoff()
            for key, event in list(self.resources.items()):
                if event_time(event) < cutoff:
                    self._drop(key)
        over = len(self.resources) - self.max_count if self.max_count is not None else 0
        if over > 0:
            for key in list(itertools.islice(self.resources, over)):
                self._drop(key)

    def _drop(self, key: str) -> None:
        # forgotten, not deleted: no waiter is woken for it
        self._stored(self.resources.pop(key), None)

    def notify_key_of(self, obj: Obj) -> str:
        involved = obj.get("involvedObject") or {}
        namespace = involved.get("namespace") or obj["metadata"].get("namespace", "")
        return f"{namespace}/{involved.get('name', '')}"

    def _stored(self, old: Obj | None, new: Obj | None) -> None:
        if old is not None:
            bucket = self.by_object.get(self.notify_key_of(old))
            if bucket is not None:
                bucket.pop(self.key_of(old), None)
                if not bucket:
                    del self.by_object[self.notify_key_of(old)]
        if new is not None:
            self.by_object.setdefault(self.notify_key_of(new), {})[self.key_of(new)] = new

    def _reset_indexes(self) -> None:
        self.by_object = {}

    def events_for(self, pod_key: str, uid: str | None = None) -> list[Obj]:
        """Events about one pod (only that incarnation when uid is given), oldest first."""
        events = [
            e
            for e in self.by_object.get(pod_key, {}).values()
            if uid is None or (e.get("involvedObject") or {}).get("uid") == uid
        ]
        events.sort(key=event_sort_key)
        return events


def event_time(event: Obj) -> str:
    return (
        event.get("lastTimestamp")
        or event.get("eventTime")
        or event.get("firstTimestamp")
        or event["metadata"].get("creationTimestamp")
        or ""
    )


def event_sort_key(event: Obj) -> tuple:
    # resourceVersions are opaque strings; timestamps have 1s resolution, so
    # break ties by the numeric resourceVersion where it is one.
    rv = _rv(event) or ""
    return (event_time(event), int(rv) if rv.isdigit() else 0, rv)


# ---- shared reflectors ----------------------------------------------------

_shared: dict[tuple, ResourceReflector] = {}


async def shared_reflector(
    cls: type[ResourceReflector], api: KubeAPI, **kwargs
) -> ResourceReflector:
    """The one running reflector of this kind for this API, namespace and selectors."""
    loop = asyncio.get_running_loop()
    key = (
        loop,
        cls,
        api,
        kwargs.get("namespace"),
        kwargs.get("label_selector", ""),
        kwargs.get("field_selector"),
        kwargs.get("pods"),  # an event reflector keeps the events of these pods
    )
    reflector = _shared.get(key)
    if reflector is not None and reflector.loaded:
        return reflector  # the common case (every poll): no awaiting
    if reflector is None or reflector.failed is not None:
        reflector = _shared[key] = cls(api, **kwargs)
    await reflector.start()
    return reflector


async def stop_shared_reflectors() -> None:
    """Stop every shared reflector on the running loop (tests, shutdown)."""
    loop = asyncio.get_running_loop()
    for key, reflector in list(_shared.items()):
        if key[0] is loop:
            del _shared[key]
            await reflector.stop()
