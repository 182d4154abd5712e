"""Helpers for test suites that drive kubesim with real clients."""

from __future__ import annotations

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
