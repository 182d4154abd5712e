"""Fixtures for kubesim's own tests: a simulator without nodes, real clients,
and the node layer alone on a bare store (no API server).

`make_cluster` drives kubesim's internals (Store, NodeSimulator), which are
not its public surface, so it lives here rather than in kubesim.testing;
other suites start kubesim whole (the `kubesim` fixtures, kubesim.testing).
"""

import pytest
from kubernetes_asyncio import client

from kubesim import KubeSim
from kubesim.api.admission import Admission
from kubesim.api.store import Store
from kubesim.harness.node_simulator import NodeSimulator
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


@pytest.fixture
async def make_cluster(tmp_path):
    """make_cluster(**NodeSimulator options) -> (store, node simulator), each
    on a store of its own (kube 1.33 admission), all stopped at the end."""
    started = []

    async def make(**options):
        store = Store()
        store.admit = Admission("1.33")
        options.setdefault("state_dir", tmp_path / f"nodes{len(started)}")
        sim = NodeSimulator(store, **options)
        await sim.start()
        started.append(sim)
        return store, sim

    yield make
    for sim in started:
        await sim.stop()
