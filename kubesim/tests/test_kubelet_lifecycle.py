"""The kubelet (pause runtime) driven through the Store: status, events, deletion, faults."""

import asyncio

import pytest

from kubesim.testing import wait_for, wait_gone

NS = "default"


def pod(name, *containers, init=(), **spec):
    containers = containers or ({"name": "main", "image": "busybox:1.36"},)
    body = {"containers": list(containers), **spec}
    if init:
        body["initContainers"] = list(init)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS},
        "spec": body,
    }


def phase_is(*phases):
    return lambda p: p is not None and (p.get("status") or {}).get("phase") in phases


def ready(p):
    conditions = {c["type"]: c["status"] for c in (p or {}).get("status", {}).get("conditions", [])}
    return conditions.get("Ready") == "True"


def events_for(store, name):
    items = store.list("events", NS, field_selector=f"involvedObject.name={name}")[0]
    return sorted(items, key=lambda e: e["metadata"]["name"])  # "<pod>.<hex UnixNano>"


async def until(condition, timeout=10):
    """For conditions on other objects than the one whose changes we could watch."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def waiting_reason(p, container=0, key="containerStatuses"):
    statuses = (p or {}).get("status", {}).get(key) or []
    if len(statuses) <= container:
        return None
    return (statuses[container]["state"].get("waiting") or {}).get("reason")


async def test_pod_runs_with_real_status_and_events(make_cluster):
    store, _ = await make_cluster(nodes=2)
    await store.create("pods", pod("web"))
    running = await wait_for(store, "pods", "web", NS, ready, timeout=10)
    status = running["status"]
    assert status["phase"] == "Running"
    assert running["spec"]["nodeName"] in ("node-1", "node-2")
    assert status["podIP"].startswith("127.244.")
    assert status["podIPs"] == [{"ip": status["podIP"]}]
    assert status["hostIP"].startswith("127.1.0.")
    types = [c["type"] for c in status["conditions"]]
    assert set(types) >= {"PodScheduled", "Initialized", "ContainersReady", "Ready"}
    assert all(c["status"] == "True" for c in status["conditions"])
    (container,) = status["containerStatuses"]
    assert container["ready"] and container["started"]
    assert "startedAt" in container["state"]["running"]
    assert container["containerID"].startswith("containerd://")
    assert container["imageID"].startswith("docker.io/library/busybox@sha256:")
    events = events_for(store, "web")
    reasons = [e["reason"] for e in events]
    assert reasons == ["Scheduled", "Pulling", "Pulled", "Created", "Started"]
    scheduled, pulling = events[0], events[1]
    assert (
        scheduled["message"]
        == f"Successfully assigned default/web to {running['spec']['nodeName']}"
    )
    assert scheduled["source"]["component"] == "default-scheduler"
    assert scheduled["reportingComponent"] == "default-scheduler"
    assert pulling["source"] == {"component": "kubelet", "host": running["spec"]["nodeName"]}
    assert pulling["involvedObject"]["fieldPath"] == "spec.containers{main}"
    assert pulling["involvedObject"]["uid"] == running["metadata"]["uid"]
    assert pulling["involvedObject"]["kind"] == "Pod"
    assert pulling["message"] == 'Pulling image "busybox:1.36"'
    assert events[3]["message"] == "Created container: main"
    assert events[4]["message"] == "Started container main"
    assert all(e["count"] == 1 and e["type"] == "Normal" for e in events)

    # the image is on the node now: a second pod there finds it present
    node = running["spec"]["nodeName"]
    await store.create("pods", pod("web2", nodeSelector={"kubernetes.io/hostname": node}))
    await wait_for(store, "pods", "web2", NS, ready, timeout=10)
    pulled = [e for e in events_for(store, "web2") if e["reason"] == "Pulled"]
    assert pulled[0]["message"] == 'Container image "busybox:1.36" already present on machine'


async def test_graceful_deletion_waits_for_the_containers(make_cluster):
    store, sim = await make_cluster(delays={"terminating": 0.3})
    await store.create("pods", pod("slow", terminationGracePeriodSeconds=30))
    await wait_for(store, "pods", "slow", NS, ready, timeout=10)
    _, removed = await store.delete("pods", "slow", NS)
    assert not removed
    terminating = store.peek("pods", "slow", NS)
    assert terminating["metadata"]["deletionGracePeriodSeconds"] == 30
    seen = []
    watch = store.watch(
        "pods", NS, field_selector="metadata.name=slow", resource_version=store.resource_version
    )
    async with asyncio.timeout(10):
        async for event_type, obj in watch:
            seen.append((event_type, obj))
            if event_type == "DELETED":
                break
    final = seen[-2][1]["status"]
    terminated = final["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 0 and terminated["reason"] == "Completed"
    assert final["phase"] == "Succeeded"
    killing = [e for e in events_for(store, "slow") if e["reason"] == "Killing"]
    assert killing and killing[0]["message"] == "Stopping container main"


async def test_grace_period_ends_with_sigkill(make_cluster):
    store, _ = await make_cluster(delays={"terminating": 60})
    await store.create("pods", pod("stubborn"))
    await wait_for(store, "pods", "stubborn", NS, ready, timeout=10)
    await store.delete("pods", "stubborn", NS, grace_period_seconds=1)
    last = []
    watch = store.watch(
        "pods", NS, field_selector="metadata.name=stubborn", resource_version=store.resource_version
    )
    async with asyncio.timeout(10):
        async for event_type, obj in watch:
            last.append(obj)
            if event_type == "DELETED":
                break
    terminated = last[-2]["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 137
    assert last[-2]["status"]["phase"] == "Failed"


async def test_force_deletion_removes_at_once(make_cluster):
    store, sim = await make_cluster(delays={"terminating": 60})
    await store.create("pods", pod("forced"))
    await wait_for(store, "pods", "forced", NS, ready, timeout=10)
    _, removed = await store.delete("pods", "forced", NS, grace_period_seconds=0)
    assert removed
    workers = sim.kubelets["node-1"].workers
    async with asyncio.timeout(10):  # the kubelet hears of the deletion through its informer
        while workers:
            await asyncio.sleep(0.01)


async def test_init_containers_run_first_then_app(make_cluster):
    store, _ = await make_cluster(image_rules=[{"image": "slow-init:*", "run_seconds": 0.3}])
    await store.create(
        "pods",
        pod(
            "with-init",
            init=[
                {"name": "one", "image": "slow-init:1"},
                {"name": "two", "image": "busybox:1.36"},
            ],
        ),
    )
    pending = await wait_for(
        store,
        "pods",
        "with-init",
        NS,
        lambda p: (
            "running"
            in ((p or {}).get("status", {}).get("initContainerStatuses") or [{}])[0].get(
                "state", {}
            )
        ),
        timeout=10,
    )
    assert pending["status"]["phase"] == "Pending"
    conditions = {c["type"]: c for c in pending["status"]["conditions"]}
    assert conditions["Initialized"]["status"] == "False"
    assert conditions["Initialized"]["reason"] == "ContainersNotInitialized"
    assert conditions["Initialized"]["message"] == "containers with incomplete status: [one two]"
    assert waiting_reason(pending) == "PodInitializing"
    done = await wait_for(store, "pods", "with-init", NS, ready, timeout=10)
    init_states = [s["state"]["terminated"] for s in done["status"]["initContainerStatuses"]]
    assert [(s["exitCode"], s["reason"]) for s in init_states] == [
        (0, "Completed"),
        (0, "Completed"),
    ]
    started = [
        e["involvedObject"]["fieldPath"]
        for e in events_for(store, "with-init")
        if e["reason"] == "Started"
    ]
    assert started == [
        "spec.initContainers{one}",
        "spec.initContainers{two}",
        "spec.containers{main}",
    ]


async def test_failing_init_container_with_restart_never_fails_the_pod(make_cluster):
    store, _ = await make_cluster(image_rules=[{"image": "bad-init", "exit_code": 3}])
    await store.create(
        "pods", pod("bad", init=[{"name": "setup", "image": "bad-init"}], restartPolicy="Never")
    )
    failed = await wait_for(store, "pods", "bad", NS, phase_is("Failed"), timeout=10)
    terminated = failed["status"]["initContainerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 3 and terminated["reason"] == "Error"
    assert waiting_reason(failed) == "PodInitializing"


@pytest.mark.parametrize(
    "policy, exit_code, phase",
    [("Never", 1, "Failed"), ("Never", 0, "Succeeded"), ("OnFailure", 0, "Succeeded")],
)
async def test_exits_without_restart(make_cluster, policy, exit_code, phase):
    store, _ = await make_cluster(image_rules=[{"image": "job:*", "exit_code": exit_code}])
    await store.create("pods", pod("job", {"name": "main", "image": "job:1"}, restartPolicy=policy))
    done = await wait_for(store, "pods", "job", NS, phase_is(phase), timeout=10)
    state = done["status"]["containerStatuses"][0]
    assert state["state"]["terminated"]["exitCode"] == exit_code
    assert state["restartCount"] == 0
    assert not ready(done)


async def test_crash_loop_back_off(make_cluster):
    store, _ = await make_cluster(
        image_rules=[{"image": "crash:*", "exit_code": 2, "run_seconds": 0.05}],
        delays={"crashloop_backoff": 0.2},
    )
    await store.create("pods", pod("crash", {"name": "main", "image": "crash:1"}))
    looping = await wait_for(
        store, "pods", "crash", NS, lambda p: waiting_reason(p) == "CrashLoopBackOff", timeout=10
    )
    state = looping["status"]["containerStatuses"][0]
    assert state["restartCount"] >= 1
    assert state["lastState"]["terminated"]["exitCode"] == 2
    uid = looping["metadata"]["uid"]
    assert state["state"]["waiting"]["message"].startswith("back-off ")
    assert state["state"]["waiting"]["message"].endswith(
        f"restarting failed container=main pod=crash_default({uid})"
    )
    assert looping["status"]["phase"] == "Running"
    restarted = await wait_for(
        store,
        "pods",
        "crash",
        NS,
        lambda p: p["status"]["containerStatuses"][0]["restartCount"] >= 3,
        timeout=10,
    )
    assert restarted["status"]["phase"] == "Running"
    backoff = [e for e in events_for(store, "crash") if e["reason"] == "BackOff"]
    assert backoff[0]["type"] == "Warning"
    assert (
        backoff[0]["message"]
        == f"Back-off restarting failed container main in pod crash_default({uid})"
    )


async def test_image_pull_failure(make_cluster):
    store, _ = await make_cluster(
        image_rules=[{"image": "registry.example/missing:*", "pull_error": "not found"}],
        delays={"image_pull_backoff": 0.2},
    )
    await store.create(
        "pods", pod("nopull", {"name": "main", "image": "registry.example/missing:1"})
    )
    errored = await wait_for(
        store, "pods", "nopull", NS, lambda p: waiting_reason(p) == "ErrImagePull", timeout=10
    )
    message = errored["status"]["containerStatuses"][0]["state"]["waiting"]["message"]
    assert message == (
        "rpc error: code = NotFound desc = failed to pull and unpack image "
        '"registry.example/missing:1": not found'
    )
    backoff = await wait_for(
        store, "pods", "nopull", NS, lambda p: waiting_reason(p) == "ImagePullBackOff", timeout=10
    )
    assert backoff["status"]["containerStatuses"][0]["state"]["waiting"]["message"] == (
        'Back-off pulling image "registry.example/missing:1"'
    )
    assert backoff["status"]["phase"] == "Pending"
    events = [(e["type"], e["reason"], e["message"]) for e in events_for(store, "nopull")]
    assert ("Warning", "Failed", "Error: ErrImagePull") in events
    assert ("Warning", "Failed", "Error: ImagePullBackOff") in events
    assert ("Normal", "BackOff", 'Back-off pulling image "registry.example/missing:1"') in events
    # retries pull again after the back-off: the Pulling event is counted up
    await wait_for(
        store,
        "pods",
        "nopull",
        NS,
        lambda p: any(
            e["reason"] == "Pulling" and e["count"] >= 2 for e in events_for(store, "nopull")
        ),
        timeout=10,
    )


async def test_missing_secret_blocks_the_container_until_it_exists(make_cluster):
    store, _ = await make_cluster(delays={"crashloop_backoff": 0.1})
    env = [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "pw"}}}]
    await store.create("pods", pod("needs", {"name": "main", "image": "busybox:1.36", "env": env}))
    blocked = await wait_for(
        store,
        "pods",
        "needs",
        NS,
        lambda p: waiting_reason(p) == "CreateContainerConfigError",
        timeout=10,
    )
    assert (
        blocked["status"]["containerStatuses"][0]["state"]["waiting"]["message"]
        == 'secret "creds" not found'
    )
    await store.create(
        "secrets", {"metadata": {"name": "creds", "namespace": NS}, "data": {"pw": "eA=="}}
    )
    await wait_for(store, "pods", "needs", NS, ready, timeout=10)


async def test_missing_configmap_volume_is_a_failed_mount(make_cluster):
    store, _ = await make_cluster()
    volumes = [{"name": "cfg", "configMap": {"name": "absent"}}]
    await store.create("pods", pod("mountless", volumes=volumes))
    await until(lambda: any(e["reason"] == "FailedMount" for e in events_for(store, "mountless")))
    current = store.peek("pods", "mountless", NS)
    assert waiting_reason(current) == "ContainerCreating"
    event = next(e for e in events_for(store, "mountless") if e["reason"] == "FailedMount")
    assert event["type"] == "Warning" and 'configmap "absent" not found' in event["message"]
    await store.create(
        "configmaps", {"metadata": {"name": "absent", "namespace": NS}, "data": {"a": "b"}}
    )
    await wait_for(store, "pods", "mountless", NS, ready, timeout=10)


async def test_paused_kubelet_stops_reporting(make_cluster):
    store, sim = await make_cluster(delays={"node_monitor_grace": 0.2})
    await store.create("pods", pod("before"))
    await wait_for(store, "pods", "before", NS, ready, timeout=10)
    sim.pause_kubelet()
    await store.create("pods", pod("during"))
    await wait_for(store, "pods", "during", NS, lambda p: p["spec"].get("nodeName"), timeout=10)
    await store.delete("pods", "before", NS)
    node = await wait_for(
        store,
        "nodes",
        "node-1",
        None,
        lambda n: any(
            c["type"] == "Ready" and c["status"] == "Unknown" for c in n["status"]["conditions"]
        ),
        timeout=10,
    )
    ready_condition = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert ready_condition["reason"] == "NodeStatusUnknown"
    assert ready_condition["message"] == "Kubelet stopped posting node status."
    assert {(t["key"], t["effect"]) for t in node["spec"]["taints"]} == {
        ("node.kubernetes.io/unreachable", "NoSchedule"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
    }
    # nothing happened for the pods meanwhile
    assert "containerStatuses" not in store.peek("pods", "during", NS)["status"]
    assert store.peek("pods", "before", NS) is not None
    sim.resume_kubelet()
    await wait_for(store, "pods", "during", NS, ready, timeout=10)
    await wait_gone(store, "pods", "before", NS, timeout=10)
    node = await wait_for(
        store, "nodes", "node-1", None, lambda n: not n["spec"].get("taints"), timeout=10
    )
    assert next(c for c in node["status"]["conditions"] if c["type"] == "Ready")["status"] == "True"


async def test_sidecar_init_container_keeps_running(make_cluster):
    store, _ = await make_cluster()
    sidecar = {"name": "proxy", "image": "envoy:1", "restartPolicy": "Always"}
    await store.create(
        "pods", pod("sidecar", init=[sidecar, {"name": "setup", "image": "busybox:1.36"}])
    )
    running = await wait_for(store, "pods", "sidecar", NS, ready, timeout=10)
    proxy, setup = running["status"]["initContainerStatuses"]
    assert "running" in proxy["state"] and proxy["started"]
    assert setup["state"]["terminated"]["exitCode"] == 0


async def test_stop_while_pods_are_mid_way(make_cluster):
    store, sim = await make_cluster(delays={"pulling": 60})
    await store.create("pods", pod("pulling"))
    await until(lambda: any(e["reason"] == "Pulling" for e in events_for(store, "pulling")))
    sim.pause_kubelet()
    async with asyncio.timeout(10):  # neither a pull nor a paused kubelet holds it up
        await sim.stop()
    assert not sim.kubelets["node-1"].workers


async def test_namespace_deletion_stops_its_pods(make_cluster):
    store, _ = await make_cluster(delays={"terminating": 0.2})
    await store.create("namespaces", {"metadata": {"name": "team"}})
    body = pod("inside")
    body["metadata"]["namespace"] = "team"
    await store.create("pods", body)
    await wait_for(store, "pods", "inside", "team", ready, timeout=10)
    await store.delete("namespaces", "team")
    await wait_gone(store, "pods", "inside", "team", timeout=10)
    await wait_gone(store, "namespaces", "team", None, timeout=10)
