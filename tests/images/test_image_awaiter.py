"""image-awaiter against kubesim: waits for the nodes that can run the puller, no others.

Most tests turn kubesim's controllers off and play the DaemonSet controller
themselves: they create the DaemonSet's pods, owned by the DaemonSet, on the
nodes the real controller would pick, so they can shape states the controller
passes through too quickly to catch (no pods yet, a pod that never gets a
node, a status written by hand). kubesim's kubelets then pull (with a delay)
and run them. The last test lets kubesim's DaemonSet controller place them.
"""

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from k8s_helpers.image_awaiter import Awaiter, main, parse_args
from kubernetes_asyncio.client import AppsV1Api, CoreV1Api

HUB_IMAGE_DIR = Path(__file__).resolve().parents[2] / "images" / "hub"

NAMESPACE = "default"
PULLER = "hook-image-puller"
SLOW_IMAGE = "registry.example/user-image:slow"
LABELS = {"app": "jupyterhub", "component": PULLER}


def user_node(name, **extra):
    return {"name": name, "labels": {"purpose": "user"}, **extra}


NODES = [
    user_node("user-1"),
    user_node("user-2"),
    {"name": "core-1", "labels": {"purpose": "core"}},  # nodeSelector does not match
    user_node("gpu-1", taints=[{"key": "gpu", "value": "yes", "effect": "NoSchedule"}]),
    user_node("cordoned"),  # the test cordons it
    user_node("lost"),  # its kubelet stops reporting: NotReady
]


def daemonset_body(pod_spec_extra=None):
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": PULLER, "labels": LABELS},
        "spec": {
            "selector": {"matchLabels": LABELS},
            "template": {
                "metadata": {"labels": LABELS},
                "spec": {
                    "nodeSelector": {"purpose": "user"},
                    "initContainers": [{"name": "image-0", "image": SLOW_IMAGE}],
                    "containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10"}],
                    **(pod_spec_extra or {}),
                },
            },
        },
    }


async def create_puller_pod(core, daemonset, node, **spec_extra):
    """What the DaemonSet controller does for one node."""
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{PULLER}-{node}",
            "labels": {**LABELS, "pod-template-generation": str(daemonset.metadata.generation)},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "DaemonSet",
                    "name": PULLER,
                    "uid": daemonset.metadata.uid,
                    "controller": True,
                }
            ],
        },
        "spec": {
            "initContainers": [{"name": "image-0", "image": SLOW_IMAGE}],
            "containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10"}],
            **spec_extra,
        },
    }
    if "affinity" not in spec_extra:
        body["spec"]["nodeName"] = node
    return await core.create_namespaced_pod(NAMESPACE, body)


async def eventually(check, what, attempts=200):
    for _ in range(attempts):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def pod_ready(core, name):
    pod = await core.read_namespaced_pod(name, NAMESPACE)
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


@pytest.fixture
async def cluster(kubesim_factory):
    return await kubesim_factory(
        controllers=False,
        nodes=NODES,
        delays={"node_monitor_grace": 0.2},
        image_rules=[{"image": SLOW_IMAGE, "pull_delay": 1.0}],
    )


@pytest.fixture
async def api(cluster):
    from kubesim.testing import api_client_for

    async with await api_client_for(cluster) as client:
        yield client


async def cordon_one_and_lose_one(cluster, core):
    """Cordon node 'cordoned'; stop the kubelet of 'lost' until it turns NotReady."""
    await core.patch_node("cordoned", {"spec": {"unschedulable": True}})
    cluster.nodes.pause_kubelet("lost")

    async def lost_is_not_ready():
        node = await core.read_node("lost")
        return any(c.type == "Ready" and c.status != "True" for c in node.status.conditions)

    await eventually(lost_is_not_ready, "node 'lost' turns NotReady")


async def test_waits_for_every_node_that_can_run_it_and_skips_the_rest(cluster, api, caplog):
    core, apps = CoreV1Api(api), AppsV1Api(api)
    await cordon_one_and_lose_one(cluster, core)
    daemonset = await apps.create_namespaced_daemon_set(NAMESPACE, daemonset_body())

    caplog.set_level("INFO", logger="image-awaiter")
    awaiter = Awaiter(api, NAMESPACE, PULLER)
    waiting = asyncio.create_task(awaiter.wait(interval=0.05, timeout=60))
    # With no pods yet it keeps looking rather than finishing.
    before = cluster.requests("list", "pods")

    async def looked_three_times():
        return cluster.requests("list", "pods") >= before + 3

    await eventually(looked_three_times, "the awaiter polls")
    assert not waiting.done()

    # The controller's placement: every node matching the selector and
    # tolerated, cordoned and NotReady ones included.
    for node in ("user-1", "user-2", "cordoned", "lost"):
        await create_puller_pod(core, daemonset, node)
    assert await asyncio.wait_for(waiting, 60) is True

    # It finished only once the images were pulled on both user nodes ...
    assert await pod_ready(core, f"{PULLER}-user-1")
    assert await pod_ready(core, f"{PULLER}-user-2")
    # ... without hanging on the node whose pod can never become ready.
    assert not await pod_ready(core, f"{PULLER}-lost")
    log = caplog.text
    assert "not waiting for node core-1: nodeSelector purpose=user does not match" in log
    assert "not waiting for node gpu-1: taint gpu=yes:NoSchedule is not tolerated" in log
    assert "not waiting for node cordoned: cordoned" in log
    assert "not waiting for node lost: not Ready" in log
    assert "ready on all 2 nodes that can run it" in log


async def test_a_pod_that_never_gets_a_node_is_given_up_after_the_wait_duration(cluster, api):
    core, apps = CoreV1Api(api), AppsV1Api(api)
    only_user_1 = {"nodeSelector": {"kubernetes.io/hostname": "user-1"}}
    daemonset = await apps.create_namespaced_daemon_set(NAMESPACE, daemonset_body(only_user_1))
    # Pinned to user-1 the way current DaemonSets pin pods, but asking for
    # more CPU than the node has: the scheduler leaves it Pending.
    await create_puller_pod(
        core,
        daemonset,
        "user-1",
        affinity={
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchFields": [
                                {"key": "metadata.name", "operator": "In", "values": ["user-1"]}
                            ]
                        }
                    ]
                }
            }
        },
        containers=[
            {
                "name": "pause",
                "image": "registry.k8s.io/pause:3.10",
                "resources": {"requests": {"cpu": "64"}},
            }
        ],
    )
    patient = Awaiter(api, NAMESPACE, PULLER, scheduling_wait=-1)
    assert await patient.wait(interval=0.05, timeout=1.0) is False
    giving_up = Awaiter(api, NAMESPACE, PULLER, scheduling_wait=0.5)
    assert await giving_up.wait(interval=0.05, timeout=30) is True
    pod = await core.read_namespaced_pod(f"{PULLER}-user-1", NAMESPACE)
    assert pod.spec.node_name is None  # still pending: it was given up, not waited out


async def test_without_node_access_it_goes_by_the_daemonsets_status(cluster, api, caplog):
    apps = AppsV1Api(api)
    await apps.create_namespaced_daemon_set(NAMESPACE, daemonset_body())
    cluster.faults.fail(verb="list", resource="nodes", status=403)

    async def set_status(ready):
        status = {
            "currentNumberScheduled": 2,
            "desiredNumberScheduled": 2,
            "updatedNumberScheduled": 2,
            "numberMisscheduled": 0,
            "numberReady": ready,
            "observedGeneration": 1,
        }
        await apps.patch_namespaced_daemon_set_status(PULLER, NAMESPACE, {"status": status})

    await set_status(ready=1)
    awaiter = Awaiter(api, NAMESPACE, PULLER)
    assert await awaiter.wait(interval=0.05, timeout=0.5) is False
    assert not awaiter.can_list_nodes
    assert "not allowed to list nodes" in caplog.text
    await set_status(ready=2)
    assert await awaiter.wait(interval=0.05, timeout=30) is True


async def test_runs_as_a_program_and_times_out_with_status_1_while_the_daemonset_is_missing(
    cluster,
):
    """The one test through a fresh interpreter: `python -m` as the Job runs it."""
    result = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "k8s_helpers.image_awaiter",
            "--kubeconfig",
            str(cluster.kubeconfig_path),
            "--daemonset",
            "nope",
            "--interval",
            "0.1",
            "--timeout",
            "0.5",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(HUB_IMAGE_DIR), "POD_NAMESPACE": NAMESPACE},
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "daemonset nope in namespace default does not exist yet" in result.stderr
    assert "timed out" in result.stderr


async def test_command_line_says_which_permission_is_missing(cluster, api, caplog):
    await AppsV1Api(api).create_namespaced_daemon_set(NAMESPACE, daemonset_body())
    cluster.faults.fail(verb="get", resource="daemonsets", status=403)
    argv = ["--kubeconfig", str(cluster.kubeconfig_path), "--namespace", NAMESPACE]
    assert await asyncio.to_thread(main, [*argv, "--daemonset", PULLER]) == 2
    assert "grant get on daemonsets.apps and list on pods" in caplog.text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--interval", "0"], "--interval must be positive, not 0.0"),
        (["--timeout", "-1"], "--timeout must be 0 (never) or positive, not -1.0"),
    ],
)
def test_command_line_rejects_bad_numbers(args, message, capsys):
    with pytest.raises(SystemExit) as exited:
        parse_args(args)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


async def test_with_the_daemonset_controller_it_waits_for_the_pulls(kubesim_factory, caplog):
    cluster = await kubesim_factory(
        nodes=NODES,
        delays={"node_monitor_grace": 0.2},
        image_rules=[{"image": SLOW_IMAGE, "pull_delay": 1.0}],
    )
    from kubesim.testing import api_client_for

    async with await api_client_for(cluster) as api:
        core, apps = CoreV1Api(api), AppsV1Api(api)
        await cordon_one_and_lose_one(cluster, core)
        await apps.create_namespaced_daemon_set(NAMESPACE, daemonset_body())
        caplog.set_level("INFO", logger="image-awaiter")
        assert await Awaiter(api, NAMESPACE, PULLER).wait(interval=0.05, timeout=60) is True
        pods = (
            await core.list_namespaced_pod(NAMESPACE, label_selector="component=" + PULLER)
        ).items
        placed = {
            p.spec.affinity.node_affinity.required_during_scheduling_ignored_during_execution.node_selector_terms[
                0
            ]
            .match_fields[0]
            .values[0]: p
            for p in pods
        }
        # the controller's placement: the cordoned node included (its taint is tolerated by
        # default), the unreachable one not (its unreachable:NoSchedule taint is not)
        assert sorted(placed) == ["cordoned", "user-1", "user-2"]
        for node in ("user-1", "user-2"):
            assert await pod_ready(core, placed[node].metadata.name)
        assert "ready on all 2 nodes that can run it" in caplog.text


BROKEN_IMAGE = "registry.example/user-image:no-such-tag"


@pytest.fixture
async def broken_cluster(kubesim_factory):
    return await kubesim_factory(
        nodes=[user_node("user-1"), user_node("user-2")],
        delays={"image_pull_backoff": 0.2},
        image_rules=[{"image": BROKEN_IMAGE, "pull_error": "manifest unknown"}],
    )


async def test_an_image_that_cannot_be_pulled_fails_fast_naming_image_and_node(
    broken_cluster, caplog
):
    """Exit 3 within the grace period, not helm's timeout, with the kubelet's reason."""
    from kubesim.testing import api_client_for

    async with await api_client_for(broken_cluster) as api:
        apps = AppsV1Api(api)
        broken = {"initContainers": [{"name": "image-0", "image": BROKEN_IMAGE}]}
        # kubesim's DaemonSet controller makes the pods, one per user node.
        await apps.create_namespaced_daemon_set(NAMESPACE, daemonset_body(broken))
        argv = ["--kubeconfig", str(broken_cluster.kubeconfig_path), "--namespace", NAMESPACE]
        argv += ["--daemonset", PULLER, "--interval", "0.05", "--timeout", "60"]
        argv += ["--image-pull-error-grace", "0.5"]
        started = asyncio.get_running_loop().time()
        assert await asyncio.to_thread(main, argv) == 3
        assert asyncio.get_running_loop().time() - started < 30
    log = caplog.text
    assert re.search(rf"image {re.escape(BROKEN_IMAGE)} cannot be pulled on node user-[12]", log)
    assert "manifest unknown" in log or "ImagePullBackOff" in log
    assert "singleuser.image" in log  # says where to fix it


def test_a_pull_that_recovers_within_the_grace_period_is_not_a_failure():
    from k8s_helpers.image_awaiter import CannotPull, PullFailure, PullWatch

    pulls = PullWatch(grace=10)
    failing = PullFailure("user-1", "image-0", BROKEN_IMAGE, "ErrImagePull", "timeout")
    pulls.check([failing], now=0)
    pulls.check([], now=5)  # the kubelet's retry worked
    # Failing again later starts a new grace period rather than continuing the old one.
    pulls.check([failing], now=12)
    pulls.check([failing], now=21)
    with pytest.raises(CannotPull, match="cannot be pulled on node user-1"):
        pulls.check([failing], now=22)


# ----- several pullers: the default one and a GPU profile's ---------------------

GPU_PULLER = "hook-image-puller-0123abcd"
GPU_IMAGE = "registry.example/gpu-image:slow"
GPU_SCHEDULING = {
    "nodeSelector": {"purpose": "user"},
    "tolerations": [{"key": "gpu", "operator": "Equal", "value": "yes", "effect": "NoSchedule"}],
    "affinity": {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}]
            }
        }
    },
}
GPU_NODES = [
    user_node("user-1"),
    user_node("user-2"),
    user_node(
        "gpu-1",
        labels={"purpose": "user", "gpu": "yes"},
        taints=[{"key": "gpu", "value": "yes", "effect": "NoSchedule"}],
    ),
]


def gpu_daemonset_body():
    """A profile puller as the chart renders it: its own name, selector and scheduling."""
    labels = {"app": "jupyterhub", "component": GPU_PULLER}
    body = daemonset_body(
        {**GPU_SCHEDULING, "initContainers": [{"name": "image-0", "image": GPU_IMAGE}]}
    )
    body["metadata"] = {"name": GPU_PULLER, "labels": labels}
    body["spec"]["selector"] = {"matchLabels": labels}
    body["spec"]["template"]["metadata"] = {"labels": labels}
    return body


async def placed_on(core, component):
    pods = (
        await core.list_namespaced_pod(NAMESPACE, label_selector="component=" + component)
    ).items
    return sorted(
        p.spec.affinity.node_affinity.required_during_scheduling_ignored_during_execution.node_selector_terms[
            0
        ]
        .match_fields[0]
        .values[0]
        for p in pods
    )


async def test_waits_for_every_puller_each_on_its_own_nodes(kubesim_factory, caplog):
    cluster = await kubesim_factory(
        nodes=GPU_NODES,
        image_rules=[
            {"image": SLOW_IMAGE, "pull_delay": 0.5},
            {"image": GPU_IMAGE, "pull_delay": 1.5},
        ],
    )
    from kubesim.testing import api_client_for

    async with await api_client_for(cluster) as api:
        core, apps = CoreV1Api(api), AppsV1Api(api)
        await apps.create_namespaced_daemon_set(NAMESPACE, daemonset_body())
        await apps.create_namespaced_daemon_set(NAMESPACE, gpu_daemonset_body())
        caplog.set_level("INFO", logger="image-awaiter")
        argv = ["--kubeconfig", str(cluster.kubeconfig_path), "--namespace", NAMESPACE]
        argv += ["--daemonset", PULLER, "--daemonset", GPU_PULLER, "--interval", "0.05"]
        assert await asyncio.to_thread(main, [*argv, "--timeout", "60"]) == 0
        # the default images on the untainted user nodes, the GPU image only on the GPU node
        assert await placed_on(core, PULLER) == ["user-1", "user-2"]
        assert await placed_on(core, GPU_PULLER) == ["gpu-1"]
        # done only once the slower GPU pull finished too
        (gpu_pod,) = (
            await core.list_namespaced_pod(NAMESPACE, label_selector="component=" + GPU_PULLER)
        ).items
        assert await pod_ready(core, gpu_pod.metadata.name)
    log = caplog.text
    assert f"daemonset {PULLER}: ready on all 2 nodes that can run it" in log
    assert f"daemonset {GPU_PULLER}: ready on all 1 nodes that can run it" in log


async def test_a_profile_image_that_cannot_be_pulled_names_its_daemonset(kubesim_factory, caplog):
    cluster = await kubesim_factory(
        nodes=GPU_NODES,
        delays={"image_pull_backoff": 0.2},
        image_rules=[
            {"image": SLOW_IMAGE, "pull_delay": 0.1},
            {"image": GPU_IMAGE, "pull_error": "manifest unknown"},
        ],
    )
    from kubesim.testing import api_client_for

    async with await api_client_for(cluster) as api:
        apps = AppsV1Api(api)
        await apps.create_namespaced_daemon_set(NAMESPACE, daemonset_body())
        await apps.create_namespaced_daemon_set(NAMESPACE, gpu_daemonset_body())
        argv = ["--kubeconfig", str(cluster.kubeconfig_path), "--namespace", NAMESPACE]
        argv += ["--daemonset", PULLER, "--daemonset", GPU_PULLER, "--interval", "0.05"]
        argv += ["--timeout", "60", "--image-pull-error-grace", "0.5"]
        assert await asyncio.to_thread(main, argv) == 3
    assert (
        f"image {GPU_IMAGE} cannot be pulled on node gpu-1 (daemonset {GPU_PULLER})" in caplog.text
    )
