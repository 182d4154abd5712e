"""Stand-in for the servers inside users' pods during the hub benchmark.

With kubesim's pause runtime a user's pod becomes Ready with an address but
nothing listens there, while the hub, once the spawner's start() returns,
insists on one HTTP answer from the server (JupyterHub's `_wait_up`, not
configurable). Running a real jupyterhub-singleuser per pod would measure
process start-up on two cores, not the hub. So this one asyncio server
answers on every user pod's address instead: a few bytes of memory per pod.

It must listen before the hub knocks, or the hub backs off (0.2 s and
more) and the latency figures measure this stand-in. kubesim hands out pod
addresses round-robin from the start of 127.244.0.0/16 (kubesim/podnet.py),
so the responder listens ahead on the next addresses of that sequence; a
watch on users' pods still binds any address seen outside that window and
counts it as a late bind, which the benchmark reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import ssl

import aiohttp

log = logging.getLogger("bench-hub.responder")

POD_NETWORK = ipaddress.ip_network("127.244.0.0/16")
USER_POD_SELECTOR = "component=singleuser-server"


def next_pod_addresses(after: str | None, count: int) -> list[str]:
    """The `count` addresses kubesim hands out after `after` (or from the
    start), skipping .0 and .255 as its allocator does."""
    first = int(POD_NETWORK.network_address) + 1
    current = int(ipaddress.ip_address(after)) + 1 if after else first
    found = []
    while len(found) < count and current < int(POD_NETWORK.broadcast_address):
        if current & 0xFF not in (0, 255):
            found.append(str(ipaddress.ip_address(current)))
        current += 1
    return found


class _Answer(asyncio.Protocol):
    """One HTTP/1.1 answer per connection: 200, a JSON body, then close."""

    def __init__(self, reply: bytes):
        self.reply = reply
        self.buffer = b""
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data: bytes):
        self.buffer += data
        if b"\r\n\r\n" in self.buffer:
            self.transport.write(self.reply)
            self.transport.close()


def _reply(hub_version: str) -> bytes:
    body = json.dumps({"version": hub_version}).encode()
    head = (
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: application/json\r\n"
        f"X-JupyterHub-Version: {hub_version}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


class PodResponder:
    def __init__(
        self,
        api_server: str,
        token: str,
        ca_pem: str | None,
        namespace: str,
        port: int,
        hub_version: str,
    ):
        self.api_server = api_server.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"}
        self.ssl = ssl.create_default_context(cadata=ca_pem) if ca_pem else None
        self.namespace = namespace
        self.port = port
        self.reply = _reply(hub_version)
        self.listeners: dict[str, asyncio.Server] = {}
        self.highest: str | None = None  # highest address listened on so far
        self.late_binds = 0
        self.bind_errors: list[str] = []
        self.watch_restarts = 0
        self._task: asyncio.Task | None = None
        self._session: aiohttp.ClientSession | None = None
        self._synced = asyncio.Event()

    # --- listening -----------------------------------------------------------
    async def listen(self, address: str) -> None:
        if address in self.listeners:
            return
        loop = asyncio.get_running_loop()
        try:
            self.listeners[address] = await loop.create_server(
                lambda: _Answer(self.reply), address, self.port, reuse_address=True
            )
        except OSError as err:
            self.bind_errors.append(f"{address}:{self.port}: {err}")
            return
        if self.highest is None or ipaddress.ip_address(address) > ipaddress.ip_address(
            self.highest
        ):
            self.highest = address

    async def listen_ahead(self, count: int) -> None:
        """Listen on the next `count` addresses kubesim will hand out."""
        for address in next_pod_addresses(self.highest, count):
            await self.listen(address)

    def close_listener(self, address: str) -> None:
        server = self.listeners.pop(address, None)
        if server is not None:
            server.close()

    # --- following users' pods -------------------------------------------------
    async def start(self) -> PodResponder:
        self._session = aiohttp.ClientSession(
            headers=self.headers, timeout=aiohttp.ClientTimeout(total=None, sock_read=None)
        )
        self._task = asyncio.create_task(self._follow())
        await asyncio.wait_for(self._synced.wait(), 60)
        return self

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._session:
            await self._session.close()
        for address in list(self.listeners):
            self.close_listener(address)

    async def _on_pod(self, event_type: str, pod: dict) -> None:
        address = (pod.get("status") or {}).get("podIP")
        if not address:
            return
        if event_type == "DELETED":
            # the address is not handed out again soon (round-robin)
            self.close_listener(address)
        elif address not in self.listeners:
            self.late_binds += 1
            await self.listen(address)

    async def _follow(self) -> None:
        """List, then watch users' pods; on any error (the benchmark injects
        API faults) wait a little and start over."""
        path = f"{self.api_server}/api/v1/namespaces/{self.namespace}/pods"
        while True:
            try:
                async with self._session.get(
                    path, params={"labelSelector": USER_POD_SELECTOR}, ssl=self.ssl
                ) as resp:
                    resp.raise_for_status()
                    listing = await resp.json()
                for pod in listing.get("items", []):
                    await self._on_pod("ADDED", pod)
                self._synced.set()
                params = {
                    "labelSelector": USER_POD_SELECTOR,
                    "watch": "1",
                    "resourceVersion": listing["metadata"]["resourceVersion"],
                    "allowWatchBookmarks": "false",
                }
                async with self._session.get(path, params=params, ssl=self.ssl) as resp:
                    resp.raise_for_status()
                    async for line in resp.content:
                        if not line.strip():
                            continue
                        event = json.loads(line)
                        if event.get("type") == "ERROR":
                            break
                        await self._on_pod(event["type"], event["object"])
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - injected faults, cut watches
                log.debug("pod watch restarts after %s", err)
            self.watch_restarts += 1
            await asyncio.sleep(0.2)
