"""EndpointSlices (discovery.k8s.io/v1) over HTTP: kubectl and kubernetes_asyncio."""

import asyncio
import json

import pytest
import yaml
from kubernetes_asyncio import client

from kubesim.testing import api_client_for

from .test_kubectl import KUBECTL, kubectl

pytestmark = pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl not installed (ci/setup)")

MANIFESTS = [
    {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "labels": {"tier": "front"}},
        "spec": {
            "selector": {"app": "web"},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    },
    *[
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"web-{i}", "labels": {"app": "web"}},
            "spec": {
                "terminationGracePeriodSeconds": 30,
                "containers": [
                    {
                        "name": "c",
                        "image": "busybox:1.36",
                        "ports": [{"name": "http", "containerPort": 8000 + i}],
                    }
                ],
            },
        }
        for i in range(2)
    ],
]


async def until(sim, check, timeout=30):
    """Wait, woken by each committed change, until check() holds."""
    changed = asyncio.Event()

    def on_change(*_):
        changed.set()

    sim.store.on_change.append(on_change)
    try:
        async with asyncio.timeout(timeout):
            while not check():
                changed.clear()
                await changed.wait()
    finally:
        sim.store.on_change.remove(on_change)


async def test_slices_follow_pods_and_services(kubesim_factory, tmp_path):
    sim = await kubesim_factory(nodes=1, delays={"terminating": 2})
    path = tmp_path / "web.yaml"
    path.write_text(yaml.safe_dump_all(MANIFESTS))
    await kubectl(sim, "apply", "-f", str(path))
    selector = "kubernetes.io/service-name=web"

    def slices():
        return sim.objects("endpointslices.discovery.k8s.io", "default", label_selector=selector)

    def endpoints():
        return {e["targetRef"]["name"]: e for s in slices() for e in s.get("endpoints") or []}

    await until(sim, lambda: [e["conditions"]["ready"] for e in endpoints().values()] == [True] * 2)
    svc = sim.get("services", "web", "default")
    async with await api_client_for(sim) as api:
        discovery = client.DiscoveryV1Api(api)
        listed = (
            await discovery.list_namespaced_endpoint_slice("default", label_selector=selector)
        ).items
    # a named targetPort resolves differently per pod: one slice per port set
    assert len(listed) == 2
    for item in listed:
        assert item.metadata.name.startswith("web-")
        assert item.metadata.labels == {
            "tier": "front",
            "kubernetes.io/service-name": "web",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
        }
        assert item.metadata.owner_references[0].uid == svc["metadata"]["uid"]
        assert item.address_type == "IPv4"
        (endpoint,) = item.endpoints
        pod = sim.get("pods", endpoint.target_ref.name, "default")
        assert endpoint.addresses == [pod["status"]["podIP"]]
        assert endpoint.node_name == "node-1"
        assert [(p.name, p.port, p.protocol) for p in item.ports] == [
            ("http", 8000 + int(endpoint.target_ref.name[-1]), "TCP")
        ]
    table = await kubectl(sim, "get", "endpointslices", "-l", selector)
    assert len(table.strip().splitlines()) == 3
    # a terminating pod stays in its slice: not ready, still serving, terminating
    await kubectl(sim, "delete", "pod", "web-0", "--wait=false")
    terminating = {"ready": False, "serving": True, "terminating": True}
    await until(sim, lambda: endpoints()["web-0"]["conditions"] == terminating)
    assert "web-0" not in json.dumps(sim.get("endpoints", "web", "default").get("subsets"))
    await kubectl(sim, "delete", "service", "web")
    await until(sim, lambda: not slices())  # garbage-collected with their Service
