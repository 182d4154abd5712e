"""The hub's event cache holds only events of its users' pods, and no more
than event_cache_max_age / event_cache_max_count allow, whatever else the
namespace's events hold (the events come over kubesim's API and watch)."""

import asyncio
import time

import pytest

NS = "default"


def stamp(seconds_ago: float = 0) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - seconds_ago))


async def post_event(api, pod: str, name: str, seconds_ago: float = 0, reason="Pulled"):
    body = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": NS},
        "involvedObject": {"kind": "Pod", "name": pod, "namespace": NS},
        "reason": reason,
        "message": f"{reason} for {pod}",
        "type": "Normal",
        "source": {"component": "kubelet"},
        "firstTimestamp": stamp(seconds_ago),
        "lastTimestamp": stamp(seconds_ago),
        "count": 1,
    }
    await api.request("POST", f"/api/v1/namespaces/{NS}/events", body=body)


async def until(check, what):
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never: {what}")


def cached_pods(events) -> set[str]:
    return {e["involvedObject"]["name"] for e in events.resources.values()}


async def test_only_events_of_our_users_pods_are_kept(hub, sim, api):
    for i in range(300):  # another workload's pods, in the same namespace
        await post_event(api, f"web-{i}", f"web-{i}.1")
    spawner = hub.spawner("ann")
    started = spawner.start()
    messages = [event["message"] async for event in spawner.progress()]
    await started
    assert any("Successfully assigned default/jupyter-ann" in m for m in messages), messages
    events = await spawner._events()
    assert cached_pods(events) == {"jupyter-ann"}
    # a new event about another pod, then one about ours: only ours is kept
    await post_event(api, "web-x", "web-x.1")
    await post_event(api, "jupyter-ann", "jupyter-ann.late")
    await until(lambda: "default/jupyter-ann.late" in events.resources, "our late event")
    assert cached_pods(events) == {"jupyter-ann"}
    await spawner.stop()


async def test_events_expire_by_age(hub_factory, sim, api):
    hub = await hub_factory(event_cache_max_age=600)
    await hub.spawn("bea")
    spawner = hub.spawner("bea")
    events = await spawner._events()
    await post_event(api, "jupyter-bea", "jupyter-bea.old", seconds_ago=700)
    await post_event(api, "jupyter-bea", "jupyter-bea.new", seconds_ago=5)
    await until(lambda: "default/jupyter-bea.new" in events.resources, "the new event")
    assert "default/jupyter-bea.old" not in events.resources
    # the sweep drops what has grown too old since (a clock an hour ahead)
    events.clock = lambda: time.time() + 3600
    events._next_sweep = 0
    await post_event(api, "jupyter-bea", "jupyter-bea.future", seconds_ago=-3600)
    await until(lambda: "default/jupyter-bea.future" in events.resources, "the sweep")
    assert list(events.resources) == ["default/jupyter-bea.future"]
    assert [e["metadata"]["name"] for e in events.events_for("default/jupyter-bea")] == [
        "jupyter-bea.future"
    ]
    await hub.stop("bea")


async def test_events_expire_by_count(hub_factory, sim, api):
    hub = await hub_factory(event_cache_max_count=5)
    await hub.spawn("cat")
    events = await hub.spawner("cat")._events()
    for i in range(20):
        await post_event(api, "jupyter-cat", f"jupyter-cat.{i:02}")
    await until(lambda: "default/jupyter-cat.19" in events.resources, "the last event")
    assert sorted(events.resources) == [f"default/jupyter-cat.{i}" for i in range(15, 20)]
    assert len(events.by_object["default/jupyter-cat"]) == 5
    await hub.stop("cat")


async def test_a_failing_spawn_still_reports_the_schedulers_reason(hub_factory, sim):
    # the FailedScheduling event may reach the hub before the pod's own watch
    # event: the spawn announced its pod, so the event is kept
    hub = await hub_factory(node_selector={"disk": "none-such"}, unschedulable_grace_period=0)
    with pytest.raises(Exception, match="0/1 nodes are available"):
        await hub.spawn("dan")
