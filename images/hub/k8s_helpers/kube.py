"""Connecting to the Kubernetes API the way a pod (or a developer) does."""

from __future__ import annotations

import os
from pathlib import Path

from kubernetes_asyncio import config
from kubernetes_asyncio.client import ApiClient, Configuration

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


async def make_api_client(kubeconfig: str | None = None) -> ApiClient:
    """An ApiClient for the in-cluster service account, or for a kubeconfig.

    A kubeconfig given explicitly (or through $KUBECONFIG) wins; inside a pod
    the service account is used, as Kubernetes injects KUBERNETES_SERVICE_HOST.
    """
    configuration = Configuration()
    kubeconfig = kubeconfig or os.environ.get("KUBECONFIG")
    if kubeconfig:
        await config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    elif os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config(client_configuration=configuration)
    else:
        await config.load_kube_config(client_configuration=configuration)
    return ApiClient(configuration)


def default_namespace() -> str:
    """$POD_NAMESPACE, else the service account's namespace, else "default"."""
    namespace = os.environ.get("POD_NAMESPACE")
    if namespace:
        return namespace
    try:
        return (SERVICE_ACCOUNT_DIR / "namespace").read_text().strip()
    except OSError:
        return "default"


def to_dict(api: ApiClient, obj) -> dict:
    """A model object as the API's JSON shape (camelCase keys, no Nones)."""
    return api.sanitize_for_serialization(obj)
