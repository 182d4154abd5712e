"""kubectl, unchanged, against kubesim through the kubeconfig it writes."""

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
import yaml

from kubesim.testing import pod_body

KUBECTL = Path(__file__).resolve().parents[2] / ".bin" / "kubectl"
pytestmark = pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl not installed (ci/setup)")


async def kubectl(sim, *args, stdin: bytes | None = None, check=True) -> str:
    env = {**os.environ, "KUBECONFIG": str(sim.kubeconfig_path), "HOME": str(sim.state_dir)}
    process = await asyncio.create_subprocess_exec(
        str(KUBECTL),
        *args,
        stdin=asyncio.subprocess.PIPE if stdin else None,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), 60)
    if check and process.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {err.decode()}")
    return out.decode() if check else (process.returncode, out.decode(), err.decode())


async def test_create_from_json_get_and_output_formats(sim, tmp_path):
    manifest = tmp_path / "pod.json"
    manifest.write_text(json.dumps(pod_body("web", {"app": "web"})))
    assert "pod/web created" in await kubectl(sim, "create", "-f", str(manifest))
    table = await kubectl(sim, "get", "pods")
    header, row = table.strip().splitlines()
    assert header.split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert row.split()[:4] == ["web", "0/1", "Pending", "0"]
    as_json = json.loads(await kubectl(sim, "get", "pod", "web", "-o", "json"))
    assert as_json["metadata"]["labels"] == {"app": "web"}
    as_yaml = yaml.safe_load(await kubectl(sim, "get", "pods", "-l", "app=web", "-o", "yaml"))
    assert [i["metadata"]["name"] for i in as_yaml["items"]] == ["web"]
    assert await kubectl(sim, "get", "pods", "-l", "app=other", "-o", "name") == ""
    out = await kubectl(
        sim,
        "create",
        "-f",
        "-",
        stdin=json.dumps(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "cfg"},
                "data": {"a": "1"},
            }
        ).encode(),
    )
    assert "configmap/cfg created" in out
    code, _, err = await kubectl(sim, "create", "-f", str(manifest), check=False)
    assert code != 0 and "AlreadyExists" in err


async def test_describe_shows_status_and_events(sim):
    await sim.store.create("pods", pod_body("d", node="node-1"), "default")
    pod = sim.get("pods", "d", "default")
    await sim.store.create(
        "events",
        {
            "metadata": {"name": "d.1"},
            "type": "Normal",
            "reason": "Scheduled",
            "message": "Successfully assigned default/d to node-1",
            "involvedObject": {
                "kind": "Pod",
                "name": "d",
                "namespace": "default",
                "uid": pod["metadata"]["uid"],
                "apiVersion": "v1",
            },
            "source": {"component": "default-scheduler"},
            "firstTimestamp": "2025-01-01T00:00:00Z",
            "lastTimestamp": "2025-01-01T00:00:00Z",
            "count": 1,
        },
        "default",
    )
    out = await kubectl(sim, "describe", "pod", "d")
    assert "Node:             node-1" in out
    assert "Successfully assigned default/d to node-1" in out


async def test_get_watch_streams_changes(sim):
    env = {**os.environ, "KUBECONFIG": str(sim.kubeconfig_path), "HOME": str(sim.state_dir)}
    process = await asyncio.create_subprocess_exec(
        str(KUBECTL),
        "get",
        "pods",
        "-w",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        await sim.store.create("pods", pod_body("w1"), "default")
        lines = []
        while len(lines) < 2:
            line = await asyncio.wait_for(process.stdout.readline(), 20)
            lines.append(line.decode())
        assert lines[0].split()[0] == "NAME"
        assert lines[1].split()[:3] == ["w1", "0/1", "Pending"]
        await sim.store.delete("pods", "w1", "default")
        line = await asyncio.wait_for(process.stdout.readline(), 20)
        assert line.split()[0] == b"w1"
    finally:
        process.terminate()
        await process.wait()


async def test_delete_and_missing(sim):
    await sim.store.create("pods", pod_body("x"), "default")
    assert 'pod "x" deleted' in await kubectl(sim, "delete", "pod", "x")
    assert sim.get("pods", "x", "default") is None
    code, _, err = await kubectl(sim, "get", "pod", "x", check=False)
    assert code != 0 and 'pods "x" not found' in err


async def test_logs_for_waiting_container_is_an_error(sim):
    await sim.store.create("pods", pod_body("l", node="node-1"), "default")
    status = {
        "phase": "Pending",
        "containerStatuses": [
            {
                "name": "main",
                "image": "busybox:1.36",
                "imageID": "",
                "ready": False,
                "restartCount": 0,
                "state": {"waiting": {"reason": "ContainerCreating"}},
            }
        ],
    }
    await sim.store.patch("pods", "l", {"status": status}, "merge", "default", subresource="status")
    code, _, err = await kubectl(sim, "logs", "l", check=False)
    assert code != 0 and "is waiting to start: ContainerCreating" in err


async def test_api_resources_and_all_namespaces(sim):
    out = await kubectl(sim, "api-resources")
    assert "deployments" in out and "poddisruptionbudgets" in out
    out = await kubectl(sim, "get", "namespaces")
    assert "kube-system" in out and "Active" in out


async def test_logs_and_describe_with_a_process_kubelet(kubesim_factory, tmp_path):
    sim = await kubesim_factory(nodes=1, runtime="process")
    body = pod_body("hello", restartPolicy="Never")
    body["spec"]["containers"][0]["command"] = [sys.executable, "-c", "print('hello from kubesim')"]
    manifest = tmp_path / "pod.json"
    manifest.write_text(json.dumps(body))
    await kubectl(sim, "create", "-f", str(manifest))
    await kubectl(
        sim, "wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/hello", "--timeout=60s"
    )
    assert await kubectl(sim, "logs", "hello") == "hello from kubesim\n"
    assert await kubectl(sim, "logs", "hello", "--tail=1") == "hello from kubesim\n"
    described = await kubectl(sim, "describe", "pod", "hello")
    assert "Status:           Succeeded" in described
    assert "Started" in described and "Scheduled" in described
    table = await kubectl(sim, "get", "pods")
    assert table.splitlines()[1].split()[:3] == ["hello", "0/1", "Completed"]
