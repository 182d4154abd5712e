"""Fixtures for the spawner suites: a kubesim cluster and clean shared state.

The spawner keeps one API client and one set of reflectors per event loop;
every test gets its own loop, so they are closed after each test here.
"""

import pytest

from kubespawner.clients import ApiSettings, close_shared_apis, shared_api
from kubespawner.reflector import stop_shared_reflectors


@pytest.fixture
async def sim(kubesim_factory, monkeypatch):
    """A one-node kubesim (pause runtime, short kubelet delays); the spawner
    finds it through $KUBECONFIG like any kubeconfig user."""
    cluster = await kubesim_factory(nodes=1, runtime="pause")
    monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig_path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    yield cluster
    await stop_shared_reflectors()
    await close_shared_apis()


@pytest.fixture
async def api(sim):
    """The spawner's raw-JSON client for the kubesim cluster."""
    return await shared_api(ApiSettings(request_timeout=5))
