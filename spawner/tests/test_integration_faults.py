"""API faults and doomed pods, injected through kubesim, during start and stop."""

import asyncio

import pytest

from kubespawner.spawner import SpawnFailed

NS = "default"


async def test_5xx_on_create_is_retried(hub, sim):
    sim.faults.fail(verb="create", resource="pods", status=503, count=2)
    spawner = await hub.spawn("a")
    assert await spawner.poll() is None
    assert sim.requests("create", "pods") == 3


async def test_429_on_delete_honours_retry_after(hub, sim):
    await hub.spawn("b")
    sim.faults.fail(verb="delete", resource="pods", status=429, retry_after=1, count=1)
    await hub.stop("b")
    assert sim.get("pods", "jupyter-b", NS) is None
    assert sim.requests("delete", "pods") == 2


async def test_500s_during_stop_are_retried(hub, sim):
    await hub.spawn("c")
    sim.faults.fail(verb="delete", resource="pods", status=500, count=2)
    await hub.stop("c")
    assert sim.get("pods", "jupyter-c", NS) is None


async def test_timed_out_create_is_retried(hub_factory, sim):
    hub = await hub_factory(k8s_api_request_timeout=1)
    sim.faults.delay(2.5, verb="create", resource="pods", count=1)
    spawner = await hub.spawn("d")
    assert await spawner.poll() is None
    assert sim.requests("create", "pods") >= 2


async def test_errors_beyond_the_retry_timeout_fail_the_spawn(hub_factory, sim):
    hub = await hub_factory(k8s_api_request_retry_timeout=1)
    sim.faults.fail(verb="create", resource="pods", status=503)
    with pytest.raises(Exception, match="503"):
        await hub.spawn("e")
    assert sim.get("pods", "jupyter-e", NS) is None


async def test_cut_watches_during_start_and_stop(hub, sim):
    await hub.spawn("warmup")  # reflectors running
    sim.nodes.set_delays(readiness=0.4, terminating=0.4)
    sim.cut_watches_every(0.1)
    try:
        spawner = await hub.spawn("f")
        assert await spawner.poll() is None
        await hub.stop("f")
    finally:
        sim.cut_watches_every(None)
    assert sim.get("pods", "jupyter-f", NS) is None


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
    hub = await hub_factory(node_selector={"disktype": "none-such"}, start_timeout=60)
    with pytest.raises(SpawnFailed, match="could not be scheduled") as info:
        await hub.spawn("i")
    assert "0/1 nodes are available" in str(info.value)
    assert sim.get("pods", "jupyter-i", NS) is None


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
