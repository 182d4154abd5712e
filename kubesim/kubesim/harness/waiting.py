"""Wait for a stored object to reach a state, driven by watch events (no polling).

    pod = await wait_for(store, "pods", "web", "default", lambda p: p["status"]["phase"] == "Running")

The predicate gets the object, or None once it is gone; `timeout` raises a
TimeoutError that shows the last state seen.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable


async def wait_for(
    store,
    resource: str,
    name: str,
    namespace: str | None,
    predicate: Callable[[dict | None], bool],
    timeout: float = 30.0,
) -> dict | None:
    current = store.peek(resource, name, namespace)
    if predicate(current):
        return current
    watch = store.watch(
        resource,
        namespace=namespace,
        field_selector=f"metadata.name={name}",
        resource_version=store.resource_version,
    )
    try:
        async with asyncio.timeout(timeout):
            while True:
                try:
                    event_type, obj = await anext(watch)
                except StopAsyncIteration:  # cut (fault injection): watch again
                    watch = store.watch(
                        resource, namespace=namespace, field_selector=f"metadata.name={name}"
                    )
                    continue
                current = None if event_type == "DELETED" else obj
                if event_type in ("ERROR", "BOOKMARK"):
                    current = store.peek(resource, name, namespace)
                if predicate(current):
                    return current
    except TimeoutError:
        shown = json.dumps(current, indent=1, default=str)[:4000]
        raise TimeoutError(
            f"{resource} {namespace}/{name} did not reach the state within {timeout}s; "
            f"last seen:\n{shown}"
        ) from None
    finally:
        watch.close()


async def wait_gone(store, resource: str, name: str, namespace: str | None, timeout=30.0):
    await wait_for(store, resource, name, namespace, lambda obj: obj is None, timeout)
