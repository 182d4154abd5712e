"""Helpers for test suites that drive kubesim with real clients."""

from __future__ import annotations

from typing import Any


async def api_client_for(sim):
    """A kubernetes_asyncio ApiClient from the simulator's kubeconfig (use `async with`)."""
    from kubernetes_asyncio import client, config

    configuration = client.Configuration()
    await config.load_kube_config(
        config_file=str(sim.kubeconfig_path), client_configuration=configuration
    )
    return client.ApiClient(configuration)


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
) -> tuple[int, Any]:
    """One plain HTTP request to the simulator: (status, parsed JSON or text)."""
    import json
    import ssl

    import aiohttp

    send_headers = {
        "Authorization": f"Bearer {sim.token}",
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
