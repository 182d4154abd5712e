"""Opt-in workload controllers: Deployments, ReplicaSets, StatefulSets and Jobs make pods."""

import asyncio

import pytest


def workload(kind, name, replicas=2, **spec):
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]},
            },
            **spec,
        },
    }


async def eventually(check, timeout=20.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.05)


@pytest.fixture
async def csim(kubesim_factory):
    return await kubesim_factory(nodes=1, controllers=True)


def ready_pods(sim, selector):
    return [
        p
        for p in sim.objects("pods", "default", label_selector=selector)
        if any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in (p.get("status") or {}).get("conditions") or []
        )
        and not p["metadata"].get("deletionTimestamp")
    ]


async def test_deployment_rolls_out_scales_and_updates(csim):
    sim = csim
    await sim.store.create("deployments.apps", workload("Deployment", "web"), "default")

    def available(n):
        d = sim.get("deployments.apps", "web", "default")
        status = d.get("status") or {}
        return (
            status.get("availableReplicas") == n
            and status.get("replicas") == n
            and status.get("observedGeneration") == d["metadata"]["generation"]
        )

    await eventually(lambda: available(2))
    (rs,) = sim.objects("replicasets.apps", "default")
    assert rs["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    assert len(ready_pods(sim, "app=web")) == 2
    await sim.store.patch("deployments.apps", "web", {"spec": {"replicas": 3}}, "merge", "default")
    await eventually(lambda: available(3))
    await sim.store.patch(
        "deployments.apps",
        "web",
        {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:1.37"}]}}}},
        "strategic",
        "default",
    )
    await eventually(
        lambda: (
            available(3)
            and len(ready_pods(sim, "app=web")) == 3
            and all(
                p["spec"]["containers"][0]["image"] == "busybox:1.37"
                for p in ready_pods(sim, "app=web")
            )
        )
    )
    assert len(sim.objects("replicasets.apps", "default")) == 2
    await sim.store.delete("deployments.apps", "web", "default")
    await eventually(
        lambda: (
            not sim.objects("pods", "default", label_selector="app=web")
            and not sim.objects("replicasets.apps", "default")
        )
    )


async def test_an_updated_template_is_defaulted_like_its_replicaset(csim):
    """kube-apiserver defaults every write: helm --wait finds a Deployment's new
    ReplicaSet by comparing the two templates, so a template replaced without
    defaults must equal the ReplicaSet the controller makes from it."""
    sim = csim
    await sim.store.create("deployments.apps", workload("Deployment", "tpl", 1), "default")
    changed = workload("Deployment", "tpl", 1)
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:1.37"
    stored = sim.get("deployments.apps", "tpl", "default")
    changed["metadata"]["resourceVersion"] = stored["metadata"]["resourceVersion"]
    await sim.store.replace("deployments.apps", "tpl", changed, "default")
    deployment = sim.get("deployments.apps", "tpl", "default")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"

    def new_replicaset():
        for rs in sim.objects("replicasets.apps", "default"):
            template = {**rs["spec"]["template"]}
            labels = dict(template["metadata"]["labels"])
            labels.pop("pod-template-hash", None)
            if {**template, "metadata": {**template["metadata"], "labels": labels}} == (
                deployment["spec"]["template"]
            ):
                return rs
        return None

    assert await eventually(new_replicaset)


async def test_statefulset_creates_ordered_pods_with_claims(csim):
    sim = csim
    sts = workload(
        "StatefulSet",
        "db",
        serviceName="db",
        volumeClaimTemplates=[
            {
                "metadata": {"name": "data"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            }
        ],
    )
    await sim.store.create("statefulsets.apps", sts, "default")
    await eventually(
        lambda: (
            (sim.get("statefulsets.apps", "db", "default").get("status") or {}).get("readyReplicas")
            == 2
        )
    )
    assert sorted(p["metadata"]["name"] for p in ready_pods(sim, "app=db")) == ["db-0", "db-1"]
    assert {c["metadata"]["name"] for c in sim.objects("persistentvolumeclaims", "default")} == {
        "data-db-0",
        "data-db-1",
    }
    pod = sim.get("pods", "db-1", "default")
    assert pod["spec"]["hostname"] == "db-1" and pod["spec"]["subdomain"] == "db"


async def test_job_runs_to_completion(csim):
    sim = csim
    sim.nodes.add_image_rule({"image": "busybox:job", "exit_code": 0, "run_seconds": 0.1})
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "once"},
        "spec": {
            "completions": 2,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "c", "image": "busybox:job"}],
                }
            },
        },
    }
    await sim.store.create("jobs.batch", job, "default")
    await eventually(
        lambda: any(
            c["type"] == "Complete"
            for c in (sim.get("jobs.batch", "once", "default").get("status") or {}).get(
                "conditions"
            )
            or []
        )
    )
    assert sim.get("jobs.batch", "once", "default")["status"]["succeeded"] == 2
