"""A userspace kube-proxy for Services whose cluster IP is on loopback.

For each TCP port of each Service with a selector and a loopback cluster IP
(e.g. 127.96.0.12), it listens on clusterIP:port and forwards every
connection to one ready pod that the selector matches (round-robin), at the
Service port's targetPort (a number, or a container port name). A connection
with no ready endpoint is closed at once, like a connection refused. Cluster
IPs elsewhere (10.96.0.0/12 on a real cluster) cannot be reached from this
machine, so they are left alone. Runs with the process runtime only.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging

from kubesim.model.service_ports import target_port
from kubesim.node.pod_network import is_loopback

log = logging.getLogger(__name__)


def _ready(pod: dict) -> bool:
    status = pod.get("status") or {}
    if pod["metadata"].get("deletionTimestamp") or not status.get("podIP"):
        return False
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def endpoints(store, service: dict, port: dict) -> list[tuple[str, int]]:
    """(podIP, port) of the ready pods behind one Service port."""
    selector = (service.get("spec") or {}).get("selector") or {}
    if not selector:
        return []
    label_selector = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    pods = store.list("pods", service["metadata"]["namespace"], label_selector=label_selector)[0]
    found = []
    for pod in pods:
        number = target_port(pod, port)
        if number is not None and _ready(pod):
            found.append((pod["status"]["podIP"], number))
    return found


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy one direction of a proxied TCP connection, then half-close it."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()


class KubeProxy:
    def __init__(self, store):
        self.store = store
        # (namespace, service name) -> {(ip, port): server}
        self.listeners: dict[tuple[str, str], dict[tuple[str, int], asyncio.Server]] = {}
        self._turn = itertools.count()
        self._pending: set[asyncio.Task] = set()

    def on_service(self, event_type: str, service: dict) -> None:
        task = asyncio.get_running_loop().create_task(self._sync(event_type, service))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _sync(self, event_type: str, service: dict) -> None:
        key = (service["metadata"]["namespace"], service["metadata"]["name"])
        wanted: dict[tuple[str, int], dict] = {}
        spec = service.get("spec") or {}
        if event_type != "DELETED" and is_loopback(spec.get("clusterIP")) and spec.get("selector"):
            for port in spec.get("ports") or []:
                if (port.get("protocol") or "TCP") == "TCP":
                    wanted[(spec["clusterIP"], int(port["port"]))] = port
        current = self.listeners.setdefault(key, {})
        for address in [a for a in current if a not in wanted]:
            current.pop(address).close()
        for address, port in wanted.items():
            if address in current:
                continue
            try:
                current[address] = await asyncio.start_server(
                    lambda r, w, k=key, p=port: self._forward(r, w, k, p), *address
                )
            except OSError as error:
                log.warning("service %s/%s: cannot listen on %s:%s: %s", *key, *address, error)
        if not current:
            self.listeners.pop(key, None)

    async def _forward(self, reader, writer, key, port) -> None:
        service = self.store.peek("services", key[1], key[0])
        targets = endpoints(self.store, service, port) if service else []
        if not targets:
            writer.close()
            return
        host, number = targets[next(self._turn) % len(targets)]
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(host, number)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        for stream in (writer, upstream_writer):
            stream.close()

    async def close(self) -> None:
        for task in list(self._pending):
            task.cancel()
        for servers in self.listeners.values():
            for server in servers.values():
                server.close()
        self.listeners.clear()
