"""kubectl, unchanged, against kubesim through the kubeconfig it writes."""

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
import yaml

from kubesim.testing import pod_body, wait_for

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


async def kubectl_get_pods_watch(sim):
    """A running `kubectl get pods -w` with its output piped."""
    env = {**os.environ, "KUBECONFIG": str(sim.kubeconfig_path), "HOME": str(sim.state_dir)}
    return await asyncio.create_subprocess_exec(
        str(KUBECTL),
        "get",
        "pods",
        "-w",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )


async def test_get_watch_streams_changes(sim):
    process = await kubectl_get_pods_watch(sim)
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


def names(output: str) -> list[str]:
    """The names from `-o name` output, without the kind/ prefix."""
    return [line.split("/", 1)[1] for line in output.split()]


async def create_manifest(sim, body: dict) -> str:
    return await kubectl(sim, "create", "-f", "-", stdin=json.dumps(body).encode())


def configmap(name: str, data: dict | None = None, **metadata) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, **metadata},
        "data": data or {},
    }


async def test_get_with_field_selectors(sim):
    await sim.store.create("pods", pod_body("on-1", node="node-1"), "default")
    await sim.store.create("pods", pod_body("on-2", node="node-2"), "default")
    await sim.store.create("pods", pod_body("unbound"), "default")
    await sim.store.patch(
        "pods",
        "on-1",
        {"status": {"phase": "Running"}},
        "merge",
        "default",
        subresource="status",
    )
    by_node = await kubectl(
        sim, "get", "pods", "--field-selector", "spec.nodeName=node-2", "-o=name"
    )
    assert names(by_node) == ["on-2"]
    unbound = await kubectl(sim, "get", "pods", "--field-selector", "spec.nodeName=", "-o=name")
    assert names(unbound) == ["unbound"]
    chained = await kubectl(
        sim,
        "get",
        "pods",
        "--field-selector",
        "status.phase!=Running,metadata.name!=unbound",
        "-o=name",
    )
    assert names(chained) == ["on-2"]
    everywhere = await kubectl(
        sim, "get", "namespaces", "--field-selector", "metadata.name=kube-system", "-o=name"
    )
    assert names(everywhere) == ["kube-system"]
    # kube-apiserver's texts: pods have their own field list, configmaps the default one
    code, _, err = await kubectl(
        sim, "get", "pods", "--field-selector", "spec.bogus=x", check=False
    )
    assert code != 0 and "field label not supported: spec.bogus" in err
    code, _, err = await kubectl(sim, "get", "cm", "--field-selector", "data.a=b", check=False)
    assert code != 0
    assert (
        '"data.a" is not a known field selector: only "metadata.name", "metadata.namespace"' in err
    )


async def test_get_in_chunks_follows_continue_tokens(sim):
    for index in range(5):
        await sim.store.create("configmaps", configmap(f"c{index}", {"i": str(index)}), "default")
    sim.reset_counters()
    out = await kubectl(sim, "get", "configmaps", "--chunk-size=2", "-o=name")
    # the five, and the root CA publisher's kube-root-ca.crt
    expected = [f"c{index}" for index in range(5)] + ["kube-root-ca.crt"]
    assert names(out) == expected
    assert sim.requests("list", "configmaps") == 3  # 2 + 2 + 2, each after a continue token
    table = await kubectl(sim, "get", "configmaps", "--chunk-size=2")
    # one table: the header is printed once across the chunks
    assert [line.split()[0] for line in table.splitlines()] == ["NAME", *expected]
    sim.reset_counters()
    await kubectl(sim, "get", "configmaps", "-o=name")
    assert sim.requests("list", "configmaps") == 1


def deployment(name: str) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "image": "busybox:1.36",
                            "env": [{"name": "A", "value": "1"}],
                        },
                        {"name": "side", "image": "busybox:1.36"},
                    ]
                },
            },
        },
    }


async def test_patch_strategic_merge_and_json(sim):
    await create_manifest(sim, deployment("web"))

    async def current():
        return json.loads(await kubectl(sim, "get", "deployment", "web", "-o", "json"))

    # strategic merge (kubectl's default for built-in kinds): containers and env merge by name
    out = await kubectl(
        sim,
        "patch",
        "deployment",
        "web",
        "-p",
        json.dumps(
            {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [{"name": "main", "env": [{"name": "B", "value": "2"}]}]
                        }
                    }
                }
            }
        ),
    )
    assert out.strip() == "deployment.apps/web patched"
    web = await current()
    containers = web["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["main", "side"]
    # new keys go after the live ones (the real normalizeElementOrder)
    assert containers[0]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert web["metadata"]["generation"] == 2
    # JSON merge patch: a list is replaced as a whole; null deletes a key
    await kubectl(
        sim,
        "patch",
        "deployment",
        "web",
        "--type",
        "merge",
        "-p",
        json.dumps(
            {
                "metadata": {"labels": {"tier": "front"}},
                "spec": {
                    "template": {
                        "spec": {"containers": [{"name": "main", "image": "busybox:1.37"}]}
                    }
                },
            }
        ),
    )
    web = await current()
    assert [
        (c["name"], c["image"], c.get("env")) for c in web["spec"]["template"]["spec"]["containers"]
    ] == [("main", "busybox:1.37", None)]
    assert web["metadata"]["labels"] == {"tier": "front"}
    await kubectl(
        sim,
        "patch",
        "deployment",
        "web",
        "--type=merge",
        "-p",
        '{"metadata":{"labels":{"tier":null}}}',
    )
    assert "labels" not in (await current())["metadata"]
    # JSON patch: ops in order, a failing test op changes nothing
    ops = [
        {"op": "test", "path": "/spec/replicas", "value": 1},
        {"op": "replace", "path": "/spec/replicas", "value": 3},
        {"op": "add", "path": "/metadata/annotations", "value": {"note": "json"}},
    ]
    await kubectl(sim, "patch", "deployment", "web", "--type", "json", "-p", json.dumps(ops))
    web = await current()
    assert web["spec"]["replicas"] == 3 and web["metadata"]["annotations"]["note"] == "json"
    # the add replaced the map; the deployment controller may have put its revision back
    assert set(web["metadata"]["annotations"]) <= {"note", "deployment.kubernetes.io/revision"}
    code, _, err = await kubectl(
        sim, "patch", "deployment", "web", "--type", "json", "-p", json.dumps(ops), check=False
    )
    assert code != 0
    assert err.strip() == (
        "The request is invalid: the server rejected our request due to an error in our request"
    )
    assert (await current())["metadata"]["resourceVersion"] == web["metadata"]["resourceVersion"]


async def test_replace_with_a_stale_resource_version_conflicts(sim, tmp_path):
    await create_manifest(sim, configmap("settings", {"a": "1"}))
    stale = tmp_path / "settings.json"
    stale.write_text(await kubectl(sim, "get", "configmap", "settings", "-o", "json"))
    await kubectl(sim, "patch", "configmap", "settings", "-p", '{"data":{"a":"2"}}')
    code, _, err = await kubectl(sim, "replace", "-f", str(stale), check=False)
    assert code != 0
    assert err.strip() == (
        f'Error from server (Conflict): error when replacing "{stale}": Operation cannot be '
        'fulfilled on configmaps "settings": the object has been modified; please apply your '
        "changes to the latest version and try again"
    )
    assert sim.get("configmaps", "settings", "default")["data"] == {"a": "2"}
    # replace without a resourceVersion is unconditional
    fresh = json.loads(stale.read_text())
    del fresh["metadata"]["resourceVersion"]
    stale.write_text(json.dumps(fresh))
    assert "configmap/settings replaced" in await kubectl(sim, "replace", "-f", str(stale))
    assert sim.get("configmaps", "settings", "default")["data"] == {"a": "1"}


async def test_apply_creates_then_updates_three_way(sim, tmp_path):
    manifest = tmp_path / "app.yaml"
    manifest.write_text(
        yaml.safe_dump(configmap("applied", {"keep": "v1", "drop": "x"}, labels={"a": "1"}))
    )
    assert "configmap/applied created" in await kubectl(sim, "apply", "-f", str(manifest))
    created = sim.get("configmaps", "applied", "default")
    last_applied = created["metadata"]["annotations"][
        "kubectl.kubernetes.io/last-applied-configuration"
    ]
    assert json.loads(last_applied)["data"] == {"keep": "v1", "drop": "x"}
    # a change made by someone else, which apply's three-way merge must keep
    await kubectl(sim, "label", "configmap", "applied", "other=set")
    manifest.write_text(yaml.safe_dump(configmap("applied", {"keep": "v2"}, labels={"a": "1"})))
    assert "configmap/applied configured" in await kubectl(sim, "apply", "-f", str(manifest))
    updated = sim.get("configmaps", "applied", "default")
    assert updated["data"] == {"keep": "v2"}  # "drop" was in the last applied state: removed
    assert updated["metadata"]["labels"] == {"a": "1", "other": "set"}
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]
    assert "configmap/applied unchanged" in await kubectl(sim, "apply", "-f", str(manifest))


async def test_delete_with_grace_period_and_force(kubesim_factory):
    # the pause runtime's containers take 60 s to stop: the grace period ends them first
    sim = await kubesim_factory(nodes=1, delays={"terminating": 60})
    for name in ("slow", "forced"):
        await create_manifest(sim, pod_body(name))
        await kubectl(sim, "wait", "--for=condition=Ready", f"pod/{name}", "--timeout=30s")
    loop = asyncio.get_running_loop()
    started = loop.time()
    out = await kubectl(sim, "delete", "pod", "slow", "--grace-period=2", "--wait=false")
    assert out.strip() == 'pod "slow" deleted from default namespace'
    terminating = json.loads(await kubectl(sim, "get", "pod", "slow", "-o", "json"))
    assert terminating["metadata"]["deletionGracePeriodSeconds"] == 2
    assert "deletionTimestamp" in terminating["metadata"]
    table = await kubectl(sim, "get", "pod", "slow")
    assert table.splitlines()[1].split()[2] == "Terminating"
    await kubectl(sim, "wait", "--for=delete", "pod/slow", "--timeout=30s")
    assert loop.time() - started >= 1.9  # gone only once the grace period ran out
    _, _, err = await kubectl(
        sim, "delete", "pod", "forced", "--grace-period=0", "--force", check=False
    )
    assert "Immediate deletion does not wait for confirmation" in err
    assert sim.get("pods", "forced", "default") is None


async def test_delete_cascade_orphan_foreground_background(sim):
    async def owned(name: str, owner: str, **metadata) -> None:
        uid = sim.get("configmaps", owner, "default")["metadata"]["uid"]
        reference = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": owner,
            "uid": uid,
            "blockOwnerDeletion": True,
        }
        await create_manifest(sim, configmap(name, ownerReferences=[reference], **metadata))

    async def gone(name: str) -> None:
        await kubectl(sim, "wait", "--for=delete", f"configmap/{name}", "--timeout=20s")

    # orphan: the dependent stays, without its owner reference
    await create_manifest(sim, configmap("owner-o"))
    await owned("dep-o", "owner-o")
    await kubectl(sim, "delete", "configmap", "owner-o", "--cascade=orphan")
    await gone("owner-o")
    kept = json.loads(await kubectl(sim, "get", "configmap", "dep-o", "-o", "json"))
    assert "ownerReferences" not in kept["metadata"]
    # foreground: the owner waits (foregroundDeletion finalizer) for its blocking dependents
    await create_manifest(sim, configmap("owner-f"))
    await owned("dep-f", "owner-f", finalizers=["example.com/hold"])
    await kubectl(sim, "delete", "configmap", "owner-f", "--cascade=foreground", "--wait=false")
    # the garbage collector marks the dependent for deletion in its own time
    await wait_for(
        sim.store,
        "configmaps",
        "dep-f",
        "default",
        lambda o: o is not None and "deletionTimestamp" in o["metadata"],
    )
    owner = json.loads(await kubectl(sim, "get", "configmap", "owner-f", "-o", "json"))
    assert owner["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert "deletionTimestamp" in owner["metadata"]
    dependent = json.loads(await kubectl(sim, "get", "configmap", "dep-f", "-o", "json"))
    assert "deletionTimestamp" in dependent["metadata"]
    await kubectl(
        sim,
        "patch",
        "configmap",
        "dep-f",
        "--type=json",
        "-p",
        '[{"op":"remove","path":"/metadata/finalizers"}]',
    )
    await gone("dep-f")
    await gone("owner-f")
    # background (the default): the owner goes at once, the garbage collector follows
    await create_manifest(sim, configmap("owner-b"))
    await owned("dep-b", "owner-b")
    await kubectl(sim, "delete", "configmap", "owner-b")
    await gone("dep-b")


async def test_describe_unschedulable_pod_shows_failed_scheduling(kubesim_factory):
    sim = await kubesim_factory(nodes=2, node_memory="1Gi")
    body = pod_body("hungry")
    body["spec"]["containers"][0]["resources"] = {"requests": {"memory": "2Gi"}}
    await create_manifest(sim, body)
    await kubectl(sim, "wait", "--for=condition=PodScheduled=False", "pod/hungry", "--timeout=30s")
    described = await kubectl(sim, "describe", "pod", "hungry")
    assert "Status:           Pending" in described
    assert "Node:             <none>" in described
    events = described.split("Events:", 1)[1].splitlines()
    (failed,) = [line.split(None, 4) for line in events if "FailedScheduling" in line]
    assert (failed[0], failed[1], failed[3]) == ("Warning", "FailedScheduling", "default-scheduler")
    assert failed[4] == "0/2 nodes are available: 2 Insufficient memory."
    listed = await kubectl(
        sim, "get", "events", "--field-selector", "reason=FailedScheduling", "-o", "json"
    )
    (event,) = json.loads(listed)["items"]
    assert event["involvedObject"]["name"] == "hungry"


async def test_get_watch_ends_quietly_when_the_server_closes_the_stream(sim):
    # kubectl get -w does not re-establish a watch the server closed: it prints what it
    # saw and exits 0 (watchtools.UntilWithoutRetry; the error is not reported)
    process = await kubectl_get_pods_watch(sim)
    try:
        await sim.store.create("pods", pod_body("before-cut"), "default")
        header = await asyncio.wait_for(process.stdout.readline(), 20)
        assert header.split()[0] == b"NAME"
        row = await asyncio.wait_for(process.stdout.readline(), 20)
        assert row.split()[0] == b"before-cut"
        # a pod created now reaches kubectl through its watch: the stream is open
        await sim.store.create("pods", pod_body("while-watching"), "default")
        row = await asyncio.wait_for(process.stdout.readline(), 20)
        assert row.split()[0] == b"while-watching"
        assert sim.cut_watches("pods") == 1
        await asyncio.wait_for(process.wait(), 20)
        assert process.returncode == 0
        assert await process.stdout.read() == b""
        assert await process.stderr.read() == b""
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_raw_version_and_health(sim):
    raw = await kubectl(sim, "get", "--raw", "/version")
    version = json.loads(raw)
    assert (version["major"], version["minor"]) == ("1", "33")
    assert version["gitVersion"] == "v1.33.0-kubesim"
    assert raw.startswith('{\n  "major": "1",\n  "minor": "33",')  # indented, as the real one
    both = json.loads(await kubectl(sim, "version", "-o", "json"))
    assert both["serverVersion"]["gitVersion"] == "v1.33.0-kubesim"
    for path in ("/healthz", "/livez", "/readyz"):
        assert await kubectl(sim, "get", "--raw", path) == "ok"
    listed = json.loads(await kubectl(sim, "get", "--raw", "/api/v1/namespaces"))
    assert listed["kind"] == "NamespaceList"


async def test_protobuf_bodies_from_kubectl_create_keep_go_zero_values_out(sim):
    # kubectl's typed clients send these as protobuf, zero values included ("" and 0)
    await kubectl(sim, "create", "secret", "generic", "s", "--from-literal=a=b")
    await kubectl(sim, "create", "configmap", "c", "--from-literal=a=b")
    secret = json.loads(await kubectl(sim, "get", "--raw", "/api/v1/namespaces/default/secrets/s"))
    assert secret["type"] == "Opaque"  # defaulted, as for a JSON body without a type
    assert secret["data"] == {"a": "Yg=="}
    configmap_ = json.loads(
        await kubectl(sim, "get", "--raw", "/api/v1/namespaces/default/configmaps/c")
    )
    for meta in (secret["metadata"], configmap_["metadata"]):
        assert set(meta) == {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"}
    table = await kubectl(sim, "get", "secret", "s")
    assert table.splitlines()[1].split()[:3] == ["s", "Opaque", "1"]
