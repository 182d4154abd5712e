"""Deployment rollouts over HTTP: Recreate, RollingUpdate within its limits, undo, deadlines."""

import json

import pytest

from kubesim.testing import wait_for

from .test_kubectl import KUBECTL, kubectl

pytestmark = pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl not installed (ci/setup)")


def deployment(strategy, replicas=2, image="busybox:1.36", **spec):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": replicas,
            "strategy": strategy,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": image}]},
            },
            **spec,
        },
    }


@pytest.fixture
async def dsim(kubesim_factory):
    # pods take a moment to become ready and to stop, so overlaps would show
    return await kubesim_factory(nodes=1, delays={"readiness": 0.1, "terminating": 0.2})


async def apply(sim, tmp_path, body):
    path = tmp_path / "deploy.json"
    path.write_text(json.dumps(body))
    await kubectl(sim, "apply", "-f", str(path))


def pods(sim):
    return sim.objects("pods", "default", label_selector="app=web")


def ready(pod):
    return not pod["metadata"].get("deletionTimestamp") and any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in pod["status"].get("conditions") or []
    )


def watch_pods(sim, record):
    def on_change(event_type, rt, obj, old):
        if rt.key == "pods":
            record(pods(sim))

    sim.store.on_change.append(on_change)
    return lambda: sim.store.on_change.remove(on_change)


async def test_recreate_removes_old_pods_before_making_new_ones(dsim, tmp_path):
    sim = dsim
    await apply(sim, tmp_path, deployment({"type": "Recreate"}))
    await kubectl(sim, "rollout", "status", "deploy/web", "--timeout=60s")
    first = {p["metadata"]["labels"]["pod-template-hash"] for p in pods(sim)}
    mixed = []
    stop = watch_pods(
        sim,
        lambda ps: mixed.append(len({p["metadata"]["labels"]["pod-template-hash"] for p in ps})),
    )
    await apply(sim, tmp_path, deployment({"type": "Recreate"}, image="busybox:1.37"))
    out = await kubectl(sim, "rollout", "status", "deploy/web", "--timeout=60s")
    stop()
    assert 'deployment "web" successfully rolled out' in out
    assert max(mixed) == 1  # never an old pod (terminating included) beside a new one
    now = pods(sim)
    assert len(now) == 2 and all(ready(p) for p in now)
    assert {p["metadata"]["labels"]["pod-template-hash"] for p in now}.isdisjoint(first)


async def test_rolling_update_honours_surge_and_readiness(dsim, tmp_path):
    sim = dsim
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    await apply(sim, tmp_path, deployment(strategy, replicas=3))
    await kubectl(sim, "rollout", "status", "deploy/web", "--timeout=60s")
    seen = []
    stop = watch_pods(
        sim,
        lambda ps: seen.append(
            (
                len([p for p in ps if not p["metadata"].get("deletionTimestamp")]),
                sum(1 for p in ps if ready(p)),
            )
        ),
    )
    await kubectl(sim, "rollout", "restart", "deploy/web")
    await kubectl(sim, "rollout", "status", "deploy/web", "--timeout=60s")
    stop()
    assert max(total for total, _ in seen) == 4  # replicas + maxSurge, never more
    assert min(up for _, up in seen) >= 3  # maxUnavailable 0: never fewer ready than replicas
    deploy = sim.get("deployments.apps", "web", "default")
    assert deploy["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    conditions = {c["type"]: c for c in deploy["status"]["conditions"]}
    assert conditions["Progressing"]["reason"] == "NewReplicaSetAvailable"
    assert conditions["Available"]["status"] == "True"

    await kubectl(sim, "rollout", "undo", "deploy/web")
    await kubectl(sim, "rollout", "status", "deploy/web", "--timeout=60s")

    def back_to_first(d):
        return d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"

    deploy = await wait_for(sim.store, "deployments.apps", "web", "default", back_to_first)
    annotations = deploy["spec"]["template"]["metadata"].get("annotations") or {}
    assert "kubectl.kubernetes.io/restartedAt" not in annotations
    revisions = sorted(
        rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        for rs in sim.objects("replicasets.apps", "default")
    )
    assert revisions == ["2", "3"]  # the first ReplicaSet came back as revision 3
    history = await kubectl(sim, "rollout", "history", "deploy/web")
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["2", "3"]


async def test_progress_deadline_fails_kubectl_rollout_status(dsim, tmp_path):
    sim = dsim
    sim.nodes.add_image_rule({"image": "broken/*", "pull_error": "not found"})
    await apply(
        sim,
        tmp_path,
        deployment(
            {"type": "Recreate"}, replicas=1, image="broken/app:1", progressDeadlineSeconds=1
        ),
    )
    code, _out, err = await kubectl(
        sim, "rollout", "status", "deploy/web", "--timeout=60s", check=False
    )
    assert code != 0 and 'deployment "web" exceeded its progress deadline' in err
    deploy = sim.get("deployments.apps", "web", "default")
    conditions = {c["type"]: c for c in deploy["status"]["conditions"]}
    assert conditions["Progressing"]["status"] == "False"
    assert conditions["Progressing"]["reason"] == "ProgressDeadlineExceeded"
    assert conditions["Available"]["status"] == "False"


async def test_min_ready_seconds_delays_availability(dsim, tmp_path):
    sim = dsim
    await apply(sim, tmp_path, deployment({"type": "Recreate"}, replicas=1, minReadySeconds=1))

    def ready_not_available(d):
        status = d.get("status") or {}
        return status.get("readyReplicas") == 1 and status.get("availableReplicas", 0) == 0

    await wait_for(sim.store, "deployments.apps", "web", "default", ready_not_available)
    await kubectl(sim, "rollout", "status", "deploy/web", "--timeout=60s")
    assert sim.get("deployments.apps", "web", "default")["status"]["availableReplicas"] == 1
