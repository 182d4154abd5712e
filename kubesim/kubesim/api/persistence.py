"""API objects that survive a restart: a snapshot plus an append-only journal.

With an explicit state folder, `<state_dir>/objects/` holds `snapshot.json`
(every object and the resourceVersion counter) and `journal.jsonl` (one line
per committed change since the snapshot). Each change is encoded once (the
store's cached JSON of the snapshot, which watchers send anyway), appended to a
1 MiB in-memory buffer and handed to the OS every `flush_interval` seconds;
there is no fsync. The journal is folded into a new snapshot (written to a
temporary file, then renamed) once it holds more changes than twice the
number of objects, and on a clean stop.

On start the snapshot and then the journal are replayed: every object comes
back with its uid, resourceVersion and creationTimestamp, and the global
resourceVersion counter continues from the last one. The watch history is
empty, so a client resuming a watch from before the restart gets 410 Expired
and re-lists, as after an etcd compaction.

What survives what: a clean stop (SIGINT/SIGTERM) keeps everything. SIGKILL
loses at most the changes of the last `flush_interval` (what was flushed is in
the OS's page cache; a journal line cut short is ignored on replay). A power
cut may lose more (no fsync).
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

from kubesim.api.store import Store, dumps
from kubesim.api.store_workers import cancel_and_wait

try:
    import orjson

    loads = orjson.loads
except ImportError:  # orjson is an optional speed-up
    import json

    loads = json.loads

log = logging.getLogger(__name__)
Obj = dict[str, Any]
SNAPSHOT, JOURNAL = "snapshot.json", "journal.jsonl"


class ObjectJournal:
    def __init__(self, store: Store, directory: str | Path, flush_interval: float = 0.2):
        self.store = store
        self.directory = Path(directory)
        self.flush_interval = flush_interval
        self._file = None
        self._changes = 0  # lines in the journal since the last snapshot
        self._task: asyncio.Task | None = None

    # ----- replay

    def restore(self) -> int:
        """Load the saved objects into the (fresh) store; how many came back."""
        snapshot = self.directory / SNAPSHOT
        journal = self.directory / JOURNAL
        if not snapshot.exists() and not journal.exists():
            return 0
        objects: dict[tuple[str, str, str], Obj] = {}
        rv = 0
        if snapshot.exists():
            saved = loads(snapshot.read_bytes())
            rv = saved["resourceVersion"]
            for key, items in saved["objects"].items():
                for obj in items:
                    objects[_address(key, obj)] = obj
        if journal.exists():
            for line in journal.read_bytes().splitlines():
                try:
                    entry = loads(line)
                except ValueError:
                    log.warning("state: ignoring a journal line cut short (killed mid-write?)")
                    continue
                if entry[0] == "put":
                    _, key, obj = entry
                    objects[_address(key, obj)] = obj
                    rv = max(rv, int(obj["metadata"]["resourceVersion"]))
                else:
                    _, key, namespace, name, removed_rv = entry
                    objects.pop((key, namespace, name), None)
                    rv = max(rv, removed_rv)
                self._changes += 1
        self._install(objects, rv)
        return len(objects)

    def _install(self, objects: dict[tuple[str, str, str], Obj], rv: int) -> None:
        store = self.store
        known = {t.key: t for t in store.registry.types}
        for bucket in store._objects.values():
            bucket.clear()
        store._dependents.clear()
        for (key, namespace, name), obj in objects.items():
            rt = known.get(key)
            if rt is None:
                log.warning("state: %s %s/%s is of a type no longer served", key, namespace, name)
                continue
            store._objects[key].setdefault(namespace, {})[name] = obj
            store._index_owners(rt, obj, None)
        store._rv = rv
        # no history from before the restart: older resumes get 410 Expired
        store._history.clear()
        store._compacted_rv = rv
        for ns in store.list("namespaces")[0]:
            if ns["metadata"].get("deletionTimestamp"):
                store._spawn(store._finalize_namespace(ns["metadata"]["name"]))
        admission = store.admit
        allocator = getattr(admission, "_cluster_ips", None)
        if allocator is not None:
            used = {
                ip
                for svc in store.list("services")[0]
                for ip in (svc.get("spec") or {}).get("clusterIPs") or []
            }
            admission._cluster_ips = (ip for ip in allocator if ip not in used)

    # ----- recording

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._file = open(self.directory / JOURNAL, "ab", buffering=1 << 20)  # noqa: SIM115
        self.store.on_change.append(self._on_change)
        self._task = asyncio.get_running_loop().create_task(self._flush_periodically())

    def _on_change(self, event_type: str, rt, obj: Obj, old: Obj | None) -> None:
        if event_type == "DELETED":
            meta = obj["metadata"]
            namespace = meta.get("namespace", "") if rt.namespaced else ""
            line = dumps(["del", rt.key, namespace, meta["name"], int(meta["resourceVersion"])])
        else:
            line = b'["put","' + rt.key.encode() + b'",' + self.store.encode(obj) + b"]"
        self._file.write(line + b"\n")
        self._changes += 1

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            self._file.flush()
            if self._changes > max(10_000, 2 * sum(self.store.counts().values())):
                self.compact()

    def compact(self) -> None:
        """Write every object into a new snapshot and start an empty journal."""
        store = self.store
        parts = [b'{"resourceVersion":', str(store._rv).encode(), b',"objects":{']
        first = True
        for key, buckets in store._objects.items():
            items = [obj for bucket in buckets.values() for obj in bucket.values()]
            if not items:
                continue
            parts.append((b"" if first else b",") + dumps(key) + b":[")
            parts.append(b",".join(store.encode(obj) for obj in items))
            parts.append(b"]")
            first = False
        parts.append(b"}}")
        temporary = self.directory / (SNAPSHOT + ".tmp")
        temporary.write_bytes(b"".join(parts))
        os.replace(temporary, self.directory / SNAPSHOT)
        if self._file is not None:
            self._file.close()
        self._file = open(self.directory / JOURNAL, "wb", buffering=1 << 20)  # noqa: SIM115
        self._changes = 0

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        if self._on_change in self.store.on_change:
            self.store.on_change.remove(self._on_change)
        if self._file is not None:
            self.compact()
            self._file.close()
            self._file = None


def _address(key: str, obj: Obj) -> tuple[str, str, str]:
    meta = obj["metadata"]
    return key, meta.get("namespace", ""), meta["name"]
