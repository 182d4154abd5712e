"""API faults and doomed pods, injected through kubesim, during start and stop."""

import asyncio

import pytest

from kubespawner.spawner import SpawnFailed

NS = "default"


FAULTS = ["503", "429", "timeout", "cut watch", "410 watch"]


def inject(sim, fault: str, verb: str):
    """Make the next `verb` request on pods (or the pod watch) misbehave."""
    if fault == "503":
        sim.faults.fail(verb=verb, resource="pods", status=503, count=2)
    elif fault == "429":
        sim.faults.fail(verb=verb, resource="pods", status=429, retry_after=1, count=1)
    elif fault == "timeout":  # longer than k8s_api_request_timeout below
        sim.faults.delay(2.5, verb=verb, resource="pods", count=1)
    elif fault == "cut watch":
        sim.cut_watches("pods")
    elif fault == "410 watch":
        sim.faults.fail(verb="watch", resource="pods", status=410, count=1)
        sim.cut_watches("pods")


async def test_faults_during_start_and_stop(hub_factory, sim):
    """Every fault kind, during start() and during stop(): the spawn and the
    stop both succeed, and the pod is gone afterwards."""
    hub = await hub_factory(k8s_api_request_timeout=1)
    await hub.spawn("warmup")  # reflectors running, so watch faults hit them
    sim.nodes.set_delays(readiness=0.3, terminating=0.3)
    for i, fault in enumerate(FAULTS):
        name = f"u{i}"
        watch_fault = "watch" in fault
        if not watch_fault:
            inject(sim, fault, "create")
        task = asyncio.ensure_future(hub.spawn(name))
        if watch_fault:
            await asyncio.sleep(0.1)  # the pod exists, not ready yet
            inject(sim, fault, "create")
        spawner = await task
        assert await spawner.poll() is None, f"start with {fault}"

        if not watch_fault:
            inject(sim, fault, "delete")
        task = asyncio.ensure_future(hub.stop(name))
        if watch_fault:
            await asyncio.sleep(0.1)  # deleting, the kubelet still terminating
            inject(sim, fault, "delete")
        await task
        assert sim.get("pods", f"jupyter-{name}", NS) is None, f"stop with {fault}"
        assert await spawner.poll() == 1
        sim.faults.clear()
    assert sim.requests("create", "pods") > len(FAULTS) + 1, "the faults were hit"


async def test_a_lost_answer_to_the_pod_create_keeps_the_pod_it_made(hub_factory, sim):
    """The create took effect but its answer came too late (a loaded API
    server): the retry meets 409, and the spawner keeps that pod -- made
    for this very spawn -- instead of deleting it as a leftover."""
    hub = await hub_factory(k8s_api_request_timeout=1)
    sim.faults.delay(2.0, verb="create", resource="pods", count=1, after=True)
    spawner = await hub.spawn("lost")
    assert await spawner.poll() is None
    assert sim.requests("create", "pods") == 2  # the lost one and the retry's 409
    assert sim.requests("delete", "pods") == 0
    assert sim.get("pods", "jupyter-lost", NS)["metadata"]["uid"] == spawner._pod_uid


async def test_errors_beyond_the_retry_timeout_fail_the_spawn(hub_factory, sim):
    hub = await hub_factory(k8s_api_request_retry_timeout=1)
    sim.faults.fail(verb="create", resource="pods", status=503)
    with pytest.raises(Exception, match="503"):
        await hub.spawn("e")
    assert sim.get("pods", "jupyter-e", NS) is None


async def test_expired_watch_during_start_relists_and_still_sees_ready(hub, sim):
    await hub.spawn("warmup")
    sim.nodes.set_delays(readiness=0.3)
    lists = sim.requests("list", "pods")
    task = asyncio.ensure_future(hub.spawn("g"))
    await asyncio.sleep(0.1)
    # the resumed watch is told its resourceVersion expired (410)
    sim.faults.fail(verb="watch", resource="pods", status=410, count=1)
    sim.cut_watches("pods")
    spawner = await task
    assert await spawner.poll() is None
    assert sim.requests("list", "pods") == lists + 1


async def test_image_pull_failure_fails_fast_with_the_image_name(hub_factory, sim):
    hub = await hub_factory(image="registry.example/broken:1", start_timeout=60)
    sim.nodes.add_image_rule(
        {"image": "registry.example/broken:*", "pull_error": "manifest unknown"}
    )
    with pytest.raises(SpawnFailed) as info:
        await hub.spawn("h")
    message = info.value.jupyterhub_message
    assert "registry.example/broken:1" in message
    assert "ErrImagePull" in message or "ImagePullBackOff" in message
    assert sim.get("pods", "jupyter-h", NS) is None, "the failed pod is cleaned up"


async def test_unschedulable_pod_fails_fast_saying_why(hub_factory, sim):
    hub = await hub_factory(
        node_selector={"disktype": "none-such"}, start_timeout=60, unschedulable_grace_period=0.5
    )
    with pytest.raises(SpawnFailed, match="could not be scheduled") as info:
        await hub.spawn("i")
    assert "0/1 nodes are available" in str(info.value)
    assert sim.get("pods", "jupyter-i", NS) is None


async def test_unschedulable_pod_that_becomes_schedulable_within_the_grace_period(
    hub_factory, sim, api
):
    hub = await hub_factory(node_selector={"disktype": "ssd"}, unschedulable_grace_period=30)
    task = asyncio.ensure_future(hub.spawn("i2"))
    for _ in range(500):
        pod = sim.get("pods", "jupyter-i2", NS)
        conditions = (pod or {}).get("status", {}).get("conditions", [])
        if any(c.get("reason") == "Unschedulable" for c in conditions):
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the pod never became unschedulable")
    # a node with the label appears (as a cluster autoscaler would add one)
    (node,) = sim.objects("nodes")
    await api.request(
        "PATCH",
        f"/api/v1/nodes/{node['metadata']['name']}",
        body={"metadata": {"labels": {"disktype": "ssd"}}},
        content_type="application/merge-patch+json",
    )
    spawner = await task
    assert await spawner.poll() is None


async def test_container_exiting_during_start_fails_fast(hub_factory, sim):
    hub = await hub_factory(image="crashes:1", start_timeout=60)
    sim.nodes.add_image_rule({"image": "crashes:*", "exit_code": 3, "run_seconds": 0})
    sim.nodes.set_delays(readiness=1)
    with pytest.raises(SpawnFailed, match="code 3"):
        await hub.spawn("j")
    assert sim.get("pods", "jupyter-j", NS) is None


async def test_start_timeout_fails_with_a_message(hub_factory, sim):
    hub = await hub_factory(start_timeout=1)
    sim.nodes.set_delays(readiness=30)
    with pytest.raises((SpawnFailed, TimeoutError)):
        await hub.spawn("k")
    assert sim.get("pods", "jupyter-k", NS) is None, "the hub's stop() removed it"


async def test_503_creating_the_user_namespace_and_pvc_is_retried(hub_factory, sim):
    hub = await hub_factory(
        enable_user_namespaces=True,
        storage_pvc_ensure=True,
        storage_capacity="1Gi",
        volumes=[{"name": "home", "persistentVolumeClaim": {"claimName": "{pvc_name}"}}],
        volume_mounts=[{"name": "home", "mountPath": "/home/jovyan"}],
    )
    faults = [
        sim.faults.fail(verb="create", resource=resource, status=503, count=1)
        for resource in ("namespaces", "persistentvolumeclaims")
    ]
    spawner = await hub.spawn("m")
    assert await spawner.poll() is None
    assert [rule.hits for rule in faults] == [1, 1], "both creates failed once"
    assert sim.get("namespaces", "user-m") is not None
    assert sim.get("persistentvolumeclaims", "claim-m", "user-m") is not None
    assert sim.requests("create", "namespaces") == 2
    assert sim.requests("create", "persistentvolumeclaims") == 2
