"""core/v1 Events written the way the kubelet and scheduler write them.

A repeat of the same (object, type, reason, message, source) within the
aggregation window updates the existing Event's count and lastTimestamp
instead of creating a new one, as client-go's event correlator does.
"""

from __future__ import annotations

import logging
import time

from kubesim.api.store import now_rfc3339
from kubesim.model.errors import ApiError

log = logging.getLogger(__name__)

AGGREGATION_WINDOW = 600.0  # seconds a repeat still counts onto the same Event


class EventRecorder:
    def __init__(self, store):
        self.store = store
        # object uid -> correlation key -> (event name, namespace, count, last update time)
        self._last_stamp = 0
        self._seen: dict[str | None, dict[tuple, tuple[str, str, int, float]]] = {}

    def _stamp(self) -> int:
        """UnixNano, strictly increasing: client-go names events "<object>.<hex UnixNano>",
        so names sort in the order the events happened (kubectl describe relies on it)."""
        self._last_stamp = max(time.time_ns(), self._last_stamp + 1)
        return self._last_stamp

    async def emit(
        self,
        obj: dict,
        event_type: str,
        reason: str,
        message: str,
        *,
        component: str,
        host: str | None = None,
        field_path: str | None = None,
    ) -> None:
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        seen = self._seen.setdefault(meta.get("uid"), {})
        key = (field_path, event_type, reason, message, component, host)
        now = now_rfc3339()
        previous = seen.get(key)
        try:
            if previous and time.monotonic() - previous[3] < AGGREGATION_WINDOW:
                name, ns, count, _ = previous
                await self.store.patch(
                    "events",
                    name,
                    {"count": count + 1, "lastTimestamp": now},
                    "merge",
                    namespace=ns,
                )
                seen[key] = (name, ns, count + 1, time.monotonic())
                return
            involved = {
                "kind": obj.get("kind") or "Pod",
                "namespace": meta.get("namespace"),
                "name": meta["name"],
                "uid": meta.get("uid"),
                "apiVersion": obj.get("apiVersion") or "v1",
                "resourceVersion": meta.get("resourceVersion"),
            }
            if field_path:
                involved["fieldPath"] = field_path
            source = {"component": component}
            if host:
                source["host"] = host
            event = {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {
                    "name": f"{meta['name']}.{self._stamp():x}",
                    "namespace": namespace,
                },
                "involvedObject": {k: v for k, v in involved.items() if v is not None},
                "reason": reason,
                "message": message,
                "type": event_type,
                "source": source,
                "firstTimestamp": now,
                "lastTimestamp": now,
                "count": 1,
                "reportingComponent": component,
                "reportingInstance": host or "",
            }
            created = await self.store.create("events", event, namespace=namespace)
            seen[key] = (created["metadata"]["name"], namespace, 1, time.monotonic())
        except ApiError as error:
            # e.g. the namespace is terminating, or the Event was deleted meanwhile
            seen.pop(key, None)
            log.debug("event %s for %s not recorded: %s", reason, meta.get("name"), error)

    def forget(self, uid: str) -> None:
        """Drop correlation state for a removed object."""
        self._seen.pop(uid, None)
