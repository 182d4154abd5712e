"""Stand-in for the servers inside users' pods during the hub benchmark.

With kubesim's pause runtime a user's pod becomes Ready with an address but
nothing listens there, while the hub, once the spawner's start() returns,
insists on one HTTP answer from the server (JupyterHub's `_wait_up`, not
configurable). Running a real jupyterhub-singleuser per pod would measure
process start-up on two cores, not the hub. So this one asyncio server
answers on every user pod's address instead: a few bytes of memory per pod.

It must listen before the hub knocks, or the hub backs off (0.2 s and
more) and the latency figures measure this stand-in. kubesim hands out pod
addresses round-robin from a random start (kubesim/podnet.py), so before
each scenario the responder starts one probe pod to learn where the
sequence stands and listens on the next addresses. A watch on users' pods
still binds any address outside that window; it counts such late binds,
which the benchmark reports.
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


def next_pod_addresses(after: str, count: int) -> list[str]:
    """The `count` addresses kubesim hands out after `after`, wrapping
    around the pod network and skipping .0 and .255 as its allocator does."""
    first = int(POD_NETWORK.network_address) + 1
    size = POD_NETWORK.num_addresses - 2
    offset = int(ipaddress.ip_address(after)) - first
    found = []
    for step in range(1, size + 1):
        if len(found) == count:
            break
        candidate = first + (offset + step) % size
        if candidate & 0xFF not in (0, 255):
            found.append(str(ipaddress.ip_address(candidate)))
    return found


def probe_pod(name: str, namespace: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": "bench-hub-probe"}},
        "spec": {
            "containers": [{"name": "probe", "image": "registry.k8s.io/pause:3.10"}],
            "terminationGracePeriodSeconds": 0,
        },
    }


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
        self.probes = 0
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

    async def listen_ahead(self, count: int, timeout: float = 60) -> None:
        """Listen on the next `count` addresses kubesim will hand out."""
        last = await self.last_handed_out(timeout)
        for address in next_pod_addresses(last, count):
            await self.listen(address)

    def close_listener(self, address: str) -> None:
        server = self.listeners.pop(address, None)
        if server is not None:
            server.close()

    def close_all(self) -> None:
        for address in list(self.listeners):
            self.close_listener(address)

    # --- where kubesim's address sequence stands -------------------------------
    async def last_handed_out(self, timeout: float) -> str:
        """Start a probe pod, read its address, delete it."""
        self.probes += 1
        name = f"bench-hub-probe-{self.probes}"
        pods = f"{self.api_server}/api/v1/namespaces/{self.namespace}/pods"
        async with self._session.post(
            pods, json=probe_pod(name, self.namespace), ssl=self.ssl
        ) as resp:
            if resp.status != 201:
                raise RuntimeError(f"creating probe pod {name}: {resp.status} {await resp.text()}")
        try:
            deadline = asyncio.get_running_loop().time() + timeout
            while asyncio.get_running_loop().time() < deadline:
                async with self._session.get(f"{pods}/{name}", ssl=self.ssl) as resp:
                    resp.raise_for_status()
                    address = ((await resp.json()).get("status") or {}).get("podIP")
                if address:
                    return address
                await asyncio.sleep(0.05)
            raise RuntimeError(f"probe pod {name} got no address in {timeout:.0f} s")
        finally:
            async with self._session.delete(
                f"{pods}/{name}", params={"gracePeriodSeconds": "0"}, ssl=self.ssl
            ) as resp:
                await resp.read()

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
