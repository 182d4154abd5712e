"""The DaemonSet controller over HTTP: kubectl apply / label / taint / rollout, kubernetes_asyncio."""

import json

import pytest
from kubernetes_asyncio import client

from kubesim.control.daemonsets import DEFAULT_TOLERATIONS
from kubesim.testing import api_client_for, wait_for

from .test_kubectl import KUBECTL, kubectl

pytestmark = pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl not installed (ci/setup)")


def daemonset(name="agent", node_selector=None, strategy=None, image="busybox:1.36"):
    spec = {"containers": [{"name": "c", "image": image}]}
    if node_selector:
        spec["nodeSelector"] = node_selector
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": spec},
            **({"updateStrategy": strategy} if strategy else {}),
        },
    }


async def apply(sim, tmp_path, body):
    path = tmp_path / f"{body['metadata']['name']}.json"
    path.write_text(json.dumps(body))
    return await kubectl(sim, "apply", "-f", str(path))


def live_pods(sim, app="agent"):
    return [
        p
        for p in sim.objects("pods", "default", label_selector=f"app={app}")
        if not p["metadata"].get("deletionTimestamp")
    ]


def nodes_of(sim, app="agent"):
    """node -> pod (only pods bound and Ready)."""
    return sorted(
        p["spec"]["nodeName"]
        for p in live_pods(sim, app)
        if p["spec"].get("nodeName")
        and any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in p["status"].get("conditions") or []
        )
    )


async def settled_on(sim, nodes, app="agent", timeout=30):
    """Wait until exactly `nodes` each run one Ready pod and the status says so."""

    def done(ds):
        status = (ds or {}).get("status") or {}
        return (
            nodes_of(sim, app) == sorted(nodes)
            and len(live_pods(sim, app)) == len(nodes)
            and status.get("numberAvailable") == len(nodes)
            and status.get("desiredNumberScheduled") == len(nodes)
        )

    await wait_for(sim.store, "daemonsets.apps", app, "default", done, timeout)


@pytest.fixture
async def four_nodes(kubesim_factory):
    return await kubesim_factory(
        nodes=[
            {"labels": {"disk": "ssd"}},
            {
                "labels": {"disk": "ssd"},
                "taints": [{"key": "dedicated", "value": "x", "effect": "NoSchedule"}],
            },
            {},
            {"labels": {"disk": "ssd"}},
        ],
        delays={"readiness": 0.05},
    )


async def test_one_pod_per_eligible_node_and_pods_follow_the_nodes(four_nodes, tmp_path):
    sim = four_nodes
    await kubectl(sim, "cordon", "node-4")  # DaemonSet pods tolerate unschedulable nodes
    await apply(sim, tmp_path, daemonset(node_selector={"disk": "ssd"}))
    out = await kubectl(sim, "rollout", "status", "ds/agent", "--timeout=60s")
    assert 'daemon set "agent" successfully rolled out' in out
    await settled_on(sim, ["node-1", "node-4"])
    ds = sim.get("daemonsets.apps", "agent", "default")
    assert ds["status"] == {
        "desiredNumberScheduled": 2,
        "currentNumberScheduled": 2,
        "numberMisscheduled": 0,
        "numberReady": 2,
        "numberAvailable": 2,
        "updatedNumberScheduled": 2,
        "observedGeneration": 1,
    }
    (revision,) = sim.objects("controllerrevisions.apps", "default")
    assert revision["revision"] == 1
    assert revision["metadata"]["ownerReferences"][0]["uid"] == ds["metadata"]["uid"]
    pod = live_pods(sim)[0]
    labels = pod["metadata"]["labels"]
    assert revision["metadata"]["name"] == f"agent-{labels['controller-revision-hash']}"
    assert labels["pod-template-generation"] == "1"
    assert pod["metadata"]["generateName"] == "agent-"
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"
    terms = pod["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]
    assert terms["nodeSelectorTerms"] == [
        {
            "matchFields": [
                {"key": "metadata.name", "operator": "In", "values": [pod["spec"]["nodeName"]]}
            ]
        }
    ]
    assert all(t in pod["spec"]["tolerations"] for t in DEFAULT_TOLERATIONS)
    table = await kubectl(sim, "get", "ds", "agent")
    assert table.splitlines()[1].split()[:7] == ["agent", "2", "2", "2", "2", "2", "disk=ssd"]

    await kubectl(sim, "label", "node", "node-3", "disk=ssd")
    await settled_on(sim, ["node-1", "node-3", "node-4"])
    await kubectl(sim, "taint", "node", "node-2", "dedicated-")
    await settled_on(sim, ["node-1", "node-2", "node-3", "node-4"])
    await kubectl(sim, "label", "node", "node-1", "disk-")
    await settled_on(sim, ["node-2", "node-3", "node-4"])
    # an untolerated NoSchedule taint keeps a running pod; NoExecute removes it
    await kubectl(sim, "taint", "node", "node-3", "a=b:NoSchedule")
    await kubectl(sim, "taint", "node", "node-2", "a=b:NoExecute")

    def kept_but_misscheduled(ds):
        status = ds["status"]
        return (
            nodes_of(sim) == ["node-3", "node-4"]
            and status["desiredNumberScheduled"] == 1
            and status["numberMisscheduled"] == 1
            and status["numberAvailable"] == 1
        )

    await wait_for(sim.store, "daemonsets.apps", "agent", "default", kept_but_misscheduled)
    await kubectl(sim, "taint", "node", "node-3", "a-")
    await settled_on(sim, ["node-3", "node-4"])
    await kubectl(sim, "delete", "node", "node-4")
    await settled_on(sim, ["node-3"])


async def test_rolling_update_keeps_max_unavailable_and_undo_restores(four_nodes, tmp_path):
    sim = four_nodes
    await apply(sim, tmp_path, daemonset())
    await settled_on(sim, ["node-1", "node-3", "node-4"])  # node-2's taint is not tolerated
    first_hash = live_pods(sim)[0]["metadata"]["labels"]["controller-revision-hash"]
    worst = []

    def count_unavailable(event_type, rt, obj, old):
        if rt.key == "pods":
            worst.append(3 - len(set(nodes_of(sim))))

    sim.store.on_change.append(count_unavailable)
    await kubectl(sim, "set", "image", "ds/agent", "c=busybox:1.37")
    out = await kubectl(sim, "rollout", "status", "ds/agent", "--timeout=60s")
    assert "successfully rolled out" in out
    sim.store.on_change.remove(count_unavailable)
    assert max(worst) == 1  # maxUnavailable defaults to 1: one node at a time
    pods = live_pods(sim)
    assert {p["spec"]["containers"][0]["image"] for p in pods} == {"busybox:1.37"}
    assert {p["metadata"]["labels"]["pod-template-generation"] for p in pods} == {"2"}
    history = await kubectl(sim, "rollout", "history", "ds/agent")
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["1", "2"]

    await kubectl(sim, "rollout", "undo", "ds/agent")
    await kubectl(sim, "rollout", "status", "ds/agent", "--timeout=60s")
    await settled_on(sim, ["node-1", "node-3", "node-4"])
    pods = live_pods(sim)
    assert {p["spec"]["containers"][0]["image"] for p in pods} == {"busybox:1.36"}
    assert {p["metadata"]["labels"]["controller-revision-hash"] for p in pods} == {first_hash}
    revisions = {
        r["metadata"]["name"]: r["revision"]
        for r in sim.objects("controllerrevisions.apps", "default")
    }
    assert revisions[f"agent-{first_hash}"] == 3  # the restored revision moves to the top


async def test_max_surge_starts_the_new_pod_before_the_old_one_goes(four_nodes, tmp_path):
    sim = four_nodes
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    await apply(sim, tmp_path, daemonset(strategy=strategy))
    await settled_on(sim, ["node-1", "node-3", "node-4"])
    gaps, doubles = [], []

    def observe(event_type, rt, obj, old):
        if rt.key == "pods":
            ready = nodes_of(sim)
            gaps.append(3 - len(set(ready)))
            doubles.append(len(ready) - len(set(ready)))

    sim.store.on_change.append(observe)
    await kubectl(sim, "set", "image", "ds/agent", "c=busybox:1.37")
    await kubectl(sim, "rollout", "status", "ds/agent", "--timeout=60s")
    sim.store.on_change.remove(observe)
    await settled_on(sim, ["node-1", "node-3", "node-4"])
    assert max(gaps) == 0 and max(doubles) == 1


async def test_on_delete_replaces_only_deleted_pods(four_nodes, tmp_path):
    sim = four_nodes
    await apply(sim, tmp_path, daemonset(strategy={"type": "OnDelete"}))
    await settled_on(sim, ["node-1", "node-3", "node-4"])
    async with await api_client_for(sim) as api:
        apps = client.AppsV1Api(api)
        await apps.patch_namespaced_daemon_set(
            "agent",
            "default",
            {
                "spec": {
                    "template": {"spec": {"containers": [{"name": "c", "image": "busybox:1.37"}]}}
                }
            },
        )

        def observed(ds):
            return ds["status"]["observedGeneration"] == 2

        await wait_for(sim.store, "daemonsets.apps", "agent", "default", observed)
        assert {p["spec"]["containers"][0]["image"] for p in live_pods(sim)} == {"busybox:1.36"}
        victim = next(p for p in live_pods(sim) if p["spec"]["nodeName"] == "node-3")
        await client.CoreV1Api(api).delete_namespaced_pod(victim["metadata"]["name"], "default")
        await settled_on(sim, ["node-1", "node-3", "node-4"])
        images = {
            p["spec"]["nodeName"]: p["spec"]["containers"][0]["image"] for p in live_pods(sim)
        }
        assert images == {
            "node-1": "busybox:1.36",
            "node-3": "busybox:1.37",
            "node-4": "busybox:1.36",
        }
        ds = await apps.read_namespaced_daemon_set("agent", "default")
        assert ds.status.updated_number_scheduled == 1
        assert ds.status.number_available == 3
