"""Stand-in for the servers inside users' pods during the hub benchmark.

With kubesim's pause runtime a user's pod becomes Ready with an address but
nothing listens there, while the hub, once the spawner's start() returns,
insists on one HTTP answer from the server (JupyterHub's `_wait_up`, not
configurable). Running a real jupyterhub-singleuser per pod would measure
process start-up on two cores, not the hub. So this one asyncio server
answers on every user pod's address instead: a few bytes of memory per pod.

It must listen before the hub knocks, or the hub backs off (0.2 s and
more) and the latency figures measure this stand-in. The address comes from
the API, never guessed: a watch on users' pods binds each pod's
`status.podIP` as soon as it appears. kubesim's kubelet writes the address
(sandbox created) in a status update of its own before any container starts,
so the bind comes at least the container start and readiness delays before
the pod is Ready. (Guessing the next addresses and listening on them ahead
does not work: kubesim skips addresses something listens on, so it hands
out others.) A pod whose address is first seen when it is already Ready
(e.g. while the watch restarts after an injected fault) counts as a late
bind, which the benchmark reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl

import aiohttp

log = logging.getLogger("bench-hub.responder")

USER_POD_SELECTOR = "component=singleuser-server"


def _ready(pod: dict) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


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

    def close_listener(self, address: str) -> None:
        server = self.listeners.pop(address, None)
        if server is not None:
            server.close()

    def close_all(self) -> None:
        for address in list(self.listeners):
            self.close_listener(address)

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
        self.close_all()

    async def _on_pod(self, event_type: str, pod: dict) -> None:
        address = (pod.get("status") or {}).get("podIP")
        if not address:
            return
        if event_type == "DELETED":
            # the address is not handed out again soon (round-robin)
            self.close_listener(address)
        elif address not in self.listeners:
            if _ready(pod):
                self.late_binds += 1  # the hub may have knocked already
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
