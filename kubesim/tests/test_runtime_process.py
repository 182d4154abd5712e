"""The process runtime: real subprocesses with pod IPs, env, volumes, probes,
logs; what image rules add (the image's files, `pause`); Node.js servers on
the pod's own address; the mount order that keeps a state folder under /tmp
usable when a pod mounts an emptyDir at /tmp."""

import asyncio
import functools
import os
import shutil
import subprocess
import sys

import aiohttp
import pytest

from kubesim.api.tables import _service_row
from kubesim.model.errors import ApiError
from kubesim.node.node_settings import ImageRule
from kubesim.node.process_runtime import mount_order, namespaces_available
from kubesim.node.runtime import Mount
from kubesim.testing import wait_for, wait_gone

NS = "default"
PY = sys.executable


@pytest.fixture
def make_cluster(make_cluster):
    """conftest's node layer, with the process runtime unless a test names another."""
    return functools.partial(make_cluster, runtime="process")


def pod(name, *containers, **spec):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"containers": list(containers), **spec},
    }


def container(command, name="main", **extra):
    return {"name": name, "image": "python:3.11", "command": command, **extra}


def ready(p):
    conditions = {c["type"]: c["status"] for c in (p or {}).get("status", {}).get("conditions", [])}
    return conditions.get("Ready") == "True"


def terminated(p):
    statuses = (p or {}).get("status", {}).get("containerStatuses") or [{}]
    return statuses[0].get("state", {}).get("terminated")


def http_server(port=8888, **extra):
    return container([PY, "-m", "http.server", str(port), "--bind", "0.0.0.0"], **extra)


async def wait_for_log(sim, name, text, timeout=20):
    async with asyncio.timeout(timeout):
        while text not in await sim.read_log(NS, name):
            await asyncio.sleep(0.05)


async def get(url):
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def test_two_pods_serve_the_same_port_on_their_own_ip(make_cluster):
    store, _ = await make_cluster()
    probe = {"httpGet": {"path": "/", "port": 8888}, "periodSeconds": 1}
    for name in ("one", "two"):
        await store.create("pods", pod(name, http_server(readinessProbe=probe)))
    one = await wait_for(store, "pods", "one", NS, ready, timeout=20)
    two = await wait_for(store, "pods", "two", NS, ready, timeout=20)
    assert one["status"]["podIP"] != two["status"]["podIP"]
    for p in (one, two):
        status, _ = await get(f"http://{p['status']['podIP']}:8888/")
        assert status == 200


async def test_readiness_probe_gates_ready(make_cluster, tmp_path):
    store, _ = await make_cluster()
    marker = tmp_path / "go"
    # serves only after the marker file appears
    script = (
        "import os, time, http.server\n"
        f"while not os.path.exists({str(marker)!r}): time.sleep(0.05)\n"
        "http.server.HTTPServer((os.environ['POD_IP'], 8080), http.server.SimpleHTTPRequestHandler).serve_forever()\n"
    )
    env = [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]
    probe = {"httpGet": {"path": "/", "port": "web"}, "periodSeconds": 1, "failureThreshold": 1}
    c = container(
        [PY, "-c", script],
        env=env,
        readinessProbe=probe,
        ports=[{"name": "web", "containerPort": 8080}],
    )
    await store.create("pods", pod("gated", c))
    running = await wait_for(
        store,
        "pods",
        "gated",
        NS,
        lambda p: "running" in p["status"].get("containerStatuses", [{}])[0].get("state", {}),
        timeout=20,
    )
    await asyncio.sleep(0.3)
    current = store.peek("pods", "gated", NS)
    assert current["status"]["phase"] == "Running" and not ready(current)
    assert running["status"]["containerStatuses"][0]["ready"] is False
    ready_condition = next(c for c in current["status"]["conditions"] if c["type"] == "Ready")
    assert ready_condition["reason"] == "ContainersNotReady"
    assert ready_condition["message"] == "containers with unready status: [main]"
    marker.write_text("")
    await wait_for(store, "pods", "gated", NS, ready, timeout=20)


async def test_env_command_expansion_and_logs(make_cluster):
    store, sim = await make_cluster()
    await store.create(
        "secrets", {"metadata": {"name": "s", "namespace": NS}, "stringData": {"token": "t0k"}}
    )
    await store.create(
        "configmaps", {"metadata": {"name": "cm", "namespace": NS}, "data": {"greeting": "hello"}}
    )
    env = [
        {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "token"}}},
        {"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "greeting"}}},
        {"name": "URL", "value": "http://0.0.0.0:8888/$(NAME)"},
    ]
    script = "import os; print(os.environ['TOKEN'], os.environ['GREETING'], os.environ['URL'], flush=True); import sys; print('to stderr', file=sys.stderr)"
    await store.create(
        "pods",
        pod(
            "envy",
            container([PY, "-c", script], args=["$(GREETING)", "$$(GREETING)"], env=env),
            restartPolicy="Never",
        ),
    )
    done = await wait_for(store, "pods", "envy", NS, terminated, timeout=20)
    assert terminated(done)["exitCode"] == 0
    assert done["status"]["phase"] == "Succeeded"
    ip = done["status"]["podIP"]
    text = await sim.read_log(NS, "envy")
    assert text == f"t0k hello http://{ip}:8888/envy\nto stderr\n"
    assert (await sim.read_log(NS, "envy", tail_lines=1)) == "to stderr\n"


async def test_args_reach_the_process(make_cluster):
    store, sim = await make_cluster()
    env = [{"name": "WHO", "value": "world"}]
    c = container(
        [PY, "-c", "import sys; print(sys.argv[1:])"],
        args=["$(WHO)", "$$(WHO)", "$(NOPE)"],
        env=env,
    )
    await store.create("pods", pod("argv", c, restartPolicy="Never"))
    await wait_for(store, "pods", "argv", NS, terminated, timeout=20)
    assert await sim.read_log(NS, "argv") == "['world', '$(WHO)', '$(NOPE)']\n"


async def test_image_without_known_command_fails_clearly(make_cluster):
    store, _ = await make_cluster(delays={"crashloop_backoff": 5})
    await store.create("pods", pod("nocmd", {"name": "main", "image": "jupyter/minimal:1"}))
    waiting = await wait_for(
        store,
        "pods",
        "nocmd",
        NS,
        lambda p: (
            (
                p["status"].get("containerStatuses", [{}])[0].get("state", {}).get("waiting") or {}
            ).get("reason")
            == "CreateContainerError"
        ),
        timeout=20,
    )
    message = waiting["status"]["containerStatuses"][0]["state"]["waiting"]["message"]
    assert 'image "jupyter/minimal:1" has no known entrypoint' in message


async def test_network_admin_init_container_is_refused_not_run_on_the_host(make_cluster, tmp_path):
    # an iptables init container would rewrite this machine's own firewall
    store, _ = await make_cluster(delays={"crashloop_backoff": 5})
    ran = tmp_path / "ran"
    blocker = container(
        [PY, "-c", f"open({str(ran)!r}, 'w')"],
        name="block-cloud-metadata",
        securityContext={"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}},
    )
    main = container([PY, "-c", "import time; time.sleep(600)"])
    await store.create("pods", pod("netadmin", main, initContainers=[blocker]))

    def refused(p):
        statuses = (p or {}).get("status", {}).get("initContainerStatuses") or [{}]
        return (statuses[0].get("state", {}).get("waiting") or {}).get("reason") == (
            "CreateContainerError"
        )

    refused_pod = await wait_for(store, "pods", "netadmin", NS, refused, timeout=20)
    message = refused_pod["status"]["initContainerStatuses"][0]["state"]["waiting"]["message"]
    assert '"block-cloud-metadata" (NET_ADMIN, NET_RAW)' in message
    assert "blockWithIptables: false" in message
    assert not ran.exists()


async def test_image_rule_supplies_entrypoint_and_env(make_cluster):
    rule = {
        "image": "myimage:*",
        "command": [PY, "-c"],
        "args": ["print('cmd')"],
        "env": {"FROM_IMAGE": "yes"},
    }
    store, sim = await make_cluster(image_rules=[rule])
    await store.create(
        "pods", pod("ruled", {"name": "main", "image": "myimage:1"}, restartPolicy="Never")
    )
    await wait_for(store, "pods", "ruled", NS, terminated, timeout=20)
    assert await sim.read_log(NS, "ruled") == "cmd\n"
    args = ["import os; print(os.environ['FROM_IMAGE'])"]
    await store.create(
        "pods",
        pod("ruled2", {"name": "main", "image": "myimage:2", "args": args}, restartPolicy="Never"),
    )
    await wait_for(store, "pods", "ruled2", NS, terminated, timeout=20)
    assert await sim.read_log(NS, "ruled2") == "yes\n"


MOUNT_MODES = ["rewrite"] + (["namespace"] if namespaces_available() else [])


@pytest.mark.parametrize("mount_mode", MOUNT_MODES)
async def test_volumes_are_mounted_at_their_paths(make_cluster, mount_mode):
    store, sim = await make_cluster(mount_mode=mount_mode)
    await store.create(
        "secrets", {"metadata": {"name": "s", "namespace": NS}, "stringData": {"a": "A", "b": "B"}}
    )
    await store.create(
        "configmaps", {"metadata": {"name": "cm", "namespace": NS}, "data": {"x.yaml": "x: 1"}}
    )
    volumes = [
        {"name": "sec", "secret": {"secretName": "s", "items": [{"key": "b", "path": "sub/bee"}]}},
        {"name": "cfg", "configMap": {"name": "cm"}},
        {"name": "scratch", "emptyDir": {}},
    ]
    mounts = [
        {"name": "sec", "mountPath": "/etc/kubesim-test/secret", "readOnly": True},
        {"name": "cfg", "mountPath": "/etc/kubesim-test/config"},
        {"name": "scratch", "mountPath": "/srv/kubesim-test/scratch", "subPath": "deep"},
    ]
    script = (
        "import os\n"
        "print(open('/etc/kubesim-test/secret/sub/bee').read())\n"
        "print(sorted(os.listdir('/etc/kubesim-test/secret')))\n"
        "print(open('/etc/kubesim-test/config/x.yaml').read())\n"
        "open('/srv/kubesim-test/scratch/out', 'w').write('hi')\n"
        "print(os.getcwd())\n"
    )
    c = container([PY, "-c", script], volumeMounts=mounts, workingDir="/srv/kubesim-test/scratch")
    await store.create("pods", pod("vols", c, volumes=volumes, restartPolicy="Never"))
    done = await wait_for(store, "pods", "vols", NS, terminated, timeout=20)
    log = await sim.read_log(NS, "vols")
    assert terminated(done)["exitCode"] == 0, log
    emptydir = os.path.join(
        sim.state_dir, "pods", done["metadata"]["uid"], "volumes", "scratch", "deep", "out"
    )
    # rewrite mode: the process sees the host directory where the mountPath was
    cwd = "/srv/kubesim-test/scratch" if mount_mode == "namespace" else os.path.dirname(emptydir)
    assert log == f"B\n['sub']\nx: 1\n{cwd}\n"
    assert await asyncio.to_thread(lambda: open(emptydir).read()) == "hi"


async def test_pvc_data_survives_pod_recreation(make_cluster):
    store, sim = await make_cluster()
    claim = {
        "metadata": {"name": "home", "namespace": NS},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    await store.create("persistentvolumeclaims", claim)
    bound = await wait_for(
        store,
        "persistentvolumeclaims",
        "home",
        NS,
        lambda c: c["status"].get("phase") == "Bound",
        timeout=10,
    )
    pv = store.peek("persistentvolumes", bound["spec"]["volumeName"])
    assert pv["spec"]["claimRef"]["name"] == "home"
    assert pv["spec"]["storageClassName"] == "standard"
    assert pv["status"]["phase"] == "Bound"
    volumes = [{"name": "home", "persistentVolumeClaim": {"claimName": "home"}}]
    mounts = [{"name": "home", "mountPath": "/home/kubesim-test"}]
    script = (
        "import os\n"
        "p = '/home/kubesim-test/count'\n"
        "n = int(open(p).read()) if os.path.exists(p) else 0\n"
        "open(p, 'w').write(str(n + 1)); print(n + 1)\n"
    )
    for round_ in (1, 2):
        body = pod(
            "user",
            container([PY, "-c", script], volumeMounts=mounts),
            volumes=volumes,
            restartPolicy="Never",
        )
        await store.create("pods", body)
        await wait_for(store, "pods", "user", NS, terminated, timeout=20)
        assert await sim.read_log(NS, "user") == f"{round_}\n"
        await store.delete("pods", "user", NS)
        await wait_gone(store, "pods", "user", NS, timeout=10)


async def test_graceful_deletion_sends_sigterm_then_sigkill(make_cluster):
    store, sim = await make_cluster()
    polite = "import signal, sys, time\nsignal.signal(signal.SIGTERM, lambda *a: (print('bye', flush=True), sys.exit(0)))\nprint('up', flush=True)\ntime.sleep(600)\n"
    stubborn = "import signal, time\nsignal.signal(signal.SIGTERM, lambda *a: print('ignoring', flush=True))\nprint('up', flush=True)\ntime.sleep(600)\n"
    await store.create(
        "pods", pod("polite", container([PY, "-c", polite]), terminationGracePeriodSeconds=30)
    )
    await store.create(
        "pods", pod("stubborn", container([PY, "-c", stubborn]), terminationGracePeriodSeconds=1)
    )
    for name in ("polite", "stubborn"):
        await wait_for(store, "pods", name, NS, ready, timeout=20)
        await wait_for_log(sim, name, "up\n")  # its SIGTERM handler is installed
    worker = sim.kubelets["node-1"].worker_for(NS, "stubborn")
    pid = worker.handles["main"].pid
    finals = {}
    watch = store.watch("pods", NS, resource_version=store.resource_version)
    for name in ("polite", "stubborn"):
        await store.delete("pods", name, NS)
    async with asyncio.timeout(20):
        async for event_type, obj in watch:
            if event_type == "MODIFIED" and terminated(obj):
                finals[obj["metadata"]["name"]] = terminated(obj)
            if (
                event_type == "DELETED"
                and len(finals) == 2
                and store.peek("pods", "polite", NS) is None
                and store.peek("pods", "stubborn", NS) is None
            ):
                break
    watch.close()
    assert finals["polite"]["exitCode"] == 0
    assert finals["stubborn"]["exitCode"] == 137
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_crashing_process_restarts(make_cluster):
    store, sim = await make_cluster(delays={"crashloop_backoff": 0.1})
    c = container([PY, "-c", "print('run'); raise SystemExit(4)"])
    await store.create("pods", pod("crashy", c))
    looping = await wait_for(
        store,
        "pods",
        "crashy",
        NS,
        lambda p: p["status"].get("containerStatuses", [{}])[0].get("restartCount", 0) >= 2,
        timeout=20,
    )
    assert looping["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 4
    assert await sim.read_log(NS, "crashy", previous=True) == "run\n"


async def test_run_as_user(make_cluster):
    store, sim = await make_cluster()
    if sim.runtime.mode != "namespace":
        pytest.skip("runAsUser needs the namespace mode (root)")
    script = (
        "import os\n"
        "open(os.path.join(os.environ['HOME'], 'x'), 'w').write('home is writable')\n"
        "print(os.getuid(), os.getgid(), os.environ['HOME'])\n"
    )
    c = container([PY, "-c", script])
    await store.create(
        "pods",
        pod(
            "user", c, restartPolicy="Never", securityContext={"runAsUser": 1000, "runAsGroup": 100}
        ),
    )
    done = await wait_for(store, "pods", "user", NS, terminated, timeout=20)
    log = await sim.read_log(NS, "user")
    assert terminated(done)["exitCode"] == 0, log
    uid, gid, home = log.split()
    assert (uid, gid) == ("1000", "100")
    assert home == "/run/kubesim-home"


async def test_stop_leaves_no_process(make_cluster):
    store, sim = await make_cluster()
    child = "import subprocess, sys, time\nsubprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\nprint('up', flush=True); time.sleep(600)\n"
    await store.create("pods", pod("parent", container([PY, "-c", child])))
    await wait_for(store, "pods", "parent", NS, ready, timeout=20)
    pid = sim.kubelets["node-1"].worker_for(NS, "parent").handles["main"].pid
    await sim.stop()
    for _ in range(50):
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            break
        await asyncio.sleep(0.05)
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)


async def test_loopback_service_ip_forwards_to_ready_pods(make_cluster):
    store, sim = await make_cluster()
    probe = {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1}
    server = http_server(
        8080, ports=[{"name": "http", "containerPort": 8080}], readinessProbe=probe
    )
    body = pod("backend", server)
    body["metadata"]["labels"] = {"app": "backend"}
    await store.create("pods", body)
    service = {
        "metadata": {"name": "backend", "namespace": NS},
        "spec": {
            "clusterIP": "127.96.0.5",
            "selector": {"app": "backend"},
            "ports": [{"name": "web", "port": 80, "targetPort": "http"}],
        },
    }
    await store.create("services", service)
    far = {
        "metadata": {"name": "far", "namespace": NS},
        "spec": {"clusterIP": "10.96.7.7", "selector": {"app": "x"}, "ports": [{"port": 80}]},
    }
    await store.create("services", far)
    await wait_for(store, "pods", "backend", NS, ready, timeout=20)
    status, _ = await get("http://127.96.0.5:80/")
    assert status == 200
    script = "import os; print(sorted(k for k in os.environ if k.endswith('_SERVICE_HOST')))"
    await store.create("pods", pod("client", container([PY, "-c", script]), restartPolicy="Never"))
    await wait_for(store, "pods", "client", NS, terminated, timeout=20)
    # only the loopback Service: nothing in a pod may be pointed off this machine
    assert await sim.read_log(NS, "client") == "['BACKEND_SERVICE_HOST']\n"
    await store.delete("services", "backend", NS)
    async with asyncio.timeout(10):
        while (NS, "backend") in sim.kube_proxy.listeners:
            await asyncio.sleep(0.01)
    with pytest.raises(aiohttp.ClientConnectionError):
        await get("http://127.96.0.5:80/")


def exists_probe(path, **settings):
    check = f"import os, sys; sys.exit(0 if os.path.exists({str(path)!r}) else 1)"
    return {"exec": {"command": [PY, "-c", check]}, "periodSeconds": 1, **settings}


def container_status(p):
    return ((p or {}).get("status", {}).get("containerStatuses") or [{}])[0]


async def test_liveness_probe_failure_restarts_the_container(make_cluster, tmp_path):
    store, _ = await make_cluster(delays={"crashloop_backoff": 0.1})
    alive = tmp_path / "alive"
    alive.write_text("")
    sleeper = container(
        [PY, "-c", "import time; time.sleep(600)"],
        livenessProbe=exists_probe(alive, failureThreshold=1),
    )
    await store.create("pods", pod("liveness", sleeper, terminationGracePeriodSeconds=1))
    await wait_for(store, "pods", "liveness", NS, ready, timeout=20)
    alive.unlink()
    restarted = await wait_for(
        store,
        "pods",
        "liveness",
        NS,
        lambda p: container_status(p).get("restartCount", 0) >= 1,
        timeout=30,
    )
    assert container_status(restarted)["lastState"]["terminated"]["exitCode"] in (143, 137)
    events = store.list("events", NS, field_selector="involvedObject.name=liveness")[0]
    assert any(
        e["reason"] == "Killing"
        and e["message"] == "Container main failed liveness probe, will be restarted"
        for e in events
    )


async def test_startup_probe_holds_started_and_ready(make_cluster, tmp_path):
    store, _ = await make_cluster()
    up = tmp_path / "up"
    sleeper = container(
        [PY, "-c", "import time; time.sleep(600)"],
        startupProbe=exists_probe(up, failureThreshold=60),
    )
    await store.create("pods", pod("startup", sleeper))
    running = await wait_for(
        store,
        "pods",
        "startup",
        NS,
        lambda p: "running" in container_status(p).get("state", {}),
        timeout=20,
    )
    assert container_status(running)["started"] is False
    assert not ready(running)
    up.write_text("")
    started = await wait_for(store, "pods", "startup", NS, ready, timeout=20)
    assert container_status(started)["started"] is True


async def test_claim_data_survives_a_kubesim_restart(make_cluster, tmp_path):
    state = tmp_path / "persistent"
    claim = {
        "metadata": {"name": "home", "namespace": NS},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    volumes = [{"name": "home", "persistentVolumeClaim": {"claimName": "home"}}]
    mounts = [{"name": "home", "mountPath": "/home/kubesim-test"}]
    script = (
        "import os\n"
        "p = '/home/kubesim-test/notes'\n"
        "print(open(p).read() if os.path.exists(p) else 'empty')\n"
        "open(p, 'w').write('kept')\n"
    )
    for expected in ("empty", "kept"):
        store, sim = await make_cluster(state_dir=state)  # a new store: nothing carried over
        await store.create("persistentvolumeclaims", claim)
        body = pod("user", container([PY, "-c", script], volumeMounts=mounts), volumes=volumes)
        body["spec"]["restartPolicy"] = "Never"
        await store.create("pods", body)
        await wait_for(store, "pods", "user", NS, terminated, timeout=20)
        assert await sim.read_log(NS, "user") == f"{expected}\n"
        await sim.stop()


async def test_lifecycle_hooks(make_cluster, tmp_path):
    store, sim = await make_cluster()
    marks = tmp_path / "marks"
    marks.mkdir()
    marks.chmod(0o777)

    def touch(name):
        return {"exec": {"command": [PY, "-c", f"open({str(marks / name)!r}, 'w').close()"]}}

    main = container(
        [PY, "-c", "import time; print('up', flush=True); time.sleep(600)"],
        lifecycle={"postStart": touch("started"), "preStop": touch("stopping")},
    )
    await store.create("pods", pod("hooks", main, terminationGracePeriodSeconds=5))
    await wait_for(store, "pods", "hooks", NS, ready, timeout=20)
    assert (marks / "started").exists()
    assert not (marks / "stopping").exists()
    await store.delete("pods", "hooks", NS)
    await wait_gone(store, "pods", "hooks", NS, timeout=20)
    assert (marks / "stopping").exists()

    failing = container(
        [PY, "-c", "import time; time.sleep(600)"],
        lifecycle={"postStart": {"exec": {"command": ["false"]}}},
    )
    await store.create("pods", pod("badhook", failing, restartPolicy="Never"))
    done = await wait_for(store, "pods", "badhook", NS, terminated, timeout=20)
    assert done["status"]["phase"] == "Failed"
    events = store.list("events", NS, field_selector="involvedObject.name=badhook")[0]
    failed = [e for e in events if e["reason"] == "FailedPostStartHook"]
    assert failed and failed[0]["message"].startswith("Exec lifecycle hook (['false'])")


async def test_python_servers_binding_all_interfaces_get_their_pod_ip(make_cluster):
    store, _ = await make_cluster()
    probe = {"tcpSocket": {"port": 8888}, "periodSeconds": 1}
    # no --bind: http.server binds every interface, as many servers do by default
    for name in ("left", "right"):
        server = container([PY, "-m", "http.server", "8888"], readinessProbe=probe)
        await store.create("pods", pod(name, server))
    pods = [await wait_for(store, "pods", n, NS, ready, timeout=20) for n in ("left", "right")]
    for p in pods:
        status, _ = await get(f"http://{p['status']['podIP']}:8888/")
        assert status == 200


TORNADO_ALL_INTERFACES = """
import asyncio, tornado.web

class Hello(tornado.web.RequestHandler):
    def get(self):
        self.write("hello")

async def main():
    tornado.web.Application([("/", Hello)]).listen(8888, address="")  # 0.0.0.0 and ::
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_tornado_servers_on_an_empty_address_do_not_share_an_ipv6_port(make_cluster):
    store, _ = await make_cluster()
    probe = {"tcpSocket": {"port": 8888}, "periodSeconds": 1}
    # JupyterHub's hub_bind_url "http://:8081" (z2jh's) is such a bind
    for name in ("tornado-a", "tornado-b"):
        server = container([PY, "-c", TORNADO_ALL_INTERFACES], readinessProbe=probe)
        await store.create("pods", pod(name, server))
    names = ("tornado-a", "tornado-b")
    pods = [await wait_for(store, "pods", n, NS, ready, timeout=30) for n in names]
    for p in pods:
        status, _ = await get(f"http://{p['status']['podIP']}:8888/")
        assert status == 200


LOCALHOST_CLIENT = """
import sys, time, urllib.request
for _ in range(200):
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=2) as response:
            print("reached", response.status, response.read().decode()[:40], flush=True)
            break
    except OSError as error:
        time.sleep(0.1)
time.sleep(3600)
"""


async def test_localhost_in_a_pod_reaches_the_pods_own_ports_only(make_cluster):
    """A hub-managed service calling `localhost:8081` (z2jh's idle culler) meets its
    own pod's server, as in the pod's network namespace; a loopback port the pod does
    not declare still reaches the host (kubesim's API, a test's server)."""
    host = await asyncio.start_server(_answer_host, "127.0.0.1", 0)
    host_port = host.sockets[0].getsockname()[1]
    try:
        store, sim = await make_cluster()
        server = http_server(18932, ports=[{"containerPort": 18932}])
        own = container([PY, "-c", LOCALHOST_CLIENT, "http://localhost:18932/"], name="own")
        other = container(
            [PY, "-c", LOCALHOST_CLIENT, f"http://127.0.0.1:{host_port}/"], name="host"
        )
        await store.create("pods", pod("sidecars", server, own, other))
        async with asyncio.timeout(30):
            while "reached 200" not in await _log_so_far(sim, "sidecars", "own"):
                await asyncio.sleep(0.1)
            while "reached 200 from the host" not in await _log_so_far(sim, "sidecars", "host"):
                await asyncio.sleep(0.1)
    finally:
        host.close()


async def _log_so_far(sim, pod_name, container_name):
    try:
        return await sim.read_log(NS, pod_name, container_name)
    except ApiError:  # not started yet
        return ""


async def _answer_host(reader, writer):
    await reader.readuntil(b"\r\n\r\n")
    body = b"from the host"
    writer.write(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    await writer.drain()
    writer.close()


needs_namespaces = pytest.mark.skipif(
    not namespaces_available(), reason="bind mounts need root with unshare and setpriv"
)


@needs_namespaces
async def test_image_files_are_a_fresh_read_only_copy_with_volumes_inside(make_cluster, tmp_path):
    image = tmp_path / "image-files"
    image.mkdir()
    (image / "app.txt").write_text("from the image")
    rule = {"image": "files-image:*", "files": {"/opt/kubesim-img": str(image)}}
    store, sim = await make_cluster(image_rules=[rule])
    await store.create(
        "configmaps", {"metadata": {"name": "cm", "namespace": NS}, "data": {"c": "from cm"}}
    )
    script = (
        "cat /opt/kubesim-img/app.txt; echo; cat /opt/kubesim-img/conf/c; echo;"
        " touch /opt/kubesim-img/new 2>/dev/null && echo writable || echo read-only"
    )
    container = {
        "name": "main",
        "image": "files-image:1",
        "command": ["/bin/sh", "-c", script],
        "volumeMounts": [{"name": "conf", "mountPath": "/opt/kubesim-img/conf"}],
        "securityContext": {"readOnlyRootFilesystem": True},
    }
    volumes = [{"name": "conf", "configMap": {"name": "cm"}}]
    await store.create("pods", pod("files", container, volumes=volumes, restartPolicy="Never"))
    await wait_for(store, "pods", "files", NS, terminated, timeout=30)
    assert await sim.read_log(NS, "files") == "from the image\nfrom cm\nread-only\n"
    # the host's folders are untouched: no mount point made in the source, none on the host path
    assert sorted(p.name for p in image.iterdir()) == ["app.txt"]


async def test_an_image_rule_with_files_needs_absolute_paths():
    with pytest.raises(ValueError, match="absolute"):
        ImageRule.from_value({"image": "x", "files": {"/opt/a": "relative/dir"}})


async def test_a_paused_image_runs_without_a_process(make_cluster):
    store, sim = await make_cluster(image_rules=[{"image": "paused:*", "pause": True}])
    # no command anywhere: a process image would fail with CreateContainerError
    await store.create("pods", pod("paused", {"name": "main", "image": "paused:1"}))
    await wait_for(store, "pods", "paused", NS, ready, timeout=20)
    assert await sim.read_log(NS, "paused") == ""
    assert not sim.runtime.handles  # no process was started


@pytest.mark.skipif(not shutil.which("node"), reason="no node on this machine")
async def test_a_node_server_listening_everywhere_gets_the_pod_ip(make_cluster):
    store, _ = await make_cluster()
    code = "require('http').createServer((q, s) => s.end('hi')).listen(18931, '')"
    container = {"name": "main", "image": "node:22", "command": ["node", "-e", code]}
    probe = {"httpGet": {"path": "/", "port": 18931}, "periodSeconds": 1}
    await store.create("pods", pod("node", {**container, "readinessProbe": probe}))
    found = await wait_for(store, "pods", "node", NS, ready, timeout=30)
    ss = await asyncio.to_thread(subprocess.run, ["ss", "-ltnH"], capture_output=True, text=True)
    listening = ss.stdout
    assert f"{found['status']['podIP']}:18931" in listening
    assert "*:18931" not in listening and "0.0.0.0:18931" not in listening


def test_a_mount_that_would_hide_another_ones_source_goes_last():
    state = Mount("/tmp/state/pods/1/volumes/tmp", "/tmp")
    token = Mount("/tmp/state/pods/1/volumes/token", "/var/run/secrets/sa", True)
    config = Mount("/srv/state/config", "/etc/app")
    assert mount_order([state, token, config]) == [token, config, state]
    # unless another mount goes inside it: then it must come first
    inner = Mount("/tmp/state/x", "/tmp/inner")
    assert mount_order([state, inner]) == [state, inner]


def test_kubectl_shows_a_load_balancers_ingress_as_external_ip():
    svc = {
        "metadata": {"name": "lb"},
        "spec": {"type": "LoadBalancer", "clusterIP": "127.96.0.9", "ports": [{"port": 80}]},
    }
    assert _service_row(svc)[3] == "<pending>"
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}
    svc["spec"]["externalIPs"] = ["10.0.0.1"]
    assert _service_row(svc)[3] == "127.0.0.1,10.0.0.1"
