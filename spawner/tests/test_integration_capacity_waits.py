"""Spawns waiting for a node: the cluster autoscaler's TriggeredScaleUp or
Karpenter's Nominated (posted here as those components post them) keep a
pending spawn alive past start_timeout with a progress message; a spawn
that no node comes for fails with the scheduler's reason as a capacity
failure, which JupyterHub does not count towards consecutive_failure_limit.
kubesim's scheduler posts FailedScheduling and PodScheduled=False as
kube-scheduler does."""

import asyncio
import time

import pytest
from jupyterhub.spawner import SpawnException

from kubespawner.spawner import CapacityUnavailable

NS = "default"


async def unschedulable_pod(sim, name):
    for _ in range(500):
        pod = sim.get("pods", name, NS)
        conditions = (pod or {}).get("status", {}).get("conditions", [])
        if any(c.get("reason") == "Unschedulable" for c in conditions):
            return pod
        await asyncio.sleep(0.01)
    raise AssertionError(f"{name} never became unschedulable")


async def post_event(api, pod, reason, message, component):
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    body = {
        "apiVersion": "v1",
        "kind": "Event",
        # named as client-go's recorder names events: <object>.<hex time>
        "metadata": {"name": f"{pod['metadata']['name']}.{time.time_ns():x}", "namespace": NS},
        "involvedObject": {
            "kind": "Pod",
            "namespace": NS,
            "name": pod["metadata"]["name"],
            "uid": pod["metadata"]["uid"],
            "apiVersion": "v1",
        },
        "reason": reason,
        "message": message,
        "type": "Normal",
        "source": {"component": component},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }
    await api.request("POST", f"/api/v1/namespaces/{NS}/events", body=body)


async def add_node_label(sim, api, labels):
    (node,) = sim.objects("nodes")
    await api.request(
        "PATCH",
        f"/api/v1/nodes/{node['metadata']['name']}",
        body={"metadata": {"labels": labels}},
        content_type="application/merge-patch+json",
    )


async def test_a_scale_up_keeps_the_spawn_alive_past_start_timeout(hub_factory, sim, api):
    hub = await hub_factory(
        node_selector={"pool": "new"},
        start_timeout=2,
        capacity_wait_timeout=60,
        unschedulable_grace_period=1.5,
    )
    spawner = hub.spawner("sue")
    messages = []

    async def follow():
        await spawner._start_called.wait()
        async for event in spawner.progress():
            messages.append(event["message"])

    follower = asyncio.ensure_future(follow())
    task = asyncio.ensure_future(hub.spawn("sue"))
    pod = await unschedulable_pod(sim, "jupyter-sue")
    await post_event(
        api,
        pod,
        "TriggeredScaleUp",
        "pod triggered scale-up: [{pool-new 0->1 (max: 5)}]",
        "cluster-autoscaler",
    )
    await asyncio.sleep(3.5)  # past start_timeout and the grace period
    assert not task.done(), task
    await add_node_label(sim, api, {"pool": "new"})  # the new node is there
    await task
    assert await spawner.poll() is None
    await follower
    assert any(
        m.startswith(
            "Waiting for a node: the cluster autoscaler is adding a node "
            "(pod triggered scale-up: [{pool-new 0->1 (max: 5)}])"
        )
        for m in messages
    ), messages


async def test_no_node_in_time_fails_with_the_schedulers_reason(hub_factory, sim, api):
    hub = await hub_factory(
        node_selector={"pool": "gpu"},
        start_timeout=1,
        capacity_wait_timeout=2,
        unschedulable_grace_period=30,
    )
    task = asyncio.ensure_future(hub.spawn("tom"))
    pod = await unschedulable_pod(sim, "jupyter-tom")
    await post_event(
        api, pod, "Nominated", "Pod should schedule on: nodeclaim/gpu-x7k2q", "karpenter"
    )
    started = time.monotonic()
    with pytest.raises(CapacityUnavailable) as info:
        await task
    assert time.monotonic() - started > 1.5, "the capacity wait took its time"
    message = str(info.value)
    assert (
        "Karpenter is bringing up a node (Pod should schedule on: nodeclaim/gpu-x7k2q)" in message
    )
    assert "The scheduler says: 0/1 nodes are available" in message
    # JupyterHub's spawn handler counts only errors, not SpawnExceptions
    # ("handled rejections"), towards consecutive_failure_limit
    assert isinstance(info.value, SpawnException) and info.value.reason == "capacity"
    assert hub.spawner("tom").start_timeout == 1, "the hub's limit is back to the configured one"
    assert sim.get("pods", "jupyter-tom", NS) is None


async def test_unschedulable_without_help_is_a_capacity_failure_too(hub_factory, sim):
    hub = await hub_factory(node_selector={"pool": "none"}, unschedulable_grace_period=0.5)
    with pytest.raises(CapacityUnavailable, match="could not be scheduled on any node: 0/1"):
        await hub.spawn("uma")


async def test_the_autoscaler_saying_no_fails_at_once(hub_factory, sim, api):
    hub = await hub_factory(node_selector={"pool": "x"}, unschedulable_grace_period=60)
    task = asyncio.ensure_future(hub.spawn("vic"))
    pod = await unschedulable_pod(sim, "jupyter-vic")
    await post_event(
        api,
        pod,
        "NotTriggerScaleUp",
        "pod didn't trigger scale-up: 1 node(s) didn't match Pod's node affinity/selector",
        "cluster-autoscaler",
    )
    with pytest.raises(CapacityUnavailable, match="could not be scheduled"):
        await asyncio.wait_for(task, 10)
