"""The node simulator seen through the API server with kubernetes_asyncio, as clients see it."""

import asyncio
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
