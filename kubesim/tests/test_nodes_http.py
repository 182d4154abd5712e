"""The node simulator seen through the API server with kubernetes_asyncio, as clients see it."""

import asyncio
import os
import sys

import aiohttp
import pytest
from kubernetes_asyncio import client, config, watch

NS = "default"
PY = sys.executable


async def api_for(sim):
    configuration = client.Configuration()
    await config.load_kube_config(
        config_file=str(sim.kubeconfig_path), client_configuration=configuration
    )
    return client.ApiClient(configuration)


async def wait_pod(core, name, predicate, timeout=20):
    """Watch the pod (real client watch) until predicate(pod) holds."""
    pod = await core.read_namespaced_pod(name, NS)
    if predicate(pod):
        return pod
    async with asyncio.timeout(timeout):
        while True:
            w = watch.Watch()
            async with w.stream(
                core.list_namespaced_pod,
                NS,
                field_selector=f"metadata.name={name}",
                resource_version=pod.metadata.resource_version,
                timeout_seconds=int(timeout),
            ) as stream:
                async for event in stream:
                    if event["type"] == "DELETED":
                        if predicate(None):
                            return None
                        continue
                    pod = event["object"]
                    if predicate(pod):
                        return pod


def is_ready(pod):
    return pod is not None and any(
        c.type == "Ready" and c.status == "True" for c in pod.status.conditions or []
    )


async def test_process_pod_over_http_serves_on_its_ip_and_logs(kubesim_factory):
    sim = await kubesim_factory(nodes=2, runtime="process")
    async with await api_for(sim) as api:
        core = client.CoreV1Api(api)
        body = {
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {
                        "name": "server",
                        "image": "python:3.11",
                        "command": [PY, "-u", "-m", "http.server", "8888"],
                        "args": ["--bind", "0.0.0.0"],
                        "ports": [{"name": "http", "containerPort": 8888}],
                        "readinessProbe": {
                            "httpGet": {"path": "/", "port": "http"},
                            "periodSeconds": 1,
                        },
                    }
                ],
                "terminationGracePeriodSeconds": 5,
            },
        }
        await core.create_namespaced_pod(NS, body)
        pod = await wait_pod(core, "web", is_ready)
        assert pod.status.phase == "Running"
        ip = pod.status.pod_ip
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://{ip}:8888/") as response,
        ):
            assert response.status == 200
        log = await core.read_namespaced_pod_log("web", NS)
        assert '"GET / HTTP/1.1" 200' in log
        events = await core.list_namespaced_event(NS, field_selector="involvedObject.name=web")
        reasons = [
            e.reason for e in sorted(events.items, key=lambda e: int(e.metadata.resource_version))
        ]
        assert reasons[:5] == ["Scheduled", "Pulling", "Pulled", "Created", "Started"]
        terminating = await core.delete_namespaced_pod("web", NS)
        assert terminating.metadata.deletion_timestamp is not None  # graceful: not gone yet
        await wait_pod(core, "web", lambda p: p is None)


async def test_unschedulable_pod_over_http(kubesim_factory):
    sim = await kubesim_factory(nodes=3, node_memory="1Gi")
    async with await api_for(sim) as api:
        core = client.CoreV1Api(api)
        body = {
            "metadata": {"name": "hungry"},
            "spec": {
                "containers": [
                    {
                        "name": "c",
                        "image": "busybox:1.36",
                        "resources": {"requests": {"memory": "2Gi"}},
                    }
                ]
            },
        }
        await core.create_namespaced_pod(NS, body)
        pod = await wait_pod(
            core,
            "hungry",
            lambda p: any(c.reason == "Unschedulable" for c in p.status.conditions or []),
        )
        condition = next(c for c in pod.status.conditions if c.type == "PodScheduled")
        assert condition.message == "0/3 nodes are available: 3 Insufficient memory."
        events = await core.list_namespaced_event(NS, field_selector="involvedObject.name=hungry")
        (event,) = events.items
        assert (event.type, event.reason, event.source.component) == (
            "Warning",
            "FailedScheduling",
            "default-scheduler",
        )


async def test_in_cluster_config_from_a_process_pod(kubesim_factory):
    sim = await kubesim_factory(nodes=1, runtime="process", https=True)
    if sim.nodes.runtime.mode != "namespace":
        pytest.skip("the service account directory is only at its real path with mounts")
    # KubeSim hands its address, token and CA to the nodes (api_access)
    script = (
        "import asyncio\n"
        "from kubernetes_asyncio import client, config\n"
        "async def main():\n"
        "    config.load_incluster_config()\n"
        "    async with client.ApiClient() as api:\n"
        "        pods = await client.CoreV1Api(api).list_namespaced_pod(open('/var/run/secrets/kubernetes.io/serviceaccount/namespace').read())\n"
        "        print(sorted(p.metadata.name for p in pods.items))\n"
        "asyncio.run(main())\n"
    )
    async with await api_for(sim) as api:
        core = client.CoreV1Api(api)
        body = {
            "metadata": {"name": "incluster"},
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {"name": "c", "image": "python:3.11", "command": [PY, "-c", script]}
                ],
            },
        }
        await core.create_namespaced_pod(NS, body)
        pod = await wait_pod(core, "incluster", lambda p: p.status.phase in ("Succeeded", "Failed"))
        log = await core.read_namespaced_pod_log("incluster", NS)
        assert pod.status.phase == "Succeeded", log
        assert log == "['incluster']\n"


async def watch_until(list_call, *args, resource_version, done, timeout=30, **params):
    """(type, object) events of a real client watch from resource_version until done(events)."""
    seen = []
    async with asyncio.timeout(timeout):
        while True:
            w = watch.Watch()
            async with w.stream(
                list_call,
                *args,
                resource_version=resource_version,
                timeout_seconds=int(timeout),
                **params,
            ) as stream:
                async for event in stream:
                    seen.append((event["type"], event["object"]))
                    resource_version = event["object"].metadata.resource_version
                    if done(seen):
                        return seen


def true_conditions(pod):
    return {c.type for c in pod.status.conditions or [] if c.status == "True"}


def container_state(pod):
    (status,) = pod.status.container_statuses or [None]
    if status is None:
        return None
    if status.state.waiting:
        return f"waiting:{status.state.waiting.reason}"
    return "running" if status.state.running else "terminated"


async def test_pod_conditions_and_events_in_order_through_watches(kubesim_factory):
    sim = await kubesim_factory(
        nodes=1, delays={"pulling": 0.2, "creating": 0.1, "starting": 0.1, "readiness": 0.1}
    )
    async with await api_for(sim) as api:
        core = client.CoreV1Api(api)
        since = (await core.list_namespaced_pod(NS)).metadata.resource_version
        pods = asyncio.ensure_future(
            watch_until(
                core.list_namespaced_pod,
                NS,
                resource_version=since,
                field_selector="metadata.name=seq",
                done=lambda seen: is_ready(seen[-1][1]),
            )
        )
        events = asyncio.ensure_future(
            watch_until(
                core.list_namespaced_event,
                NS,
                resource_version=since,
                field_selector="involvedObject.name=seq",
                done=lambda seen: seen[-1][1].reason == "Started",
            )
        )
        # no wait for the watches to open: from `since` they replay whatever happened meanwhile
        body = {
            "metadata": {"name": "seq"},
            "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]},
        }
        await core.create_namespaced_pod(NS, body)
        pod_events, core_events = await pods, await events
    assert [(t, e.reason) for t, e in core_events] == [
        ("ADDED", "Scheduled"),
        ("ADDED", "Pulling"),
        ("ADDED", "Pulled"),
        ("ADDED", "Created"),
        ("ADDED", "Started"),
    ]
    scheduled, pulling, pulled, created, started = (e for _, e in core_events)
    node = pod_events[-1][1].spec.node_name
    assert (scheduled.source.component, scheduled.message) == (
        "default-scheduler",
        f"Successfully assigned default/seq to {node}",
    )
    assert (pulling.source.component, pulling.source.host) == ("kubelet", node)
    assert pulling.message == 'Pulling image "busybox:1.36"'
    assert pulled.message.startswith('Successfully pulled image "busybox:1.36" in ')
    assert created.message == "Created container: main"
    assert started.message == "Started container main"
    assert pulling.involved_object.field_path == "spec.containers{main}"

    first, *_ = pod_events
    assert first[0] == "ADDED" and first[1].spec.node_name is None
    assert first[1].status.phase == "Pending" and not true_conditions(first[1])
    # the order in which each condition first turned True, and the container's states
    order, states = [], []
    for _, pod in pod_events:
        order += sorted(true_conditions(pod) - set(order))
        state = container_state(pod)
        if state and (not states or states[-1] != state):
            states.append(state)
    assert order[0] == "PodScheduled"
    assert order.index("Initialized") < order.index("ContainersReady")
    assert set(order[-2:]) == {"ContainersReady", "Ready"}
    assert "PodReadyToStartContainers" in order
    assert states == ["waiting:ContainerCreating", "running"]
    running = pod_events[-1][1]
    assert running.status.phase == "Running" and running.status.pod_ip
    assert running.status.host_ip and running.status.container_statuses[0].ready


def host_pid_running(script: str) -> int:
    """The host PID of the process whose command line holds `script`."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    argv = cmdline.read().split(b"\0")
            except OSError:
                continue
            if script.encode() in argv and argv[0] == PY.encode():
                return int(entry)
    raise AssertionError(f"no process runs {script!r}")


async def test_graceful_deletion_over_http_waits_for_the_process(kubesim_factory):
    sim = await kubesim_factory(nodes=1, runtime="process")
    polite = (
        "import os, signal, sys, time\n"
        "def stop(*_):\n"
        "    print('stopping', flush=True); time.sleep(1); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "print(os.getpid(), flush=True)\n"
        "time.sleep(600)\n"
    )
    stubborn = (
        "import os, signal, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: print('ignoring', flush=True))\n"
        "print(os.getpid(), flush=True)\n"
        "time.sleep(600)\n"
    )
    async with await api_for(sim) as api:
        core = client.CoreV1Api(api)
        for name, script in (("polite", polite), ("stubborn", stubborn)):
            body = {
                "metadata": {"name": name},
                "spec": {
                    "terminationGracePeriodSeconds": 30,
                    "containers": [
                        {"name": "main", "image": "python:3.11", "command": [PY, "-c", script]}
                    ],
                },
            }
            await core.create_namespaced_pod(NS, body)
        pids = {}
        for name in ("polite", "stubborn"):
            await wait_pod(core, name, is_ready)
            async with asyncio.timeout(20):  # the PID line means the handler is installed
                while not (await core.read_namespaced_pod_log(name, NS)).strip():
                    await asyncio.sleep(0.05)
            # the printed PID is the container's own (its PID namespace): find the host's
            scripts = {"polite": polite, "stubborn": stubborn}
            pids[name] = await asyncio.to_thread(host_pid_running, scripts[name])
        loop = asyncio.get_running_loop()
        for name, grace in (("polite", 30), ("stubborn", 2)):
            since = (await core.read_namespaced_pod(name, NS)).metadata.resource_version
            started = loop.time()
            answer = await core.delete_namespaced_pod(name, NS, grace_period_seconds=grace)
            assert answer.metadata.deletion_timestamp is not None
            assert answer.metadata.deletion_grace_period_seconds == grace
            await asyncio.sleep(0.5)
            terminating = await core.read_namespaced_pod(name, NS)  # still there
            assert terminating.metadata.deletion_timestamp is not None
            os.kill(pids[name], 0)  # and so is its process
            seen = await watch_until(
                core.list_namespaced_pod,
                NS,
                resource_version=since,
                field_selector=f"metadata.name={name}",
                done=lambda seen: seen[-1][0] == "DELETED",
            )
            elapsed = loop.time() - started
            deleted = seen[-1][1]
            terminated = deleted.status.container_statuses[0].state.terminated
            with pytest.raises(ProcessLookupError):
                os.kill(pids[name], 0)
            if name == "polite":  # its handler ran (0, not 143) and took its 1 s
                assert terminated.exit_code == 0 and deleted.status.phase == "Succeeded"
                assert 1 <= elapsed < 10
            else:  # ignored SIGTERM: killed when the 2 s ran out
                assert terminated.exit_code == 137 and deleted.status.phase == "Failed"
                assert elapsed >= 1.9
        events = await core.list_namespaced_event(NS, field_selector="reason=Killing")
        assert sorted(e.involved_object.name for e in events.items) == ["polite", "stubborn"]
        assert {e.message for e in events.items} == {"Stopping container main"}


async def test_image_pull_failure_backs_off_over_http(kubesim_factory):
    sim = await kubesim_factory(
        nodes=1,
        image_rules=[{"image": "registry.example/missing:*", "pull_error": "not found"}],
        delays={"image_pull_backoff": 0.2},
    )
    async with await api_for(sim) as api:
        core = client.CoreV1Api(api)
        since = (await core.list_namespaced_pod(NS)).metadata.resource_version
        body = {
            "metadata": {"name": "nopull"},
            "spec": {"containers": [{"name": "main", "image": "registry.example/missing:1"}]},
        }
        await core.create_namespaced_pod(NS, body)
        seen = await watch_until(
            core.list_namespaced_pod,
            NS,
            resource_version=since,
            field_selector="metadata.name=nopull",
            done=lambda seen: container_state(seen[-1][1]) == "waiting:ImagePullBackOff",
        )
        states = [container_state(p) for _, p in seen if container_state(p)]
        assert "waiting:ErrImagePull" in states
        assert states.index("waiting:ErrImagePull") < states.index("waiting:ImagePullBackOff")
        erred = next(p for _, p in seen if container_state(p) == "waiting:ErrImagePull")
        assert erred.status.container_statuses[0].state.waiting.message == (
            "rpc error: code = NotFound desc = failed to pull and unpack image "
            '"registry.example/missing:1": not found'
        )
        backoff = seen[-1][1]
        assert backoff.status.phase == "Pending" and "Ready" not in true_conditions(backoff)
        assert backoff.status.container_statuses[0].state.waiting.message == (
            'Back-off pulling image "registry.example/missing:1"'
        )
        failed = await core.list_namespaced_event(
            NS, field_selector="involvedObject.name=nopull,reason=Failed"
        )
        messages = {(e.type, e.message) for e in failed.items}
        assert messages >= {
            ("Warning", "Error: ErrImagePull"),
            ("Warning", "Error: ImagePullBackOff"),
        }


async def test_claim_binds_through_the_default_storage_class_over_http(kubesim_factory):
    sim = await kubesim_factory(nodes=1)
    async with await api_for(sim) as api:
        core = client.CoreV1Api(api)
        storage = client.StorageV1Api(api)
        classes = (await storage.list_storage_class()).items
        (default,) = [
            c
            for c in classes
            if (c.metadata.annotations or {}).get("storageclass.kubernetes.io/is-default-class")
            == "true"
        ]
        since = (await core.list_namespaced_persistent_volume_claim(NS)).metadata.resource_version
        body = {
            "metadata": {"name": "home"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        }
        created = await core.create_namespaced_persistent_volume_claim(NS, body)
        # the DefaultStorageClass admission plugin fills the class in at creation
        assert created.spec.storage_class_name == default.metadata.name
        assert created.status.phase == "Pending"
        seen = await watch_until(
            core.list_namespaced_persistent_volume_claim,
            NS,
            resource_version=since,
            field_selector="metadata.name=home",
            done=lambda seen: seen[-1][1].status.phase == "Bound",
        )
        assert seen[0][0] == "ADDED" and seen[0][1].status.phase == "Pending"
        bound = seen[-1][1]
        assert bound.status.capacity == {"storage": "1Gi"}
        assert bound.metadata.annotations["pv.kubernetes.io/bind-completed"] == "yes"
        volume = await core.read_persistent_volume(bound.spec.volume_name)
        assert volume.status.phase == "Bound"
        assert (volume.spec.claim_ref.name, volume.spec.claim_ref.uid) == (
            "home",
            created.metadata.uid,
        )
        assert volume.spec.storage_class_name == default.metadata.name
        assert volume.spec.persistent_volume_reclaim_policy == "Delete"
        events = await core.list_namespaced_event(NS, field_selector="involvedObject.name=home")
        assert "ProvisioningSucceeded" in {e.reason for e in events.items}
        # reclaim policy Delete: the volume goes with its claim
        await core.delete_namespaced_persistent_volume_claim("home", NS)
        async with asyncio.timeout(20):
            while bound.spec.volume_name in {
                v.metadata.name for v in (await core.list_persistent_volume()).items
            }:
                await asyncio.sleep(0.05)


async def test_http_readiness_probe_on_the_pod_ip_gates_ready(kubesim_factory, tmp_path):
    sim = await kubesim_factory(nodes=1, runtime="process")
    marker = tmp_path / "ready"
    # listens on the pod IP only, and answers 503 until the marker file exists
    script = (
        "import http.server, os\n"
        "class Handler(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        f"        code = 200 if os.path.exists({str(marker)!r}) else 503\n"
        "        self.send_response(code); self.end_headers()\n"
        "    def log_message(self, fmt, *args):\n"
        "        print(fmt % args, flush=True)\n"
        "http.server.HTTPServer((os.environ['POD_IP'], 8080), Handler).serve_forever()\n"
    )
    body = {
        "metadata": {"name": "gated"},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "web",
                    "image": "python:3.11",
                    "command": [PY, "-u", "-c", script],
                    "env": [
                        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}
                    ],
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "readinessProbe": {
                        "httpGet": {"path": "/healthz", "port": "http"},
                        "periodSeconds": 1,
                        "failureThreshold": 1,
                    },
                }
            ],
        },
    }
    async with await api_for(sim) as api:
        core = client.CoreV1Api(api)
        await core.create_namespaced_pod(NS, body)
        running = await wait_pod(core, "gated", lambda p: container_state(p) == "running")
        async with asyncio.timeout(20):  # the probe reached the server and got its 503
            while '"GET /healthz HTTP/1.1" 503' not in await core.read_namespaced_pod_log(
                "gated", NS
            ):
                await asyncio.sleep(0.1)
        pod = await core.read_namespaced_pod("gated", NS)
        assert pod.status.phase == "Running" and not is_ready(pod)
        assert pod.status.container_statuses[0].ready is False
        ready = next(c for c in pod.status.conditions if c.type == "Ready")
        assert (ready.status, ready.reason) == ("False", "ContainersNotReady")
        assert ready.message == "containers with unready status: [web]"
        marker.write_text("")
        pod = await wait_pod(core, "gated", is_ready)
        assert pod.status.container_statuses[0].ready is True
        assert pod.status.pod_ip == running.status.pod_ip
        log = await core.read_namespaced_pod_log("gated", NS)
        assert '"GET /healthz HTTP/1.1" 200' in log
        await core.delete_namespaced_pod("gated", NS)
        await wait_pod(core, "gated", lambda p: p is None)
