"""Deletion: grace periods, finalizers, propagation and ownerReference GC, namespaces."""

import asyncio
import json

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.rest import ApiException

from kubesim.testing import pod_body, raw_request


async def eventually(check, timeout=10.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.02)


async def test_bound_pod_terminates_gracefully_until_kubelet_confirms(core, sim):
    await core.create_namespaced_pod("default", pod_body("g", node="node-1"))
    returned = await core.delete_namespaced_pod("g", "default", grace_period_seconds=20)
    assert returned.metadata.deletion_timestamp is not None
    assert returned.metadata.deletion_grace_period_seconds == 20
    still = await core.read_namespaced_pod("g", "default")
    assert still.metadata.deletion_timestamp is not None
    # the kubelet's confirmation (grace 0) removes it
    await sim.store.delete("pods", "g", "default", grace_period_seconds=0)
    with pytest.raises(ApiException) as err:
        await core.read_namespaced_pod("g", "default")
    assert err.value.status == 404


async def test_default_grace_is_the_pod_termination_grace(core):
    await core.create_namespaced_pod(
        "default", pod_body("t", node="n", terminationGracePeriodSeconds=7)
    )
    returned = await core.delete_namespaced_pod("t", "default")
    assert returned.metadata.deletion_grace_period_seconds == 7


async def test_unbound_pod_and_zero_grace_go_at_once(core, sim):
    await core.create_namespaced_pod("default", pod_body("u"))
    await core.delete_namespaced_pod("u", "default")
    assert sim.get("pods", "u", "default") is None
    await core.create_namespaced_pod("default", pod_body("z", node="n"))
    await core.delete_namespaced_pod("z", "default", grace_period_seconds=0)
    assert sim.get("pods", "z", "default") is None


async def test_delete_answers_status_for_most_kinds(sim, core):
    await core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    code, body = await raw_request(sim, "DELETE", "/api/v1/namespaces/default/configmaps/c")
    assert code == 200
    assert body["kind"] == "Status" and body["status"] == "Success"
    assert body["details"]["name"] == "c" and body["details"]["kind"] == "configmaps"


async def test_finalizers_hold_the_object(core, sim):
    await core.create_namespaced_config_map(
        "default", {"metadata": {"name": "f", "finalizers": ["example.com/hold"]}}
    )
    await core.delete_namespaced_config_map("f", "default")
    held = await core.read_namespaced_config_map("f", "default")
    assert held.metadata.deletion_timestamp is not None
    await core.patch_namespaced_config_map("f", "default", {"metadata": {"finalizers": None}})
    assert sim.get("configmaps", "f", "default") is None


async def test_precondition_uid_mismatch_conflicts(core):
    await core.create_namespaced_config_map("default", {"metadata": {"name": "p"}})
    with pytest.raises(ApiException) as err:
        await core.delete_namespaced_config_map(
            "p", "default", body=client.V1DeleteOptions(preconditions={"uid": "other"})
        )
    assert err.value.status == 409


def owned(name, owner, kind="ConfigMap"):
    return {
        "metadata": {
            "name": name,
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": kind,
                    "name": owner["metadata"]["name"],
                    "uid": owner["metadata"]["uid"],
                    "blockOwnerDeletion": True,
                }
            ],
        }
    }


async def test_background_gc_deletes_dependents(core, sim):
    owner = await sim.store.create("configmaps", {"metadata": {"name": "owner"}}, "default")
    await sim.store.create("secrets", owned("dep", owner), "default")
    await sim.store.create(
        "pods",
        {**pod_body("dep-pod"), **{"metadata": owned("dep-pod", owner)["metadata"]}},
        "default",
    )
    await core.delete_namespaced_config_map("owner", "default")
    await eventually(
        lambda: (
            sim.get("secrets", "dep", "default") is None
            and sim.get("pods", "dep-pod", "default") is None
        )
    )


async def test_orphan_propagation_keeps_dependents(core, sim):
    owner = await sim.store.create("configmaps", {"metadata": {"name": "owner"}}, "default")
    await sim.store.create("secrets", owned("dep", owner), "default")
    await core.delete_namespaced_config_map("owner", "default", propagation_policy="Orphan")
    await eventually(lambda: sim.get("configmaps", "owner", "default") is None)
    dep = sim.get("secrets", "dep", "default")
    assert dep is not None and not dep["metadata"].get("ownerReferences")


async def test_foreground_propagation_deletes_dependents_first(core, sim):
    owner = await sim.store.create("configmaps", {"metadata": {"name": "owner"}}, "default")
    await sim.store.create("secrets", owned("dep", owner), "default")
    code, returned = await raw_request(
        sim,
        "DELETE",
        "/api/v1/namespaces/default/configmaps/owner",
        {"propagationPolicy": "Foreground"},
    )
    assert code == 200
    assert "foregroundDeletion" in returned["metadata"]["finalizers"]
    await eventually(lambda: sim.get("configmaps", "owner", "default") is None)
    assert sim.get("secrets", "dep", "default") is None


async def test_namespace_deletion_deletes_contents(core, sim):
    await core.create_namespace({"metadata": {"name": "team"}})
    sa = await core.read_namespaced_service_account("default", "team")
    assert sa.metadata.name == "default"
    await core.create_namespaced_config_map("team", {"metadata": {"name": "c"}})
    await core.create_namespaced_pod("team", pod_body("p"))
    code, ns = await raw_request(sim, "DELETE", "/api/v1/namespaces/team")
    assert code == 200 and ns["status"]["phase"] == "Terminating"
    with pytest.raises(ApiException) as err:
        await core.create_namespaced_config_map("team", {"metadata": {"name": "late"}})
    assert err.value.status in (403, 404)
    await eventually(lambda: sim.get("namespaces", "team") is None)
    assert sim.objects("configmaps", "team") == [] and sim.objects("pods", "team") == []


async def test_creating_in_terminating_namespace_is_forbidden(core, sim):
    await core.create_namespace({"metadata": {"name": "slow"}})
    await core.create_namespaced_pod("slow", pod_body("p", node="n"))  # waits for a kubelet
    await core.delete_namespace("slow")
    with pytest.raises(ApiException) as err:
        await core.create_namespaced_config_map("slow", {"metadata": {"name": "late"}})
    assert err.value.status == 403
    assert "because it is being terminated" in json.loads(err.value.body)["message"]
    await sim.store.delete("pods", "p", "slow", grace_period_seconds=0)
    await eventually(lambda: sim.get("namespaces", "slow") is None)


async def test_delete_collection_with_selector(core, sim):
    for name, labels in (("a", {"x": "1"}), ("b", {"x": "1"}), ("c", {"x": "2"})):
        await core.create_namespaced_config_map(
            "default", {"metadata": {"name": name, "labels": labels}}
        )
    await core.delete_collection_namespaced_config_map("default", label_selector="x=1")
    # the root CA publisher's ConfigMap has no label x: it stays too
    assert [c["metadata"]["name"] for c in sim.objects("configmaps", "default")] == [
        "c",
        "kube-root-ca.crt",
    ]


async def test_eviction_respects_disruption_budgets(core, sim):
    ready = {"conditions": [{"type": "Ready", "status": "True"}]}
    for name in ("a", "b"):
        await sim.store.create("pods", pod_body(name, {"app": "x"}, node="n"), "default")
        await sim.store.patch(
            "pods", name, {"status": ready}, "merge", "default", subresource="status"
        )
    await client.PolicyV1Api(core.api_client).create_namespaced_pod_disruption_budget(
        "default",
        {
            "metadata": {"name": "keep-one"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "x"}}},
        },
    )
    eviction = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": "a", "namespace": "default"},
    }
    await core.create_namespaced_pod_eviction("a", "default", eviction)
    assert sim.get("pods", "a", "default")["metadata"]["deletionTimestamp"]
    eviction["metadata"]["name"] = "b"
    with pytest.raises(ApiException) as err:
        await core.create_namespaced_pod_eviction("b", "default", eviction)
    assert err.value.status == 429
    assert "disruption budget" in json.loads(err.value.body)["message"]


async def test_system_namespaces_may_not_be_deleted(core):
    with pytest.raises(ApiException) as err:
        await core.delete_namespace("kube-system")
    assert err.value.status == 403
    assert json.loads(err.value.body)["message"] == (
        'namespaces "kube-system" is forbidden: this namespace may not be deleted'
    )
