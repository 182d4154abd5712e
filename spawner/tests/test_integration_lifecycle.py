"""The spawner as the hub uses it, against kubesim: start, poll, stop,
progress, state across hub restarts, and the API cost of it all."""

import asyncio

import pytest

NS = "default"


async def wait_for_poll(spawner, want_running: bool, attempts=500):
    """poll() reads the watch-fed cache; give the watch event a moment."""
    for _ in range(attempts):
        status = await spawner.poll()
        if (status is None) == want_running:
            return status
        await asyncio.sleep(0.02)
    raise AssertionError(f"poll() never said running={want_running}")


async def test_start_poll_stop(hub, sim):
    spawner = await hub.spawn("alice")
    pod = sim.get("pods", "jupyter-alice", NS)
    assert pod is not None
    assert pod["metadata"]["labels"]["component"] == "singleuser-server"
    ip = pod["status"]["podIP"]
    assert spawner.server.ip == ip and spawner.server.port == 8888
    assert spawner.server.url.startswith(f"http://{ip}:8888/")
    assert await spawner.poll() is None
    state = spawner.orm_spawner.state
    assert state["pod_name"] == "jupyter-alice" and state["namespace"] == NS

    await hub.stop("alice")
    assert sim.get("pods", "jupyter-alice", NS) is None, "stop() returns once the pod is gone"
    assert await spawner.poll() == 1
    # one LIST per reflector, one write per spawn and per stop, no reads
    assert sim.requests("create", "pods") == 1
    assert sim.requests("delete", "pods") == 1
    assert sim.requests("get", "pods") == 0
    assert sim.requests("list", "pods") == 1


async def test_steady_state_costs_one_write_per_spawn_and_stop(hub, sim):
    await hub.spawn("bob")
    await hub.stop("bob")
    sim.reset_counters()
    for _ in range(3):
        await hub.spawn("bob")
        await hub.stop("bob")
    writes = {k: v for k, v in sim.counters.items() if k[0] not in ("watch",)}
    assert writes == {("create", "pods"): 3, ("delete", "pods"): 3}, writes


async def test_graceful_stop_uses_delete_grace_period(hub_factory, sim):
    hub = await hub_factory(delete_grace_period=7)
    await hub.spawn("grace")
    sim.nodes.set_delays(terminating=0.3)
    spawner = hub.spawner("grace")
    stopping = asyncio.ensure_future(spawner.stop())
    for _ in range(200):
        pod = sim.get("pods", "jupyter-grace", NS)
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            break
        await asyncio.sleep(0.01)
    assert pod is not None and pod["metadata"]["deletionGracePeriodSeconds"] == 7
    await stopping
    assert sim.get("pods", "jupyter-grace", NS) is None


async def test_stop_now_deletes_without_grace(hub, sim):
    spawner = await hub.spawn("quick")
    sim.nodes.set_delays(terminating=60)  # a graceful stop would take a minute
    await asyncio.wait_for(spawner.stop(now=True), 10)
    assert sim.get("pods", "jupyter-quick", NS) is None


async def test_stop_tolerates_a_pod_that_is_already_gone(hub, sim, api):
    spawner = await hub.spawn("gone")
    await api.request(
        "DELETE", f"/api/v1/namespaces/{NS}/pods/jupyter-gone", body={"gracePeriodSeconds": 0}
    )
    await spawner.stop()
    assert await spawner.poll() == 1


async def test_pod_deleted_behind_the_hubs_back_is_noticed(hub, sim, api):
    spawner = await hub.spawn("carol")
    await api.request(
        "DELETE", f"/api/v1/namespaces/{NS}/pods/jupyter-carol", body={"gracePeriodSeconds": 0}
    )
    assert await wait_for_poll(spawner, want_running=False) == 1


async def test_exited_server_reports_its_exit_code_and_is_deleted(hub_factory, sim):
    hub = await hub_factory(image="exits:1")
    sim.nodes.add_image_rule({"image": "exits:*", "exit_code": 0, "run_seconds": 1.5})
    spawner = await hub.spawn("dave")
    assert await wait_for_poll(spawner, want_running=False) == 0
    for _ in range(200):
        if sim.get("pods", "jupyter-dave", NS) is None:
            break
        await asyncio.sleep(0.02)
    assert sim.get("pods", "jupyter-dave", NS) is None, "delete_stopped_pods"


async def test_progress_streams_only_this_spawns_events(hub, sim):
    async def spawn_with_progress(name):
        spawner = hub.spawner(name)
        task = asyncio.ensure_future(hub.spawn(name))
        messages = [m async for m in spawner.progress()]
        await task
        return messages

    # events and pod updates come on separate watches: give the events a
    # head start over readiness so the assertions below see them all
    sim.nodes.set_delays(readiness=0.3)
    first = await spawn_with_progress("erin")
    reasons = [m["raw_event"]["reason"] for m in first]
    assert reasons[0] == "Scheduled" and "Pulled" in reasons
    assert all("jupyter-erin" == m["raw_event"]["involvedObject"]["name"] for m in first)
    progress = [m["progress"] for m in first]
    assert progress == sorted(progress) and progress[-1] < 100
    assert any("Successfully assigned" in m["message"] for m in first)
    await hub.stop("erin")

    second = await spawn_with_progress("erin")
    uids = {m["raw_event"]["involvedObject"]["uid"] for m in second}
    assert len(uids) == 1
    assert uids.isdisjoint({m["raw_event"]["involvedObject"]["uid"] for m in first})
    assert [m["raw_event"]["reason"] for m in second][0] == "Scheduled"


async def test_slow_spawn_messages(hub_factory, sim):
    hub = await hub_factory(slow_spawn_threshold=0.2, slow_spawn_message_frequency=0.2)
    sim.nodes.set_delays(readiness=1.2)
    spawner = hub.spawner("slow")
    task = asyncio.ensure_future(hub.spawn("slow"))
    messages = [m async for m in spawner.progress()]
    await task
    slow = [m for m in messages if "raw_event" not in m]
    assert len(slow) >= 2
    assert "longer than usual" in slow[0]["message"]


async def test_leftover_pod_with_the_same_name_is_replaced(hub, sim, api):
    stale = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "jupyter-frank", "labels": {"component": "singleuser-server"}},
        "spec": {"containers": [{"name": "notebook", "image": "old:1"}]},
    }
    old = await api.request("POST", f"/api/v1/namespaces/{NS}/pods", body=stale)
    spawner = await hub.spawn("frank")
    pod = sim.get("pods", "jupyter-frank", NS)
    assert pod["metadata"]["uid"] != old["metadata"]["uid"]
    assert pod["spec"]["containers"][0]["image"] == "pause:3.9"
    assert await spawner.poll() is None


async def test_hub_restart_keeps_running_servers_and_their_names(hub_factory, sim):
    hub = await hub_factory()
    await hub.spawn("gina")
    await hub.spawn("hank")
    # the new hub has other templates and slug scheme; running servers keep theirs
    restarted = await hub_factory(pod_name_template="user-{username}", slug_scheme="escape")
    lists_before = sim.requests("list", "pods")
    gina = restarted.user("gina")
    assert gina.spawners[""].active and gina.running, "init_spawners polled it as running"
    spawner = gina.spawners[""]
    assert spawner.pod_name == "jupyter-gina"
    assert spawner.slug_scheme == "safe"
    assert await spawner.poll() is None
    await restarted.stop("gina")
    assert sim.get("pods", "jupyter-gina", NS) is None
    # a new server uses today's templates
    await restarted.spawn("gina")
    assert sim.get("pods", "user-gina", NS) is not None
    assert restarted.user("hank").running
    assert sim.requests("list", "pods") == lists_before


async def test_pod_ip_change_updates_the_hub_record(hub, sim, api):
    spawner = await hub.spawn("ivan")
    new_ip = "127.244.250.250"
    await api.request(
        "PATCH",
        f"/api/v1/namespaces/{NS}/pods/jupyter-ivan/status",
        body={"status": {"podIP": new_ip, "podIPs": [{"ip": new_ip}]}},
        content_type="application/merge-patch+json",
    )
    for _ in range(200):
        await spawner.poll()
        if spawner.server.ip == new_ip:
            break
        await asyncio.sleep(0.02)
    assert spawner.server.ip == new_ip
    hub.db.expire_all()
    assert spawner.orm_spawner.server.ip == new_ip


async def test_hundred_concurrent_spawns(hub_factory, sim):
    # a generous request timeout: on a busy CI machine a timed-out create
    # would be retried (correctly) and blur the request count asserted here
    hub = await hub_factory(k8s_api_request_timeout=60)
    names = [f"user{i}" for i in range(100)]
    spawners = await asyncio.gather(*(hub.spawn(n) for n in names))
    assert all(s.server.ip for s in spawners)
    assert len({s.server.ip for s in spawners}) == 100
    assert sim.requests("create", "pods") == 100
    assert sim.requests("list", "pods") == 1
    assert sim.requests("get", "pods") == 0
    await asyncio.gather(*(hub.stop(n) for n in names))
    assert sim.objects("pods", NS) == []


async def test_reflector_failure_exits_the_hub(hub):
    spawner = hub.spawner("x")
    with pytest.raises(SystemExit):
        spawner._on_reflector_failure(RuntimeError("pod reflector failed 12 times"))


async def test_hooks_and_no_events(hub_factory, sim):
    seen = []

    async def after_created(spawner, pod):
        seen.append((spawner.pod_name, pod["metadata"]["uid"]))

    hub = await hub_factory(events_enabled=False, after_pod_created_hook=after_created)
    spawner = hub.spawner("quinn")
    task = asyncio.ensure_future(hub.spawn("quinn"))
    messages = [m async for m in spawner.progress()]
    await task
    assert seen == [("jupyter-quinn", sim.get("pods", "jupyter-quinn", NS)["metadata"]["uid"])]
    assert all("raw_event" not in m for m in messages)
    assert sim.requests("list", "events") == 0, "no event reflector when events are off"


def attribute_style_modify_pod_hook(spawner, pod):
    """A hook as hub.extraConfig has them for the original KubeSpawner."""
    from kubernetes_asyncio.client import V1EnvVar

    pod.spec.containers[0].env.append(V1EnvVar(name="FROM_HOOK", value=spawner.user.name))
    pod.metadata.labels["hooked"] = "attribute"
    return pod


async def dict_style_modify_pod_hook(spawner, pod):
    from kubespawner.models import to_dict

    manifest = to_dict(pod)
    manifest["metadata"]["labels"]["hooked"] = "dict"
    manifest["spec"]["containers"][0]["env"].append({"name": "FROM_HOOK", "value": "dict"})
    return manifest


@pytest.mark.parametrize(
    "hook, label, value",
    [
        (attribute_style_modify_pod_hook, "attribute", "rita"),
        (dict_style_modify_pod_hook, "dict", "dict"),
    ],
)
async def test_modify_pod_hook_through_a_spawn(hub_factory, sim, hook, label, value):
    hub = await hub_factory(modify_pod_hook=hook)
    spawner = await hub.spawn("rita")
    pod = sim.get("pods", "jupyter-rita", NS)
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert env["FROM_HOOK"] == value
    assert env["JUPYTERHUB_API_TOKEN"], "the spawner's own env is kept"
    assert pod["metadata"]["labels"]["hooked"] == label
    assert pod["metadata"]["labels"]["component"] == "singleuser-server"
    assert await spawner.poll() is None
    await hub.stop("rita")


async def test_sync_after_pod_created_hook(hub_factory, sim):
    seen = []

    def after_created(spawner, pod):
        seen.append((spawner.pod_name, pod["metadata"]["uid"]))

    hub = await hub_factory(after_pod_created_hook=after_created)
    spawner = await hub.spawn("sam")
    assert seen == [("jupyter-sam", sim.get("pods", "jupyter-sam", NS)["metadata"]["uid"])]
    assert await spawner.poll() is None


async def test_is_pod_running_on_the_cached_pod(hub, sim):
    spawner = await hub.spawn("tom")
    pods = await spawner._pods()
    assert spawner.is_pod_running(pods.get(spawner._pod_key))
    await hub.stop("tom")
    assert not spawner.is_pod_running(pods.get(spawner._pod_key))
