"""One shared Kubernetes API client per configuration, speaking raw JSON.

Why raw JSON: the spawner builds manifests as plain dicts and reads a few
fields of pods and events; deserialising every watch event into
kubernetes_asyncio model objects costs far more CPU than the spawn itself.
So requests go through the kubernetes_asyncio ApiClient's configuration,
TLS and auth (in-cluster service account or kubeconfig, token refresh
included) but send and receive dicts.

Why shared: every spawner of a hub talks to the same API server; one
connection pool per (event loop, API settings) keeps the number of
connections and TLS handshakes independent of the number of users.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from kubernetes_asyncio import client as k8s_client
from kubernetes_asyncio import config as k8s_config
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.client.rest import RESTResponse

# Where Kubernetes mounts a pod's service account (token, ca.crt, namespace).
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


@dataclass(frozen=True)
class ApiSettings:
    """The traits that choose and tune the API connection."""

    host: str | None = None
    ssl_ca_cert: str | None = None
    verify_ssl: bool | None = None
    request_timeout: float | None = 3.0


def in_cluster_namespace(default: str = "default") -> str:
    """The namespace the hub pod runs in, or `default` outside a cluster."""
    try:
        with open(os.path.join(SERVICE_ACCOUNT_DIR, "namespace")) as f:
            return f.read().strip() or default
    except OSError:
        return default


def config_source() -> tuple[str, str | None]:
    """Where credentials come from: ("in-cluster", None), ("kubeconfig", path) or ("none", path)."""
    token = os.path.join(SERVICE_ACCOUNT_DIR, "token")
    if os.environ.get("KUBERNETES_SERVICE_HOST") and os.path.exists(token):
        return "in-cluster", None
    kubeconfig = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    first = next((p for p in kubeconfig.split(os.pathsep) if p), kubeconfig)
    return ("kubeconfig" if os.path.exists(first) else "none"), first


async def load_configuration(settings: ApiSettings) -> k8s_client.Configuration:
    """In-cluster config if we are in a pod, else the kubeconfig; then overrides."""
    configuration = k8s_client.Configuration()
    source, path = config_source()
    if source == "in-cluster":
        k8s_config.load_incluster_config(
            client_configuration=configuration,
            token_filename=os.path.join(SERVICE_ACCOUNT_DIR, "token"),
            cert_filename=os.path.join(SERVICE_ACCOUNT_DIR, "ca.crt"),
        )
    elif source == "kubeconfig":
        await k8s_config.load_kube_config(config_file=path, client_configuration=configuration)
    elif not settings.host:
        raise RuntimeError(
            "No Kubernetes API to talk to: not running in a pod, no kubeconfig at "
            f"{path!r}, and c.KubeSpawner.k8s_api_host is not set. Set one of them."
        )
    if settings.host:
        configuration.host = settings.host.rstrip("/")
    if settings.ssl_ca_cert:
        configuration.ssl_ca_cert = settings.ssl_ca_cert
    if settings.verify_ssl is not None:
        configuration.verify_ssl = settings.verify_ssl
    return configuration


class KubeAPI:
    """Raw-JSON requests against one API server, over a shared ApiClient."""

    def __init__(self, api_client: k8s_client.ApiClient, request_timeout: float | None):
        self.api_client = api_client
        self.configuration = api_client.configuration
        self.host = self.configuration.host.rstrip("/")
        self.request_timeout = request_timeout

    @property
    def session(self) -> aiohttp.ClientSession:
        return self.api_client.rest_client.pool_manager

    async def _headers(self, content_type: str | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        for auth in (await self.configuration.auth_settings()).values():
            if auth["in"] == "header" and auth["value"]:
                headers[auth["key"]] = auth["value"]
        return headers

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send one request; return the decoded JSON or raise ApiException."""
        # (bodies stay on the json module: it turns non-string keys users may
        # give in extra config into strings, where orjson would refuse them)
        data = None if body is None else json.dumps(body)
        headers = await self._headers(content_type if data is not None else None)
        total = timeout if timeout is not None else self.request_timeout
        async with self.session.request(
            method,
            self.host + path,
            params=_query(params),
            data=data,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=total),
        ) as response:
            raw = await response.read()
            if not 200 <= response.status < 300:
                raise ApiException(http_resp=RESTResponse(response, raw.decode("utf-8", "replace")))
            return orjson.loads(raw) if raw else {}

    async def watch(
        self,
        path: str,
        *,
        params: dict[str, Any],
        server_timeout: int,
        on_open: Callable[[], None] | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Stream watch events (decoded dicts) until the server closes the stream."""
        params = dict(params, watch="true", timeoutSeconds=server_timeout)
        headers = await self._headers()
        # No total timeout: the server ends the stream after server_timeout.
        # A read timeout a bit longer than that catches a silently dead peer.
        timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=self.request_timeout,
            sock_read=server_timeout + 30,
        )
        async with self.session.get(
            self.host + path, params=_query(params), headers=headers, timeout=timeout
        ) as response:
            if response.status != 200:
                raw = await response.read()
                raise ApiException(http_resp=RESTResponse(response, raw.decode("utf-8", "replace")))
            if on_open is not None:
                on_open()
            async for line in response.content:
                if line.strip():
                    yield orjson.loads(line)


def _query(params: dict[str, Any] | None) -> dict[str, str] | None:
    if not params:
        return None
    out = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


_shared: dict[tuple, asyncio.Task] = {}


async def _create_api(settings: ApiSettings) -> KubeAPI:
    configuration = await load_configuration(settings)
    return KubeAPI(k8s_client.ApiClient(configuration), settings.request_timeout)


async def shared_api(settings: ApiSettings) -> KubeAPI:
    """The KubeAPI for these settings on the running event loop, made once."""
    loop = asyncio.get_running_loop()
    key = (loop, settings)
    task = _shared.get(key)
    if task is not None and task.done() and not task.cancelled() and task.exception() is None:
        return task.result()  # the common case: no awaiting, no shield
    if task is None:
        task = _shared[key] = loop.create_task(_create_api(settings))
    try:
        return await asyncio.shield(task)
    except Exception:
        # A failed load (no kubeconfig yet...) is not cached: try again next time.
        if _shared.get(key) is task:
            del _shared[key]
        raise


async def close_shared_apis() -> None:
    """Close every shared client made on the running loop (tests, shutdown)."""
    loop = asyncio.get_running_loop()
    for key, task in list(_shared.items()):
        if key[0] is not loop:
            continue
        del _shared[key]
        if task.done() and not task.cancelled() and task.exception() is None:
            await task.result().api_client.close()
    await close_shared_clients()


# ---- upstream's surface: typed kubernetes_asyncio clients ----------------------
# KubeSpawner 7 exposes these to hub config and subclasses (its own I/O uses
# them); ours goes through KubeAPI above. They share the configuration
# loading, and the clients are closed with close_shared_apis().

_typed_clients: dict[tuple, Any] = {}
_loaded_config: dict[tuple, k8s_client.Configuration] = {}


def load_config(host=None, ssl_ca_cert=None, verify_ssl=None) -> None:
    """Make kubernetes_asyncio's default Configuration the in-cluster one or
    the kubeconfig's, with these overrides (upstream's signature; callable
    with or without a running loop). Done once per set of arguments."""
    key = (host, ssl_ca_cert, verify_ssl)
    if key not in _loaded_config:
        settings = ApiSettings(host=host, ssl_ca_cert=ssl_ca_cert, verify_ssl=verify_ssl)
        # load_configuration is async (kubeconfig exec plugins); run it on a
        # loop of its own so a caller inside a running loop can wait for it
        with ThreadPoolExecutor(1) as pool:
            configuration = pool.submit(asyncio.run, load_configuration(settings)).result()
        _loaded_config[key] = configuration
    k8s_client.Configuration.set_default(_loaded_config[key])


def shared_client(ClientType: str, *args, **kwargs):
    """One ``kubernetes_asyncio.client.<ClientType>`` (e.g. "CoreV1Api") per
    running loop and arguments, on the default Configuration (see
    load_config)."""
    loop = asyncio.get_running_loop()
    key = (loop, ClientType, args, tuple(sorted(kwargs.items())))
    client = _typed_clients.get(key)
    if client is None:
        try:
            client_class = getattr(k8s_client, ClientType)
        except AttributeError:
            raise ValueError(
                f"shared_client({ClientType!r}): kubernetes_asyncio.client has no such "
                "API class; use one like 'CoreV1Api' or 'NetworkingV1Api'"
            ) from None
        client = _typed_clients[key] = client_class(*args, **kwargs)
    return client


async def close_shared_clients() -> None:
    """Close the typed clients made on the running loop."""
    loop = asyncio.get_running_loop()
    for key, client in list(_typed_clients.items()):
        if key[0] is loop:
            del _typed_clients[key]
            await client.api_client.close()
