"""The Job controller over HTTP: completion, backoffLimit, activeDeadlineSeconds, TTL."""

import json

import pytest

from kubesim.testing import wait_for, wait_gone

from .test_kubectl import KUBECTL, kubectl

pytestmark = pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl not installed (ci/setup)")


def job(name, image, **spec):
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": image}]}
            },
            **spec,
        },
    }


@pytest.fixture
async def jsim(kubesim_factory):
    sim = await kubesim_factory(nodes=1)
    sim.nodes.add_image_rule({"image": "busybox:ok", "exit_code": 0, "run_seconds": 0.1})
    sim.nodes.add_image_rule({"image": "busybox:fails", "exit_code": 1, "run_seconds": 0.05})
    return sim


async def create(sim, tmp_path, body):
    path = tmp_path / f"{body['metadata']['name']}.json"
    path.write_text(json.dumps(body))
    await kubectl(sim, "create", "-f", str(path))


def condition_types(job):
    return [c["type"] for c in (job or {}).get("status", {}).get("conditions") or []]


async def test_job_completes_and_kubectl_wait_sees_it(jsim, tmp_path):
    await create(jsim, tmp_path, job("once", "busybox:ok", completions=2, parallelism=2))
    await kubectl(jsim, "wait", "--for=condition=complete", "job/once", "--timeout=60s")
    done = jsim.get("jobs.batch", "once", "default")
    assert condition_types(done) == ["SuccessCriteriaMet", "Complete"]
    assert done["status"]["succeeded"] == 2 and done["status"]["active"] == 0
    assert done["status"]["conditions"][0]["reason"] == "CompletionsReached"
    assert done["status"]["completionTime"]
    pods = jsim.objects("pods", "default", label_selector="batch.kubernetes.io/job-name=once")
    assert len(pods) == 2
    uid = done["metadata"]["uid"]
    assert {p["metadata"]["labels"]["batch.kubernetes.io/controller-uid"] for p in pods} == {uid}
    table = await kubectl(jsim, "get", "job", "once")
    assert table.splitlines()[1].split()[:3] == ["once", "Complete", "2/2"]


async def test_backoff_limit_fails_the_job(jsim, tmp_path):
    await create(jsim, tmp_path, job("flaky", "busybox:fails", backoffLimit=2))
    await kubectl(jsim, "wait", "--for=condition=failed", "job/flaky", "--timeout=60s")
    failed = jsim.get("jobs.batch", "flaky", "default")
    assert condition_types(failed) == ["FailureTarget", "Failed"]
    assert failed["status"]["failed"] == 3  # backoffLimit + 1
    last = failed["status"]["conditions"][-1]
    assert (last["reason"], last["message"]) == (
        "BackoffLimitExceeded",
        "Job has reached the specified backoff limit",
    )


async def test_active_deadline_stops_running_pods(jsim, tmp_path):
    await create(jsim, tmp_path, job("slow", "busybox:1.36", activeDeadlineSeconds=1))
    await kubectl(jsim, "wait", "--for=condition=failed", "job/slow", "--timeout=60s")
    failed = jsim.get("jobs.batch", "slow", "default")
    assert failed["status"]["conditions"][-1]["reason"] == "DeadlineExceeded"
    assert failed["status"]["active"] == 0
    # Failed comes once the pod stopped: none of the Job's pods is still running
    assert [
        p
        for p in jsim.objects("pods", "default", label_selector="job-name=slow")
        if p["status"].get("phase") == "Running"
    ] == []


async def test_ttl_after_finished_deletes_job_and_pods(jsim, tmp_path):
    await create(jsim, tmp_path, job("brief", "busybox:ok", ttlSecondsAfterFinished=1))
    await wait_for(
        jsim.store, "jobs.batch", "brief", "default", lambda j: "Complete" in condition_types(j)
    )
    await wait_gone(jsim.store, "jobs.batch", "brief", "default", timeout=20)
    pods = jsim.objects("pods", "default", label_selector="job-name=brief")
    for pod in pods:
        await wait_gone(jsim.store, "pods", pod["metadata"]["name"], "default")


async def test_before_1_31_the_terminal_condition_comes_alone(kubesim_factory, tmp_path):
    sim = await kubesim_factory(nodes=1, version="1.30")
    sim.nodes.add_image_rule({"image": "busybox:ok", "exit_code": 0, "run_seconds": 0.05})
    await create(sim, tmp_path, job("old", "busybox:ok"))
    await kubectl(sim, "wait", "--for=condition=complete", "job/old", "--timeout=60s")
    assert condition_types(sim.get("jobs.batch", "old", "default")) == ["Complete"]
