"""pytest fixtures for any suite that needs a Kubernetes API (registered as pytest11).

async def test_x(kubesim):              # a started KubeSim: 1 node, pause runtime
    ...kubesim.url, kubesim.kubeconfig_path, kubesim.api.store...

async def test_y(kubesim_factory):      # custom options; stopped after the test
    sim = await kubesim_factory(nodes=3, runtime="process", https=True)

async def test_z(kubesim, kube_api):    # a kubernetes_asyncio ApiClient for it
    pods = await CoreV1Api(kube_api).list_namespaced_pod("default")
"""

from __future__ import annotations

import pytest

from kubesim.harness.simulator import KubeSim


@pytest.fixture
async def kubesim_factory(tmp_path_factory):
    started: list[KubeSim] = []

    async def start(**options) -> KubeSim:
        options.setdefault("state_dir", tmp_path_factory.mktemp("kubesim"))
        sim = KubeSim(**options)
        await sim.start()
        started.append(sim)
        return sim

    yield start
    for sim in reversed(started):
        await sim.stop()


@pytest.fixture
async def kubesim(kubesim_factory) -> KubeSim:
    return await kubesim_factory()


@pytest.fixture
async def kube_api(kubesim):
    """A kubernetes_asyncio ApiClient configured from the kubesim kubeconfig."""
    from kubernetes_asyncio.client import ApiClient

    configuration = await _client_configuration(kubesim)
    async with ApiClient(configuration) as api:
        yield api


async def _client_configuration(sim: KubeSim):
    from kubernetes_asyncio import config
    from kubernetes_asyncio.client import Configuration

    configuration = Configuration()
    await config.load_kube_config(
        config_file=str(sim.kubeconfig_path), client_configuration=configuration
    )
    return configuration
