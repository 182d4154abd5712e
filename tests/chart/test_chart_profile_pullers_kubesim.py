"""`helm upgrade --install` of the chart on kubesim with a GPU profile: the
pre-install hook's pullers run on the nodes their images are for, and the
hook's image-awaiter (the real program, in the Job's pod) waits for both, or
fails naming the GPU puller, its image and node when that image cannot be
pulled."""

import asyncio
import os
import signal

import pytest

from .chart_helpers import CHART, HELMS, ROOT

NS = "jhub"
GPU_IMAGE = "example.org/gpu-notebook:1"
AWAITER_IMAGE = "example.org/image-awaiter"
NODES = [
    {"name": "user-1"},
    {"name": "user-2"},
    {
        "name": "gpu-1",
        "labels": {"gpu": "true"},
        "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
    },
]
# The awaiter runs for real from .venv; the chart's long-running servers are
# not what this test is about, so they run without a process.
IMAGE_RULES = [
    {"image": f"{AWAITER_IMAGE}:*", "env": {"PATH": f"{ROOT}/.venv/bin:/usr/bin:/bin"}},
    *(
        {"image": image, "pause": True}
        for image in (
            "*/jupyterhub-k8s-hub:*",
            "*/configurable-http-proxy:*",
            "registry.k8s.io/kube-scheduler:*",
            "registry.k8s.io/pause:*",
        )
    ),
]
GPU_PROFILE = (
    'singleuser.profileList=[{"display_name": "GPU", "kubespawner_override": {'
    f'"image": "{GPU_IMAGE}", "node_selector": {{"gpu": "true"}},'
    ' "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}}]'
)


def helm_command(sim, *extra):
    return [
        str(HELMS["3"]),
        "upgrade",
        "--install",
        "jhub",
        str(CHART),
        "--namespace",
        NS,
        "--create-namespace",
        "--set-json",
        GPU_PROFILE,
        "--set",
        f"prePuller.hook.image.name={AWAITER_IMAGE}",
        "--set",
        "prePuller.hook.image.tag=1",
        "--set",
        "prePuller.continuous.enabled=false",
        "--timeout",
        "300s",
        *extra,
    ]


async def start_helm(sim, *extra):
    env = {
        **os.environ,
        "KUBECONFIG": str(sim.kubeconfig_path),
        "HOME": str(sim.state_dir),
        "HELM_CACHE_HOME": str(sim.state_dir / "helm-cache"),
    }
    return await asyncio.create_subprocess_exec(
        *helm_command(sim, *extra),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        start_new_session=True,
    )


def pods_of(sim, component):
    return sim.objects("pods", NS, label_selector=f"component={component}")


async def awaiter_logs(sim) -> str:
    return "".join(
        [
            await sim.nodes.read_log(NS, p["metadata"]["name"])
            for p in pods_of(sim, "hook-image-awaiter")
        ]
    )


async def cluster(kubesim_factory, gpu_image_rule):
    """The three nodes on the process runtime (the awaiter needs in-cluster HTTPS)."""
    return await kubesim_factory(
        nodes=NODES,
        runtime="process",
        https=True,
        delays={"image_pull_backoff": 0.2},
        image_rules=[*IMAGE_RULES, gpu_image_rule],
    )


def node_of(pod):
    terms = pod["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]
    return terms["nodeSelectorTerms"][0]["matchFields"][0]["values"][0]


@pytest.mark.timeout(400)
async def test_the_hook_pulls_each_image_on_its_nodes_and_waits_for_both(kubesim_factory):
    sim = await cluster(kubesim_factory, {"image": GPU_IMAGE, "pull_delay": 2})
    helm = await start_helm(sim)
    placed = {}  # component -> node -> images, as the hook's pods come and go

    async def record_pullers():
        while True:
            for pod in sim.objects("pods", NS):
                component = pod["metadata"]["labels"].get("component", "")
                if component.startswith("hook-image-puller"):
                    images = [c["image"] for c in pod["spec"]["initContainers"]]
                    placed.setdefault(component, {})[node_of(pod)] = images
            await asyncio.sleep(0.05)

    recorder = asyncio.create_task(record_pullers())
    try:
        _, err = await asyncio.wait_for(helm.communicate(), 360)
    finally:
        recorder.cancel()
    assert helm.returncode == 0, err.decode() + await awaiter_logs(sim)
    (gpu,) = set(placed) - {"hook-image-puller"}
    assert sorted(placed["hook-image-puller"]) == ["user-1", "user-2"]
    assert all(GPU_IMAGE not in images for images in placed["hook-image-puller"].values())
    assert placed[gpu] == {"gpu-1": [GPU_IMAGE]}
    # the hook finished only once the GPU node had pulled (its pod got Ready)
    events = sim.objects("events", NS)
    assert any(
        e.get("reason") == "Pulled" and GPU_IMAGE in (e.get("message") or "") for e in events
    ), "the GPU image was never pulled"


@pytest.mark.timeout(400)
async def test_a_gpu_image_that_cannot_be_pulled_fails_the_hook_naming_it(kubesim_factory):
    sim = await cluster(kubesim_factory, {"image": GPU_IMAGE, "pull_error": "manifest unknown"})
    helm = await start_helm(sim)
    try:
        for _ in range(1800):
            failed = [
                p
                for p in pods_of(sim, "hook-image-awaiter")
                if any(
                    (s.get("state") or {}).get("terminated", {}).get("exitCode") == 3
                    for s in (p.get("status") or {}).get("containerStatuses") or []
                )
            ]
            if failed:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the awaiter never exited with status 3")
        log = await sim.nodes.read_log(NS, failed[0]["metadata"]["name"])
        puller = next(
            d["metadata"]["name"]
            for d in sim.objects("daemonsets", NS)
            if d["metadata"]["name"].startswith("hook-image-puller-")
        )
        assert f"image {GPU_IMAGE} cannot be pulled on node gpu-1 (daemonset {puller})" in log
    finally:
        if helm.returncode is None:
            os.killpg(helm.pid, signal.SIGTERM)
        await helm.wait()
