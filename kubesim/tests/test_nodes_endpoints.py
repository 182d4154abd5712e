"""The endpoints controller: Endpoints follow Services and their pods' readiness."""

import asyncio

import pytest

from kubesim.api.admission import Admission
from kubesim.api.store import Store
from kubesim.harness.node_simulator import NodeSimulator
from kubesim.testing import wait_for, wait_gone

NS = "default"


@pytest.fixture
async def cluster(tmp_path):
    store = Store()
    store.admit = Admission("1.33")
    sim = NodeSimulator(store, nodes=2, state_dir=tmp_path)
    await sim.start()
    yield store, sim
    await sim.stop()


def web_pod(name, app="web"):
    return {
        "metadata": {"name": name, "namespace": NS, "labels": {"app": app}},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "nginx:1.27",
                    "ports": [{"name": "http", "containerPort": 8080}],
                }
            ]
        },
    }


def ips(endpoints, key="addresses"):
    return sorted(a["ip"] for s in (endpoints or {}).get("subsets") or [] for a in s.get(key, []))


async def test_endpoints_follow_ready_pods(cluster):
    store, sim = cluster
    service = {
        "metadata": {"name": "web", "namespace": NS},
        "spec": {
            "selector": {"app": "web"},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }
    await store.create("services", service)
    await store.create("pods", web_pod("a"))
    await store.create("pods", web_pod("b"))
    await store.create("pods", web_pod("other", app="db"))
    endpoints = await wait_for(
        store, "endpoints", "web", NS, lambda e: len(ips(e)) == 2, timeout=10
    )
    pods = {p: store.peek("pods", p, NS) for p in ("a", "b")}
    assert ips(endpoints) == sorted(p["status"]["podIP"] for p in pods.values())
    (subset,) = endpoints["subsets"]
    assert subset["ports"] == [{"port": 8080, "protocol": "TCP", "name": "http"}]
    address = next(a for a in subset["addresses"] if a["targetRef"]["name"] == "a")
    assert address["nodeName"] == pods["a"]["spec"]["nodeName"]
    assert address["targetRef"]["uid"] == pods["a"]["metadata"]["uid"]

    # a pod that stops being ready moves to notReadyAddresses (kubelet paused: no status
    # writes, so flip the condition the way a failing readiness probe would)
    sim.pause_kubelet()
    status = dict(pods["b"]["status"])
    status["conditions"] = [
        {**c, "status": "False"} if c["type"] == "Ready" else c for c in status["conditions"]
    ]
    await store.update_status("pods", "b", {"metadata": {"name": "b"}, "status": status}, NS)
    endpoints = await wait_for(
        store, "endpoints", "web", NS, lambda e: ips(e, "notReadyAddresses"), timeout=10
    )
    assert ips(endpoints, "notReadyAddresses") == [pods["b"]["status"]["podIP"]]
    assert ips(endpoints) == [pods["a"]["status"]["podIP"]]
    sim.resume_kubelet()

    await store.delete("pods", "a", NS)
    await wait_for(store, "endpoints", "web", NS, lambda e: not ips(e), timeout=10)
    await store.delete("services", "web", NS)
    await wait_gone(store, "endpoints", "web", NS, timeout=10)


async def test_services_without_selector_keep_their_own_endpoints(cluster):
    store, _ = cluster
    await store.create(
        "services",
        {"metadata": {"name": "external", "namespace": NS}, "spec": {"ports": [{"port": 5432}]}},
    )
    manual = {
        "metadata": {"name": "external", "namespace": NS},
        "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": 5432}]}],
    }
    await store.create("endpoints", manual, NS)
    await store.create("pods", web_pod("x"))
    await wait_for(store, "pods", "x", NS, lambda p: p["status"].get("podIP"), timeout=10)
    await asyncio.sleep(0)  # let the controller see the changes
    assert ips(store.peek("endpoints", "external", NS)) == ["127.0.0.1"]
