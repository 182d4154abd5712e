"""The scheduler against the Store: placement, FailedScheduling messages, PVC gating."""

import time

from kubesim.testing import wait_for, wait_gone

NS = "default"


def pod(name, requests=None, **spec):
    container = {"name": "main", "image": "busybox:1.36"}
    if requests:
        container["resources"] = {"requests": requests}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"containers": [container], **spec},
    }


def bound(p):
    return p is not None and bool(p["spec"].get("nodeName"))


def unschedulable(p):
    conditions = {c["type"]: c for c in (p or {}).get("status", {}).get("conditions", [])}
    return conditions.get("PodScheduled", {}).get("reason") == "Unschedulable"


def scheduled_message(p):
    return next(c for c in p["status"]["conditions"] if c["type"] == "PodScheduled")["message"]


def failed_events(store, name):
    return [
        e
        for e in store.list("events", NS, field_selector=f"involvedObject.name={name}")[0]
        if e["reason"] == "FailedScheduling"
    ]


async def unschedulable_message(store, name):
    p = await wait_for(store, "pods", name, NS, unschedulable, timeout=10)
    (event,) = failed_events(store, name)
    assert event["type"] == "Warning"
    assert event["source"]["component"] == "default-scheduler"
    assert event["message"] == scheduled_message(p)
    assert p["status"]["phase"] == "Pending" and not p["spec"].get("nodeName")
    return event["message"]


async def test_node_selector_mismatch(make_cluster):
    store, _ = await make_cluster(nodes=3)
    await store.create("pods", pod("picky", nodeSelector={"disk": "ssd"}))
    assert await unschedulable_message(store, "picky") == (
        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
    )


async def test_taints_and_tolerations(make_cluster):
    taint = {"key": "dedicated", "value": "hub", "effect": "NoSchedule"}
    nodes = [{"taints": [taint]}, {"taints": [taint]}, {"labels": {"zone": "b"}}]
    store, _ = await make_cluster(nodes=nodes)
    await store.create("pods", pod("free"))
    placed = await wait_for(store, "pods", "free", NS, bound, timeout=10)
    assert placed["spec"]["nodeName"] == "node-3"
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["b"]}]}
                ]
            }
        }
    }
    await store.create("pods", pod("not-b", affinity=affinity))
    assert await unschedulable_message(store, "not-b") == (
        "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
        "2 node(s) had untolerated taint {dedicated: hub}."
    )
    tolerations = [
        {"key": "dedicated", "operator": "Equal", "value": "hub", "effect": "NoSchedule"}
    ]
    await store.create("pods", pod("tolerant", affinity=affinity, tolerations=tolerations))
    placed = await wait_for(store, "pods", "tolerant", NS, bound, timeout=10)
    assert placed["spec"]["nodeName"] in ("node-1", "node-2")


async def test_resource_fit_and_retry_when_capacity_frees(make_cluster):
    store, _ = await make_cluster(nodes=2, node_cpu="2", node_memory="4Gi")
    await store.create("pods", pod("a", {"cpu": "1500m", "memory": "1Gi"}))
    await store.create("pods", pod("b", {"cpu": "1500m", "memory": "1Gi"}))
    a = await wait_for(store, "pods", "a", NS, bound, timeout=10)
    b = await wait_for(store, "pods", "b", NS, bound, timeout=10)
    assert a["spec"]["nodeName"] != b["spec"]["nodeName"]  # spread over the emptier node
    await store.create("pods", pod("c", {"cpu": "1", "memory": "8Gi"}))
    assert await unschedulable_message(store, "c") == (
        "0/2 nodes are available: 2 Insufficient cpu, 2 Insufficient memory."
    )
    await store.create("pods", pod("d", {"cpu": "1"}))
    assert await unschedulable_message(store, "d") == (
        "0/2 nodes are available: 2 Insufficient cpu."
    )
    await store.delete("pods", "a", NS)
    await wait_gone(store, "pods", "a", NS, timeout=10)
    placed = await wait_for(store, "pods", "d", NS, bound, timeout=10)
    assert placed["spec"]["nodeName"] == a["spec"]["nodeName"]
    scheduled = next(c for c in placed["status"]["conditions"] if c["type"] == "PodScheduled")
    assert scheduled["status"] == "True"


async def test_pod_count_limit(make_cluster):
    store, _ = await make_cluster(nodes=[{"pods": 1}])
    await store.create("pods", pod("first"))
    await wait_for(store, "pods", "first", NS, bound, timeout=10)
    await store.create("pods", pod("second"))
    assert (
        await unschedulable_message(store, "second") == "0/1 nodes are available: 1 Too many pods."
    )


async def test_only_served_scheduler_names(make_cluster):
    store, _ = await make_cluster(nodes=2, scheduler_names={"user-scheduler": "MostAllocated"})
    await store.create("pods", pod("foreign", schedulerName="someone-else"))
    for name in ("u1", "u2", "u3"):
        await store.create("pods", pod(name, {"cpu": "100m"}, schedulerName="user-scheduler"))
    placed = [await wait_for(store, "pods", n, NS, bound, timeout=10) for n in ("u1", "u2", "u3")]
    # MostAllocated packs: all on one node
    assert len({p["spec"]["nodeName"] for p in placed}) == 1
    assert not store.peek("pods", "foreign", NS)["spec"].get("nodeName")
    assert failed_events(store, "foreign") == []


async def test_missing_and_unbound_claims_keep_pods_pending(make_cluster):
    store, _ = await make_cluster(nodes=1)
    volumes = [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]
    await store.create("pods", pod("needs-claim", volumes=volumes))
    assert await unschedulable_message(store, "needs-claim") == (
        '0/1 nodes are available: persistentvolumeclaim "data" not found.'
    )
    claim = {
        "metadata": {"name": "data", "namespace": NS},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "fast",
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }
    await store.create("persistentvolumeclaims", claim)
    await wait_for(
        store,
        "pods",
        "needs-claim",
        NS,
        lambda p: "unbound immediate" in scheduled_message(p),
        timeout=10,
    )
    assert scheduled_message(store.peek("pods", "needs-claim", NS)) == (
        "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims."
    )
    events = store.list("events", NS, field_selector="involvedObject.name=data")[0]
    assert any(
        e["reason"] == "ProvisioningFailed"
        and e["message"] == 'storageclass.storage.k8s.io "fast" not found'
        for e in events
    )
    await store.create(
        "storageclasses",
        {
            "metadata": {"name": "fast"},
            "provisioner": "example.com/fast",
            "reclaimPolicy": "Retain",
        },
    )
    placed = await wait_for(store, "pods", "needs-claim", NS, bound, timeout=10)
    claim = store.peek("persistentvolumeclaims", "data", NS)
    assert claim["status"]["phase"] == "Bound"
    assert claim["status"]["capacity"] == {"storage": "1Gi"}
    pv = store.peek("persistentvolumes", claim["spec"]["volumeName"])
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert placed["spec"]["nodeName"] == "node-1"


async def test_wait_for_first_consumer(make_cluster):
    store, _ = await make_cluster(nodes=2, default_storage_class=False)
    await store.create(
        "storageclasses",
        {
            "metadata": {
                "name": "local",
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            "provisioner": "example.com/local",
            "volumeBindingMode": "WaitForFirstConsumer",
        },
    )
    claim = {
        "metadata": {"name": "home", "namespace": NS},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    await store.create("persistentvolumeclaims", claim)
    volumes = [{"name": "home", "persistentVolumeClaim": {"claimName": "home"}}]
    # a consumer that fits nowhere does not bind the claim
    await store.create("pods", pod("nowhere", volumes=volumes, nodeSelector={"zone": "moon"}))
    await unschedulable_message(store, "nowhere")
    assert store.peek("persistentvolumeclaims", "home", NS)["status"]["phase"] == "Pending"
    events = store.list("events", NS, field_selector="involvedObject.name=home")[0]
    assert [e["reason"] for e in events] == ["WaitForFirstConsumer"]
    volumes = [{"name": "home", "persistentVolumeClaim": {"claimName": "home"}}]
    await store.create("pods", pod("consumer", volumes=volumes))
    placed = await wait_for(store, "pods", "consumer", NS, bound, timeout=10)
    claim = await wait_for(
        store,
        "persistentvolumeclaims",
        "home",
        NS,
        lambda c: c["status"].get("phase") == "Bound",
        timeout=10,
    )
    annotations = claim["metadata"]["annotations"]
    assert annotations["volume.kubernetes.io/selected-node"] == placed["spec"]["nodeName"]
    await store.delete("persistentvolumeclaims", "home", NS)
    await wait_gone(store, "persistentvolumes", claim["spec"]["volumeName"], None, timeout=10)


async def test_repeated_failures_count_up_one_event(make_cluster):
    store, sim = await make_cluster(nodes=1, node_memory="1Gi")
    await store.create("pods", pod("huge", {"memory": "2Gi"}))
    await unschedulable_message(store, "huge")
    sim.scheduler.cluster_changed()
    await store.create("pods", pod("small"))  # any change retries the waiting pods
    await wait_for(store, "pods", "small", NS, bound, timeout=10)
    await wait_for(
        store,
        "pods",
        "huge",
        NS,
        lambda p: failed_events(store, "huge")[0]["count"] >= 2,
        timeout=10,
    )
    assert len(failed_events(store, "huge")) == 1


async def test_the_scheduling_delay_is_each_pods_latency_not_a_pause_between_pods(make_cluster):
    # Ten pods at once with a 0.5 s scheduling delay: each is bound about
    # 0.5 s after it was queued. Were the delay a pause between pods (the
    # scheduler decides one pod at a time), the last would wait 5 s.
    store, _ = await make_cluster(nodes=1, delays={"scheduling": 0.5})
    started = time.monotonic()
    for i in range(10):
        await store.create("pods", pod(f"burst-{i}"), namespace=NS)
    for i in range(10):
        await wait_for(store, "pods", f"burst-{i}", NS, bound, timeout=10)
    assert time.monotonic() - started < 3.0
