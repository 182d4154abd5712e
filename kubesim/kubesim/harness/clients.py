"""Helpers for test suites that drive kubesim with real clients."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def api_client_for(sim, token: str | None = None):
    """A kubernetes_asyncio ApiClient from the simulator's kubeconfig (use `async with`);
    with `token`, authenticated by it instead of the admin token."""
    from kubernetes_asyncio import client, config

    configuration = client.Configuration()
    await config.load_kube_config(
        config_file=str(sim.kubeconfig_path), client_configuration=configuration
    )
    if token is not None:
        configuration.api_key = {"BearerToken": token}
        configuration.api_key_prefix = {"BearerToken": "Bearer"}
        configuration.refresh_api_key_hook = None
    return client.ApiClient(configuration)


async def service_account_token(sim, namespace: str, name: str, seconds: int = 3600) -> str:
    """A token for ServiceAccount namespace/name, minted by the TokenRequest API."""
    path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"
    code, answer = await raw_request(sim, "POST", path, {"spec": {"expirationSeconds": seconds}})
    if code != 201:
        raise AssertionError(f"TokenRequest for {namespace}/{name}: {code} {answer}")
    return answer["status"]["token"]


def kubeconfig_with_token(sim, token: str, path) -> str:
    """Write a copy of the simulator's kubeconfig that authenticates with `token`."""
    import yaml

    config = yaml.safe_load(open(sim.kubeconfig_path))
    for user in config["users"]:
        user["user"] = {"token": token}
    with open(path, "w") as handle:
        yaml.safe_dump(config, handle)
    return str(path)


def pod_body(
    name: str,
    labels: dict | None = None,
    node: str | None = None,
    image: str = "busybox:1.36",
    **spec: Any,
) -> dict[str, Any]:
    """A minimal valid Pod manifest; extra keyword arguments go into spec."""
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"containers": [{"name": "main", "image": image}], **spec},
    }
    if node:
        body["spec"]["nodeName"] = node
    return body


async def raw_request(
    sim,
    method: str,
    path: str,
    body: Any = None,
    content_type: str = "application/json",
    params: Any = None,
    headers: dict | None = None,
    token: str | None = None,
) -> tuple[int, Any]:
    """One plain HTTP request to the simulator: (status, parsed JSON or text);
    authenticated with the admin token unless `token` is given."""
    import json
    import ssl

    import aiohttp

    send_headers = {
        "Authorization": f"Bearer {token or sim.token}",
        "Content-Type": content_type,
        **(headers or {}),
    }
    ssl_context = None
    if sim.ca_path:
        ssl_context = ssl.create_default_context(cafile=str(sim.ca_path))
    data = None if body is None else json.dumps(body)
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method,
            sim.url + path,
            data=data,
            params=params,
            headers=send_headers,
            ssl=ssl_context,
        ) as response,
    ):
        text = await response.text()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text


class RecordedWatch:
    """A kubernetes_asyncio watch streaming in the background, for tests that must
    act only once the watch is established (never after a guessed sleep).

        pods = RecordedWatch(core.list_namespaced_pod, "default", timeout_seconds=30)
        await pods.wait_for(2)      # the initial ADDED events: the server is watching
        ...change things...
        events = await pods.finish(4)   # [(type, name), ...]; stops the watch

    `wait_for(n)` returns once n events arrived, raising TimeoutError (with
    what did arrive) after `timeout` seconds, or AssertionError if the watch
    ended first.
    """

    def __init__(self, list_func, *args, **kwargs):
        from kubernetes_asyncio import watch

        self.events: list[tuple[str, str]] = []
        self._watch = watch.Watch()
        self._arrived = asyncio.Condition()
        self.task = asyncio.get_running_loop().create_task(self._run(list_func, args, kwargs))

    async def _run(self, list_func, args, kwargs) -> list[tuple[str, str]]:
        try:
            async for event in self._watch.stream(list_func, *args, **kwargs):
                async with self._arrived:
                    self.events.append((event["type"], event["object"].metadata.name))
                    self._arrived.notify_all()
        finally:
            async with self._arrived:
                self._arrived.notify_all()
        return self.events

    async def wait_for(self, count: int, timeout: float = 20.0) -> list[tuple[str, str]]:
        try:
            async with asyncio.timeout(timeout), self._arrived:
                await self._arrived.wait_for(lambda: len(self.events) >= count or self.task.done())
        except TimeoutError:
            raise TimeoutError(f"{count} watch events expected, got {self.events}") from None
        if len(self.events) < count:
            self.task.result()  # the watch's own error, if any
            raise AssertionError(f"the watch ended after {self.events}, {count} expected")
        return self.events

    async def finish(self, count: int, timeout: float = 20.0) -> list[tuple[str, str]]:
        """Wait for `count` events, stop the watch and return every event it saw."""
        await self.wait_for(count, timeout)
        self._watch.stop()
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        return self.events

    async def ended(self, timeout: float = 20.0) -> list[tuple[str, str]]:
        """Wait for the server to end the watch; every event it saw."""
        return await asyncio.wait_for(asyncio.shield(self.task), timeout)
