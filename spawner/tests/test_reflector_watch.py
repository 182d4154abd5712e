"""Reflectors against kubesim: one LIST, then WATCH resumed from the last
resourceVersion; re-LIST only after 410; giving up loudly."""

import asyncio

import pytest

from kubespawner.reflector import EventReflector, PodReflector, ReflectorFailed

NS = "default"


def pod(name, labels=None):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {"component": "singleuser-server"}},
        "spec": {"containers": [{"name": "notebook", "image": "pause:1"}]},
    }


async def create_pod(api, name, labels=None):
    return await api.request("POST", f"/api/v1/namespaces/{NS}/pods", body=pod(name, labels))


async def label_pod(api, name, value):
    return await api.request(
        "PATCH",
        f"/api/v1/namespaces/{NS}/pods/{name}",
        body={"metadata": {"annotations": {"test": value}}},
        content_type="application/merge-patch+json",
    )


def annotated(value):
    return lambda p: p is not None and p["metadata"].get("annotations", {}).get("test") == value


@pytest.fixture
async def pods(api):
    reflector = PodReflector(
        api,
        namespace=NS,
        label_selector="component=singleuser-server",
        max_failures=4,
        max_backoff=0.2,
    )
    yield reflector
    await reflector.stop()


async def test_list_then_watch_with_label_selector(sim, api, pods):
    await create_pod(api, "before")
    await create_pod(api, "other", labels={"component": "something-else"})
    await pods.start()
    assert set(pods.resources) == {f"{NS}/before"}
    await create_pod(api, "after")
    await pods.wait_for(f"{NS}/after", lambda p: p is not None, timeout=5)
    await label_pod(api, "before", "1")
    await pods.wait_for(f"{NS}/before", annotated("1"), timeout=5)
    await api.request("DELETE", f"/api/v1/namespaces/{NS}/pods/after")
    await pods.wait_for(f"{NS}/after", lambda p: p is None, timeout=5)
    assert f"{NS}/other" not in pods.resources
    assert sim.requests("list", "pods") == 1
    assert pods.healthy


async def test_cut_watch_resumes_without_relisting(sim, api, pods):
    await create_pod(api, "a")
    await pods.start()
    for i in range(3):
        await pods.watch_established()
        assert sim.cut_watches("pods") >= 1  # ours (and the simulated kubelet's)
        await label_pod(api, "a", str(i))
        await pods.wait_for(f"{NS}/a", annotated(str(i)), timeout=5)
    assert sim.requests("watch", "pods") >= 3
    assert sim.requests("list", "pods") == 1, "a cut watch resumes, it does not re-LIST"


async def test_changes_while_disconnected_are_replayed(sim, api, pods):
    await create_pod(api, "a")
    await create_pod(api, "b")
    await pods.start()
    await pods.watch_established()
    rule = sim.faults.fail(verb="watch", resource="pods", status=503)
    sim.cut_watches("pods")
    await api.request("DELETE", f"/api/v1/namespaces/{NS}/pods/b")
    await label_pod(api, "a", "offline")
    sim.faults.remove(rule.id)
    await pods.wait_for(f"{NS}/a", annotated("offline"), timeout=10)
    await pods.wait_for(f"{NS}/b", lambda p: p is None, timeout=10)
    assert sim.requests("list", "pods") == 1


async def test_expired_resource_version_relists(sim, api, pods):
    await create_pod(api, "a")
    await pods.start()
    await pods.watch_established()
    sim.stop_watch_history()
    sim.cut_watches("pods")
    await api.request("DELETE", f"/api/v1/namespaces/{NS}/pods/a")
    await create_pod(api, "c")
    sim.resume_watch_history()
    await pods.wait_for(f"{NS}/c", lambda p: p is not None, timeout=10)
    await pods.wait_for(f"{NS}/a", lambda p: p is None, timeout=10)
    assert sim.requests("list", "pods") == 2


async def test_next_watch_410_relists_once(sim, api, pods):
    await pods.start()
    await pods.watch_established()
    sim.expire_next_watches(1)
    sim.cut_watches("pods")
    await create_pod(api, "d")
    await pods.wait_for(f"{NS}/d", lambda p: p is not None, timeout=10)
    assert sim.requests("list", "pods") == 2


async def test_gives_up_after_repeated_failures_and_fails_waiters(sim, api):
    failures = []
    reflector = PodReflector(
        api, namespace=NS, max_failures=3, max_backoff=0.05, on_failure=failures.append
    )
    await reflector.start()
    await reflector.watch_established()
    waiter = asyncio.ensure_future(reflector.wait_for(f"{NS}/never", lambda p: p, timeout=30))
    sim.faults.fail(resource="pods", status=500)
    sim.cut_watches("pods")
    with pytest.raises(ReflectorFailed, match="failed 3 times"):
        await waiter
    assert len(failures) == 1 and not reflector.healthy
    with pytest.raises(ReflectorFailed):
        reflector.raise_if_failed()
    await reflector.stop()


async def next_watch_open(reflector, after: int):
    """Wait until a watch later than the `after`-th one is open."""
    async with asyncio.timeout(10):
        while reflector.watch_count <= after:
            await asyncio.sleep(0.01)
        await reflector.watch_established()


def quiet_reflector(api, failures):
    # selects nothing, so its watches deliver no events (and no bookmarks
    # within kubesim's 60 s interval): only the failure policy resets `failures`
    return PodReflector(
        api,
        namespace=NS,
        label_selector="component=none-such",
        max_failures=3,
        max_backoff=0.05,
        on_failure=failures.append,
    )


async def test_isolated_watch_failures_separated_by_healthy_watches_do_not_add_up(sim, api):
    failures = []
    reflector = quiet_reflector(api, failures)
    await reflector.start()
    await reflector.watch_established()
    for _ in range(reflector.max_failures + 1):
        count = reflector.watch_count
        await asyncio.sleep(1.1)  # a healthy watch has run (longer than "closed at once")
        rule = sim.faults.fail(verb="watch", resource="pods", status=500, count=1)
        sim.cut_watches("pods")
        await next_watch_open(reflector, count + 1)  # past the failed one
        assert rule.hits == 1
        assert reflector.healthy, "an accepted watch resets the failure count"
    assert failures == [] and reflector.failed is None
    await reflector.stop()


async def test_watches_that_close_at_once_still_count_as_failures(sim, api):
    failures = []
    reflector = quiet_reflector(api, failures)
    await reflector.start()
    await reflector.watch_established()
    sim.cut_watches_every(0.02, "pods")  # accepted (HTTP 200), then closed at once
    try:
        async with asyncio.timeout(10):
            while not failures:
                await asyncio.sleep(0.02)
    finally:
        sim.cut_watches_every(None)
    assert "failed 3 times" in str(failures[0])
    assert "closed immediately" in str(failures[0])
    await reflector.stop()


async def test_first_list_failing_for_good_fails_start(sim, api):
    sim.faults.fail(verb="list", resource="pods", status=503)
    reflector = PodReflector(api, namespace=NS, max_failures=2, max_backoff=0.05)
    with pytest.raises(ReflectorFailed):
        await reflector.start()


async def test_event_reflector_indexes_events_by_pod(sim, api):
    events = EventReflector(api, namespace=NS)
    await events.start()
    created = await create_pod(api, "e")
    uid = created["metadata"]["uid"]
    body = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "e.1"},
        "involvedObject": {"kind": "Pod", "name": "e", "namespace": NS, "uid": uid},
        "reason": "Scheduled",
        "message": "assigned by the test",
        "type": "Normal",
    }
    await api.request("POST", f"/api/v1/namespaces/{NS}/events", body=body)

    async def until_ours_arrives():
        while not any(e["metadata"]["name"] == "e.1" for e in events.events_for(f"{NS}/e")):
            await events.next_change(f"{NS}/e")

    await asyncio.wait_for(until_ours_arrives(), 5)
    # our event and the ones the simulated nodes record, oldest first
    reasons = [e["reason"] for e in events.events_for(f"{NS}/e", uid)]
    assert "Scheduled" in reasons
    assert [e["metadata"]["name"] for e in events.events_for(f"{NS}/e", uid)].count("e.1") == 1
    assert events.events_for(f"{NS}/e", "another-uid") == []
    await events.stop()
