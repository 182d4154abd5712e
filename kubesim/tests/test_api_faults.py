"""Fault injection, from the library API and from the /kubesim admin endpoint."""

import asyncio
import json

import pytest
from kubernetes_asyncio import watch
from kubernetes_asyncio.client.rest import ApiException

from kubesim.testing import RecordedWatch, pod_body, raw_request


async def test_fail_next_count_of_matching_requests(core, sim):
    sim.faults.fail(verb="create", resource="pods", status=503, count=2)
    for _ in range(2):
        with pytest.raises(ApiException) as err:
            await core.create_namespaced_pod("default", pod_body("x"))
        assert err.value.status == 503
        assert json.loads(err.value.body)["reason"] == "ServiceUnavailable"
    await core.list_namespaced_pod("default")  # other verbs are untouched
    created = await core.create_namespaced_pod("default", pod_body("x"))
    assert created.metadata.name == "x"
    assert sim.requests("create", "pods") == 3


async def test_429_carries_retry_after(sim):
    sim.faults.fail(resource="configmaps", status=429, retry_after=7, count=1)
    code, body = await raw_request(sim, "GET", "/api/v1/namespaces/default/configmaps")
    assert code == 429 and body["reason"] == "TooManyRequests"
    assert body["details"]["retryAfterSeconds"] == 7


async def test_fail_a_share_of_requests_by_name(core, sim):
    sim.faults.fail(verb="get", resource="pods", name="flaky", status=500, share=0.5)
    await core.create_namespaced_pod("default", pod_body("flaky"))
    await core.create_namespaced_pod("default", pod_body("solid"))
    outcomes = []
    for _ in range(40):
        try:
            await core.read_namespaced_pod("flaky", "default")
            outcomes.append("ok")
        except ApiException as err:
            outcomes.append(err.status)
    assert "ok" in outcomes and 500 in outcomes
    for _ in range(5):
        await core.read_namespaced_pod("solid", "default")


@pytest.mark.parametrize("status, reason", [(403, "Forbidden"), (409, "Conflict")])
async def test_other_statuses(core, sim, status, reason):
    sim.faults.fail(verb="delete", resource="pods", status=status, count=1)
    await core.create_namespaced_pod("default", pod_body("d"))
    with pytest.raises(ApiException) as err:
        await core.delete_namespaced_pod("d", "default")
    assert err.value.status == status
    assert json.loads(err.value.body)["reason"] == reason


async def test_latency(core, sim):
    rule = sim.faults.delay(0.3, verb="list", resource="pods")
    loop = asyncio.get_running_loop()
    started = loop.time()
    await core.list_namespaced_pod("default")
    assert loop.time() - started >= 0.3
    assert rule.hits == 1


async def test_a_late_answer_to_a_change_that_took_effect(core, sim):
    # the client gives up waiting; the pod exists all the same, and a retry
    # of the create meets 409 AlreadyExists
    sim.faults.delay(2.0, verb="create", resource="pods", count=1, after=True)
    with pytest.raises(asyncio.TimeoutError):
        await core.create_namespaced_pod("default", pod_body("late"), _request_timeout=0.5)
    assert sim.get("pods", "late", "default") is not None
    with pytest.raises(ApiException) as err:
        await core.create_namespaced_pod("default", pod_body("late"))
    assert err.value.status == 409


async def test_after_is_only_for_a_plain_latency(sim):
    code, body = await raw_request(
        sim, "POST", "/kubesim/faults", {"status": 500, "latency": 1, "after": True}
    )
    assert code == 400 and "after" in json.dumps(body)


async def _stream_pods(core, **kwargs):
    events = []
    w = watch.Watch()
    async for event in w.stream(core.list_namespaced_pod, "default", **kwargs):
        events.append(event["type"])
    return events


async def test_cut_watches_now(core, sim):
    await core.create_namespaced_pod("default", pod_body("here"))
    pods = RecordedWatch(core.list_namespaced_pod, "default", timeout_seconds=60)
    await pods.wait_for(1)  # its initial ADDED: the server is watching
    assert sim.cut_watches() == 1
    assert await pods.ended(10) == [("ADDED", "here")]  # ends quietly, nothing more


async def test_cut_watches_every_n_seconds(core, sim):
    sim.cut_watches_every(0.2)
    events = await asyncio.wait_for(_stream_pods(core, timeout_seconds=60), 10)
    assert events == []
    sim.cut_watches_every(None)


async def test_next_watch_starts_with_410(core, sim):
    sim.expire_next_watches(1)
    with pytest.raises(ApiException) as err:
        await _stream_pods(core, timeout_seconds=5)
    assert err.value.status == 410
    assert await _stream_pods(core, timeout_seconds=1) == []


async def test_admin_endpoint(sim, core):
    code, rule = await raw_request(
        sim,
        "POST",
        "/kubesim/faults",
        {"verb": "list", "resource": "pods", "status": 500, "count": 1},
    )
    assert code == 201 and rule["status"] == 500
    code, rules = await raw_request(sim, "GET", "/kubesim/faults")
    assert [r["id"] for r in rules] == [rule["id"]]
    with pytest.raises(ApiException):
        await core.list_namespaced_pod("default")
    code, _ = await raw_request(sim, "POST", "/kubesim/faults", {"verb": "get", "status": 418})
    assert code == 400
    code, _ = await raw_request(sim, "POST", "/kubesim/watches/expire-next", {"count": 1})
    assert code == 200 and sim.store.expire_next_watches == 1
    code, _ = await raw_request(sim, "POST", "/kubesim/history/stop")
    assert code == 200 and not sim.store.history_enabled
    code, _ = await raw_request(sim, "POST", "/kubesim/history/resume")
    assert sim.store.history_enabled
    code, counters = await raw_request(sim, "GET", "/kubesim/counters")
    assert {"verb": "list", "resource": "pods", "count": 1} in counters
    code, answer = await raw_request(sim, "POST", "/kubesim/watches/cut", {})
    assert code == 200 and answer == {"cut": 0}
    code, _ = await raw_request(sim, "DELETE", "/kubesim/faults")
    assert sim.faults.rules == []


async def test_stop_history_makes_resumes_expire(core, sim):
    version = sim.store.resource_version
    await core.create_namespaced_pod("default", pod_body("h"))
    sim.stop_watch_history()
    with pytest.raises(ApiException) as err:
        await _stream_pods(core, resource_version=version, timeout_seconds=5)
    assert err.value.status == 410


async def test_paused_kubelet_stops_reporting_until_resumed(kubesim_factory):
    sim = await kubesim_factory(nodes=1)
    code, _ = await raw_request(sim, "POST", "/kubesim/kubelet/pause")
    assert code == 200
    await sim.store.create("pods", pod_body("quiet"), "default")

    async def phase(timeout):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            pod = sim.get("pods", "quiet", "default")
            if (pod.get("status") or {}).get("phase") == "Running":
                return "Running"
            await asyncio.sleep(0.05)
        return (sim.get("pods", "quiet", "default").get("status") or {}).get("phase")

    assert await phase(1.0) == "Pending"
    code, _ = await raw_request(sim, "POST", "/kubesim/kubelet/resume")
    assert code == 200
    assert await phase(20.0) == "Running"
