"""Fixtures for kubesim's API tests: a simulator without nodes, and real clients."""

import pytest
from kubernetes_asyncio import client

from kubesim import KubeSim
from kubesim.testing import api_client_for


@pytest.fixture
async def sim(tmp_path):
    """An API-only simulator (no nodes): tests act as scheduler/kubelet via the store."""
    async with KubeSim(nodes=0, state_dir=tmp_path / "kubesim") as running:
        yield running


@pytest.fixture
async def api(sim):
    async with await api_client_for(sim) as api_client:
        yield api_client


@pytest.fixture
def core(api):
    return client.CoreV1Api(api)
