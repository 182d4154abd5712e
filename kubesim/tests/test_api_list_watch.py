"""Selectors, pagination and watch semantics over HTTP with kubernetes_asyncio."""

import asyncio
import json

import pytest
from kubernetes_asyncio import watch
from kubernetes_asyncio.client.rest import ApiException

from kubesim.testing import RecordedWatch, pod_body, raw_request


async def make_pods(core, specs):
    for name, labels in specs:
        await core.create_namespaced_pod("default", pod_body(name, labels))


def names(pod_list):
    return [p.metadata.name for p in pod_list.items]


@pytest.mark.parametrize(
    "selector, expected",
    [
        ("app=hub", ["a", "b"]),
        ("app==hub", ["a", "b"]),
        ("app!=hub", ["c", "d"]),
        ("app in (hub,proxy)", ["a", "b", "c"]),
        ("app notin (hub)", ["c", "d"]),
        ("tier", ["b", "c"]),
        ("!tier", ["a", "d"]),
        ("app=hub,tier=web", ["b"]),
        ("app in (hub, proxy),!tier", ["a"]),
    ],
)
async def test_label_selector_syntax(core, selector, expected):
    await make_pods(
        core,
        [
            ("a", {"app": "hub"}),
            ("b", {"app": "hub", "tier": "web"}),
            ("c", {"app": "proxy", "tier": "edge"}),
            ("d", {}),
        ],
    )
    result = await core.list_namespaced_pod("default", label_selector=selector)
    assert names(result) == expected


async def test_bad_label_selector_is_400(core):
    with pytest.raises(ApiException) as err:
        await core.list_namespaced_pod("default", label_selector="a in (b")
    assert err.value.status == 400


async def test_field_selectors(core, sim):
    await core.create_namespaced_pod("default", pod_body("on-1", node="node-1"))
    await core.create_namespaced_pod("default", pod_body("on-2", node="node-2"))
    await core.create_namespaced_pod("kube-system", pod_body("sys", node="node-1"))
    result = await core.list_pod_for_all_namespaces(field_selector="spec.nodeName=node-1")
    assert sorted(names(result)) == ["on-1", "sys"]
    result = await core.list_pod_for_all_namespaces(
        field_selector="spec.nodeName=node-1,metadata.namespace!=kube-system"
    )
    assert names(result) == ["on-1"]
    result = await core.list_namespaced_pod("default", field_selector="metadata.name=on-2")
    assert names(result) == ["on-2"]
    result = await core.list_namespaced_pod("default", field_selector="status.phase=Pending")
    assert names(result) == ["on-1", "on-2"]
    with pytest.raises(ApiException) as err:
        await core.list_namespaced_pod("default", field_selector="spec.image=x")
    assert err.value.status == 400


async def test_event_field_selectors(core):
    for i, (kind, name) in enumerate([("Pod", "p1"), ("Pod", "p2"), ("Node", "p1")]):
        await core.create_namespaced_event(
            "default",
            {
                "metadata": {"name": f"e{i}"},
                "involvedObject": {
                    "kind": kind,
                    "name": name,
                    "namespace": "default",
                    "uid": f"uid-{i}",
                },
                "reason": "Test",
                "message": "m",
            },
        )
    result = await core.list_namespaced_event(
        "default", field_selector="involvedObject.kind=Pod,involvedObject.name=p1"
    )
    assert names(result) == ["e0"]
    result = await core.list_namespaced_event("default", field_selector="involvedObject.uid=uid-1")
    assert names(result) == ["e1"]


async def test_limit_and_continue(core):
    await make_pods(core, [(f"p{i:02}", {"batch": "x"}) for i in range(7)])
    seen, token = [], None
    pages = 0
    while True:
        page = await core.list_namespaced_pod("default", limit=3, _continue=token)
        pages += 1
        seen += names(page)
        token = page.metadata._continue
        if not token:
            break
        assert page.metadata.remaining_item_count == 7 - len(seen)
    assert pages == 3
    assert seen == [f"p{i:02}" for i in range(7)]


async def test_continue_token_expires_with_history(core, sim):
    await make_pods(core, [(f"p{i}", {}) for i in range(3)])
    page = await core.list_namespaced_pod("default", limit=1)
    sim.stop_watch_history()
    await core.create_namespaced_pod("default", pod_body("later"))
    with pytest.raises(ApiException) as err:
        await core.list_namespaced_pod("default", limit=1, _continue=page.metadata._continue)
    assert err.value.status == 410
    assert json.loads(err.value.body)["reason"] == "Expired"


async def collect(core, n, **kwargs):
    events = []
    w = watch.Watch()
    async for event in w.stream(core.list_namespaced_pod, "default", **kwargs):
        events.append((event["type"], event["object"].metadata.name))
        if len(events) == n:
            w.stop()
    return events


async def test_watch_starts_with_current_state_then_changes(core):
    await make_pods(core, [("x", {"w": "1"}), ("y", {"w": "1"})])
    pods = RecordedWatch(
        core.list_namespaced_pod, "default", label_selector="w=1", timeout_seconds=30
    )
    assert await pods.wait_for(2) == [("ADDED", "x"), ("ADDED", "y")]  # the watch is open
    await core.patch_namespaced_pod("x", "default", {"metadata": {"annotations": {"a": "b"}}})
    await core.delete_namespaced_pod("y", "default")
    events = await pods.finish(4)
    assert events == [("ADDED", "x"), ("ADDED", "y"), ("MODIFIED", "x"), ("DELETED", "y")]


async def test_watch_selector_transitions_add_and_delete(core):
    await make_pods(core, [("t", {"role": "a"})])
    # from the list's resourceVersion: the watch sees every later change, however late it opens
    since = (await core.list_namespaced_pod("default")).metadata.resource_version
    task = asyncio.create_task(
        collect(core, 3, label_selector="role=b", timeout_seconds=30, resource_version=since)
    )
    await core.patch_namespaced_pod("t", "default", {"metadata": {"labels": {"role": "b"}}})
    await core.patch_namespaced_pod("t", "default", {"metadata": {"labels": {"extra": "1"}}})
    await core.patch_namespaced_pod("t", "default", {"metadata": {"labels": {"role": "c"}}})
    events = await asyncio.wait_for(task, 20)
    assert events == [("ADDED", "t"), ("MODIFIED", "t"), ("DELETED", "t")]


async def test_watch_resume_replays_changes_after_version(core):
    await make_pods(core, [("r1", {})])
    listed = await core.list_namespaced_pod("default")
    version = listed.metadata.resource_version
    await make_pods(core, [("r2", {})])
    await core.delete_namespaced_pod("r1", "default")
    events = await asyncio.wait_for(
        collect(core, 2, resource_version=version, timeout_seconds=30), 20
    )
    assert events == [("ADDED", "r2"), ("DELETED", "r1")]


async def test_deleted_event_carries_last_state(api, sim, core):
    await make_pods(core, [("gone", {"keep": "me"})])
    version = sim.store.resource_version
    await core.delete_namespaced_pod("gone", "default")
    response = await api.call_api(
        "/api/v1/namespaces/default/pods",
        "GET",
        query_params=[("watch", "true"), ("resourceVersion", version), ("timeoutSeconds", "1")],
        _preload_content=False,
        auth_settings=["BearerToken"],
    )
    lines = [json.loads(line) for line in (await response.read()).splitlines()]
    assert [e["type"] for e in lines] == ["DELETED"]
    assert lines[0]["object"]["metadata"]["labels"] == {"keep": "me"}
    assert int(lines[0]["object"]["metadata"]["resourceVersion"]) > int(version)


async def raw_watch(api, query):
    response = await api.call_api(
        "/api/v1/namespaces/default/pods",
        "GET",
        query_params=[("watch", "1"), *query],
        _preload_content=False,
        auth_settings=["BearerToken"],
    )
    return response


async def test_too_old_version_gets_410_error_event(api, core, sim):
    await make_pods(core, [("old", {})])
    version = sim.store.resource_version
    sim.stop_watch_history()
    await make_pods(core, [("new", {})])
    response = await raw_watch(api, [("resourceVersion", version)])
    lines = [json.loads(line) for line in (await response.read()).splitlines()]
    assert len(lines) == 1 and lines[0]["type"] == "ERROR"
    status = lines[0]["object"]
    assert status["kind"] == "Status" and status["code"] == 410 and status["reason"] == "Expired"


async def test_watch_helper_raises_on_410(core, sim):
    version = sim.store.resource_version
    await make_pods(core, [("x", {})])
    sim.stop_watch_history()
    w = watch.Watch()
    with pytest.raises(ApiException) as err:
        async for _ in w.stream(core.list_namespaced_pod, "default", resource_version=version):
            pass
    assert err.value.status == 410


async def test_timeout_seconds_closes_the_stream(api, core):
    response = await raw_watch(api, [("timeoutSeconds", "1")])
    body = await asyncio.wait_for(response.read(), 10)
    assert body == b""  # nothing happened, and the server ended the stream


async def test_bookmarks(api, sim):
    sim.store.bookmark_interval = 0.2
    response = await raw_watch(
        api,
        [
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", "1"),
            ("resourceVersion", sim.store.resource_version),
        ],
    )
    lines = [json.loads(line) for line in (await response.read()).splitlines()]
    assert lines and {e["type"] for e in lines} == {"BOOKMARK"}
    assert lines[0]["object"]["kind"] == "Pod"
    assert lines[0]["object"]["metadata"]["resourceVersion"] == sim.store.resource_version


async def test_watch_all_namespaces_and_cluster_scoped(core, api):
    existing = len((await core.list_namespace()).items)
    namespaces = RecordedWatch(core.list_namespace, timeout_seconds=30)
    initial = await namespaces.wait_for(existing)  # the watch is open
    assert "team-a" not in {name for _, name in initial}
    await core.create_namespace({"metadata": {"name": "team-a"}})
    events = await namespaces.finish(existing + 1)
    assert events[existing] == ("ADDED", "team-a")


async def test_send_initial_events_ends_with_marked_bookmark(api, core, sim):
    await make_pods(core, [("i1", {})])
    response = await raw_watch(
        api,
        [
            ("sendInitialEvents", "true"),
            ("resourceVersionMatch", "NotOlderThan"),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", "1"),
        ],
    )
    lines = [json.loads(line) for line in (await response.read()).splitlines()]
    assert [e["type"] for e in lines[:2]] == ["ADDED", "BOOKMARK"]
    marker = lines[1]["object"]["metadata"]
    assert marker["annotations"] == {"k8s.io/initial-events-end": "true"}


async def test_watch_ends_when_the_client_goes_away(sim):
    import aiohttp

    async with aiohttp.ClientSession() as session:
        response = await session.get(sim.url + "/api/v1/namespaces/default/pods?watch=1")
        for _ in range(100):
            if sim.store._watchers["pods"]:
                break
            await asyncio.sleep(0.02)
        assert len(sim.store._watchers["pods"]) == 1
        response.close()
    for _ in range(100):
        if not sim.store._watchers["pods"]:
            break
        await asyncio.sleep(0.02)
    assert not sim.store._watchers["pods"]


async def test_events_k8s_io_is_a_view_of_core_events(api, core, sim):
    from kubernetes_asyncio import client

    events_api = client.EventsV1Api(api)
    created = await events_api.create_namespaced_event(
        "default",
        {
            "metadata": {"name": "new-style"},
            "eventTime": "2025-01-01T00:00:00.000000Z",
            "reportingController": "example.com/ctl",
            "reportingInstance": "ctl-1",
            "action": "Testing",
            "reason": "Tested",
            "type": "Normal",
            "note": "hello",
            "regarding": {"kind": "Pod", "name": "p", "namespace": "default"},
        },
    )
    assert created.note == "hello" and created.regarding.name == "p"
    as_core = await core.read_namespaced_event("new-style", "default")
    assert as_core.message == "hello" and as_core.involved_object.name == "p"
    assert as_core.reporting_component == "example.com/ctl"
    await core.create_namespaced_event(
        "default",
        {
            "metadata": {"name": "old-style"},
            "message": "legacy",
            "reason": "Old",
            "involvedObject": {"kind": "Pod", "name": "q", "namespace": "default"},
            "source": {"component": "kubelet"},
        },
    )
    # a core event has no eventTime, which the events.k8s.io view sends as null (as the
    # real server does; kubernetes_asyncio's model then refuses it), so read it raw
    code, listed = await raw_request(
        sim,
        "GET",
        "/apis/events.k8s.io/v1/namespaces/default/events",
        params={"fieldSelector": "regarding.name=q"},
    )
    assert code == 200 and listed["kind"] == "EventList"
    (item,) = listed["items"]
    assert (item["metadata"]["name"], item["note"]) == ("old-style", "legacy")
    assert item["deprecatedSource"] == {"component": "kubelet"} and item["eventTime"] is None
    code, streamed = await raw_request(
        sim,
        "GET",
        "/apis/events.k8s.io/v1/namespaces/default/events",
        params={"watch": "1", "timeoutSeconds": "1", "fieldSelector": "regarding.name=p"},
    )
    (line,) = streamed.splitlines() if isinstance(streamed, str) else [json.dumps(streamed)]
    event = json.loads(line)
    assert event["type"] == "ADDED" and event["object"]["note"] == "hello"
    patched = await events_api.patch_namespaced_event("new-style", "default", {"note": "bye"})
    assert patched.note == "bye"
    assert sim.get("events", "new-style", "default")["message"] == "bye"
    await events_api.delete_namespaced_event("new-style", "default")
    assert sim.get("events", "new-style", "default") is None
