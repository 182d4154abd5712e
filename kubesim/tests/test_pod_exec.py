"""pods/exec and pods/attach over WebSocket: kubectl and kubernetes_asyncio, unchanged."""

import asyncio
import json
import os
from pathlib import Path

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.stream import WsApiClient

from kubesim.node.process_runtime import namespaces_available
from kubesim.testing import api_client_for, raw_request, wait_for

KUBECTL = Path(__file__).resolve().parents[2] / ".bin" / "kubectl"
needs_kubectl = pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl not installed")
needs_namespaces = pytest.mark.skipif(
    not namespaces_available(), reason="needs root with unshare (mount/PID namespaces)"
)
NS = "default"
SLEEPER = ["sh", "-c", "while true; do sleep 1; done"]


async def kubectl(sim, *args, stdin: bytes | None = None):
    env = {**os.environ, "KUBECONFIG": str(sim.kubeconfig_path), "HOME": str(sim.state_dir)}
    process = await asyncio.create_subprocess_exec(
        str(KUBECTL),
        *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), 60)
    return process.returncode, out.decode(), err.decode()


def ready(pod):
    conditions = {
        c["type"]: c["status"] for c in (pod or {}).get("status", {}).get("conditions", [])
    }
    return conditions.get("Ready") == "True"


async def running_pod(sim, name, command=SLEEPER, **container):
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "terminationGracePeriodSeconds": 2,
            "containers": [{"name": "main", "image": "busybox", "command": command, **container}],
        },
    }
    status, answer = await raw_request(sim, "POST", f"/api/v1/namespaces/{NS}/pods", body)
    assert status == 201, answer
    return await wait_for(sim.store, "pods", name, NS, ready, timeout=30)


@pytest.fixture
async def sim(kubesim_factory):
    return await kubesim_factory(nodes=1, runtime="process")


@pytest.fixture
async def ws_api(sim):
    plain = await api_client_for(sim)
    api = WsApiClient(plain.configuration)
    await plain.close()
    yield client.CoreV1Api(api)
    await api.close()


async def exec_frames(api, name, command, stdin_data=None, protocol="v4.channel.k8s.io", **q):
    """Raw channel messages of one exec (the way upstream KubeSpawner's tests read them)."""
    frames = []
    ws_manager = await api.connect_get_namespaced_pod_exec(
        name,
        NS,
        command=command,
        stdin=stdin_data is not None,
        stdout=True,
        stderr=True,
        tty=False,
        _preload_content=False,
        _request_timeout=30,
        _headers={"sec-websocket-protocol": protocol},
        **q,
    )
    async with ws_manager as ws:
        if stdin_data is not None:
            await ws.send_bytes(b"\x00" + stdin_data)
            if protocol.startswith("v5"):
                await ws.send_bytes(b"\xff\x00")  # v5: close stdin
        async for message in ws:
            frames.append((message.data[0], message.data[1:]))
    return ws.protocol, frames  # protocol: None, as aiohttp only sets it when it offered one


def channel(frames, number):
    return b"".join(data for ch, data in frames if ch == number)


@needs_kubectl
@needs_namespaces
async def test_kubectl_exec_prints_output_and_exits_with_the_commands_code(sim):
    await running_pod(sim, "web")
    code, out, err = await kubectl(sim, "exec", "web", "--", "sh", "-c", "echo hi; exit 3")
    assert (code, out) == (3, "hi\n"), err
    assert "command terminated with exit code 3" in err
    code, out, err = await kubectl(
        sim, "exec", "-i", "web", "--", "sh", "-c", "tr a-z A-Z", stdin=b"piped in\n"
    )
    assert (code, out) == (0, "PIPED IN\n"), err


@needs_kubectl
@needs_namespaces
async def test_exec_runs_like_the_container(sim, ws_api):
    """Same env, working dir, volumes at their mountPath, the container's PID namespace."""
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg"},
        "data": {"greeting": "hello"},
    }
    assert (await raw_request(sim, "POST", f"/api/v1/namespaces/{NS}/configmaps", config))[0] == 201
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "env"},
        "spec": {
            "volumes": [{"name": "cfg", "configMap": {"name": "cfg"}}],
            "containers": [
                {
                    "name": "main",
                    "image": "busybox",
                    "command": SLEEPER,
                    "workingDir": "/tmp",
                    "env": [{"name": "FOO", "value": "bar"}],
                    "volumeMounts": [{"name": "cfg", "mountPath": "/etc/kubesim-exec-test"}],
                }
            ],
        },
    }
    assert (await raw_request(sim, "POST", f"/api/v1/namespaces/{NS}/pods", body))[0] == 201
    await wait_for(sim.store, "pods", "env", NS, ready, timeout=30)
    script = "echo $FOO; pwd; cat /etc/kubesim-exec-test/greeting; echo; cat /proc/1/cmdline | tr '\\0' ' '"
    code, out, err = await kubectl(sim, "exec", "env", "--", "sh", "-c", script)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:3] == ["bar", "/tmp", "hello"]
    assert "kubesim-container" in out  # PID 1 is the container's init, not the host's
    assert not await asyncio.to_thread(os.path.exists, "/etc/kubesim-exec-test/greeting")


@needs_namespaces
async def test_python_client_gets_output_and_the_v4_status(sim, ws_api):
    await running_pod(sim, "py")
    text = await ws_api.connect_get_namespaced_pod_exec(
        "py", NS, command=["sh", "-c", "echo out; echo err >&2"], stderr=True, stdout=True
    )
    assert sorted(text.split()) == ["err", "out"]
    protocol, frames = await exec_frames(
        ws_api, "py", ["sh", "-c", "echo out; echo err >&2; exit 7"]
    )
    assert frames[0] == (1, b"")  # the kubelet's first, empty message
    assert (channel(frames, 1), channel(frames, 2)) == (b"out\n", b"err\n")
    status = json.loads(channel(frames, 3))
    assert WsApiClient.parse_error_data(channel(frames, 3)) == 7
    assert status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "7"}]
    _, frames = await exec_frames(ws_api, "py", ["true"])
    assert json.loads(channel(frames, 3)) == {"metadata": {}, "status": "Success"}


@needs_namespaces
async def test_v5_close_signal_ends_stdin(sim, ws_api):
    await running_pod(sim, "v5")
    _, frames = await exec_frames(
        ws_api, "v5", ["sh", "-c", "wc -c"], stdin_data=b"12345", protocol="v5.channel.k8s.io"
    )
    assert channel(frames, 1).strip() == b"5"
    assert json.loads(channel(frames, 3))["status"] == "Success"


@needs_namespaces
async def test_exec_errors_as_the_real_server_answers_them(sim, ws_api):
    await running_pod(sim, "err")
    _, frames = await exec_frames(ws_api, "err", ["no-such-program"])
    status = json.loads(channel(frames, 3))
    assert status["reason"] == "InternalError" and status["code"] == 500
    assert status["message"].startswith(
        "Internal error occurred: error executing command in container: failed to exec in "
        'container: failed to start exec "'
    )
    assert status["message"].endswith(
        "OCI runtime exec failed: exec failed: unable to start container process: exec: "
        '"no-such-program": executable file not found in $PATH: unknown'
    )
    path = f"/api/v1/namespaces/{NS}/pods/err/exec?command=true&stdout=1"
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket"}
    assert (await raw_request(sim, "GET", path + "&container=nope"))[1]["message"] == (
        "container nope is not valid for pod err"
    )
    status, answer = await raw_request(sim, "GET", path)
    assert (status, answer["message"]) == (400, "Upgrade request required")
    status, answer = await raw_request(
        sim, "GET", f"/api/v1/namespaces/{NS}/pods/err/exec?command=true"
    )
    assert status == 400  # nothing to stream
    status, answer = await raw_request(
        sim, "GET", f"/api/v1/namespaces/{NS}/pods/gone/exec?command=true"
    )
    assert (status, answer["message"]) == (404, 'pods "gone" not found')
    # a container that is not running: the kubelet's plain-text 500, passed through
    done = ["sh", "-c", "exit 0"]
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "done"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "busybox", "command": done}],
        },
    }
    assert (await raw_request(sim, "POST", f"/api/v1/namespaces/{NS}/pods", body))[0] == 201
    await wait_for(
        sim.store, "pods", "done", NS, lambda p: p["status"].get("phase") == "Succeeded", timeout=30
    )
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    headers = {**upgrade, "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": key}
    status, answer = await raw_request(
        sim, "GET", f"/api/v1/namespaces/{NS}/pods/done/exec?command=true&stdout=1", headers=headers
    )
    assert (status, answer) == (500, 'container not found ("main")')


async def test_exec_on_the_pause_runtime_fails_like_an_image_without_the_binary(kubesim_factory):
    sim = await kubesim_factory(nodes=1, runtime="pause")
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "paused"},
        "spec": {"containers": [{"name": "main", "image": "busybox"}]},
    }
    assert (await raw_request(sim, "POST", f"/api/v1/namespaces/{NS}/pods", body))[0] == 201
    await wait_for(sim.store, "pods", "paused", NS, ready, timeout=30)
    plain = await api_client_for(sim)
    api = WsApiClient(plain.configuration)
    await plain.close()
    try:
        _, frames = await exec_frames(client.CoreV1Api(api), "paused", ["sh"])
    finally:
        await api.close()
    status = json.loads(channel(frames, 3))
    assert status["reason"] == "InternalError"
    assert 'exec: "sh": executable file not found in $PATH: unknown' in status["message"]


@needs_namespaces
async def test_attach_reaches_the_main_process_stdio(sim, ws_api):
    """`stdin: true`: attach writes to the main process's stdin and reads its output."""
    await running_pod(
        sim, "cat", command=["sh", "-c", "while read line; do echo got $line; done"], stdin=True
    )
    ws_manager = await ws_api.connect_get_namespaced_pod_attach(
        "cat",
        NS,
        stdin=True,
        stdout=True,
        stderr=True,
        _preload_content=False,
        _headers={"sec-websocket-protocol": "v5.channel.k8s.io"},
    )
    received = b""
    async with ws_manager as ws:
        await ws.send_bytes(b"\x00hello\n")
        async with asyncio.timeout(20):
            async for message in ws:
                if message.data[0] == 1:
                    received += message.data[1:]
                if b"got hello" in received:
                    break
    assert b"got hello\n" in received
    # the container keeps running after the client left
    await asyncio.sleep(0.2)
    pod = sim.get("pods", "cat", NS)
    assert "running" in pod["status"]["containerStatuses"][0]["state"]


@needs_namespaces
async def test_exited_main_process_is_the_containers_exit_despite_a_setsid_child(sim):
    """`setsid sleep & exit 1`: the sleep keeps the output pipe, yet the container exits
    with 1 and restarts, and deleting the pod ends every process it started."""
    marker = "123.4567"
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "leaky"},
        "spec": {
            "terminationGracePeriodSeconds": 3,
            "containers": [
                {
                    "name": "main",
                    "image": "busybox",
                    "command": [
                        "sh",
                        "-c",
                        f"setsid sleep {marker} & (sh -c 'sleep {marker}' &) ; exit 1",
                    ],
                }
            ],
        },
    }
    assert (await raw_request(sim, "POST", f"/api/v1/namespaces/{NS}/pods", body))[0] == 201

    def restarted(pod):
        statuses = (pod or {}).get("status", {}).get("containerStatuses") or [{}]
        return statuses[0].get("restartCount", 0) >= 1

    pod = await wait_for(sim.store, "pods", "leaky", NS, restarted, timeout=30)
    last = pod["status"]["containerStatuses"][0]["lastState"]["terminated"]
    assert (last["exitCode"], last["reason"]) == (1, "Error")
    status, _ = await raw_request(sim, "DELETE", f"/api/v1/namespaces/{NS}/pods/leaky")
    assert status == 200
    async with asyncio.timeout(20):
        while sim.get("pods", "leaky", NS) is not None:
            await asyncio.sleep(0.05)
    assert not _processes_with(marker)


@needs_namespaces
async def test_deleting_a_pod_ends_its_double_forked_and_execd_processes(sim, ws_api):
    marker = "234.5678"
    await running_pod(
        sim, "forks", command=["sh", "-c", f"(setsid sleep {marker} &); exec sleep 1000"]
    )
    text = await ws_api.connect_get_namespaced_pod_exec(
        "forks",
        NS,
        command=["sh", "-c", f"setsid sleep {marker} > /dev/null 2>&1 & echo started"],
        stdout=True,
    )
    assert "started" in text
    assert len(_processes_with(marker)) >= 2  # the two sleeps (and maybe a finishing shell)
    status, _ = await raw_request(sim, "DELETE", f"/api/v1/namespaces/{NS}/pods/forks")
    assert status == 200
    async with asyncio.timeout(20):  # `sleep 1000` dies of SIGTERM: no wait for the grace period
        while sim.get("pods", "forks", NS) is not None:
            await asyncio.sleep(0.05)
    assert not _processes_with(marker)


def _processes_with(text: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    if text.encode() in cmdline.read():
                        found.append(int(entry))
            except OSError:
                pass
    return [pid for pid in found if pid != os.getpid()]
