"""The in-process Store contract the node side codes against."""

import asyncio

import pytest

from kubesim.api.store import ApiError, Store


def pod(name, node=None, labels=None):
    spec = {"containers": [{"name": "c", "image": "busybox"}]}
    if node:
        spec["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": spec,
    }


async def test_create_get_list_and_metadata():
    store = Store()
    created = await store.create("pods", pod("a", labels={"app": "x"}), "default")
    assert created["metadata"]["uid"]
    assert created["metadata"]["generation"] == 1
    assert int(created["metadata"]["resourceVersion"]) > 0
    got = await store.get("pods", "a", "default")
    assert got == created
    await store.create("pods", pod("b", labels={"app": "y"}), "default")
    items, rv = store.list("pods", "default", label_selector="app in (x)")
    assert [o["metadata"]["name"] for o in items] == ["a"]
    assert int(rv) >= int(created["metadata"]["resourceVersion"])
    with pytest.raises(ApiError) as err:
        await store.create("pods", pod("a"), "default")
    assert err.value.code == 409 and err.value.reason == "AlreadyExists"
    with pytest.raises(ApiError) as err:
        await store.create("pods", pod("z"), "missing")
    assert err.value.code == 404


async def test_graceful_pod_deletion_waits_for_grace_zero():
    store = Store()
    await store.create("pods", pod("bound", node="node-1"), "default")
    watch = store.watch("pods", "default", resource_version=store.resource_version)
    obj, removed = await store.delete("pods", "bound", "default")
    assert not removed
    assert obj["metadata"]["deletionGracePeriodSeconds"] == 30
    assert (await anext(watch))[0] == "MODIFIED"
    obj, removed = await store.delete("pods", "bound", "default", grace_period_seconds=0)
    assert removed
    event, last = await anext(watch)
    assert event == "DELETED" and last["metadata"]["name"] == "bound"
    watch.close()
    await store.create("pods", pod("unbound"), "default")
    _, removed = await store.delete("pods", "unbound", "default")
    assert removed


async def test_watch_initial_state_then_changes_and_expiry():
    store = Store(history_size=3)
    await store.create("pods", pod("a"), "default")
    watch = store.watch("pods", "default")
    assert (await anext(watch))[0] == "ADDED"
    await store.patch("pods", "a", {"metadata": {"labels": {"k": "v"}}}, "merge", "default")
    event, obj = await asyncio.wait_for(anext(watch), 5)
    assert event == "MODIFIED" and obj["metadata"]["labels"] == {"k": "v"}
    watch.close()
    for i in range(5):
        await store.create("configmaps", {"metadata": {"name": f"c{i}"}}, "default")
    old = store.watch("pods", "default", resource_version="1")
    event, status = await anext(old)
    assert event == "ERROR" and status["code"] == 410 and status["reason"] == "Expired"
