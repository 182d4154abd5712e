"""podstatus.classify: the decisions start() makes on every pod update."""

from kubespawner.podstatus import (
    classify,
    exit_code,
    is_ready,
    made_from,
    missing_claims,
    unschedulable_reason,
)
from testsupport.spawners import StubUser, real_spawner


def pod(phase="Pending", conditions=(), statuses=(), init_statuses=(), deleting=False):
    meta = {"name": "jupyter-a", "namespace": "ns", "uid": "u1"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {
        "metadata": meta,
        "status": {
            "phase": phase,
            "conditions": list(conditions),
            "containerStatuses": list(statuses),
            "initContainerStatuses": list(init_statuses),
        },
    }


def cond(kind, status, reason=None, message=None):
    return {"type": kind, "status": status, "reason": reason, "message": message}


def container(state, name="notebook", image="img:1", last=None):
    out = {"name": name, "image": image, "state": state}
    if last:
        out["lastState"] = last
    return out


RUNNING = {"running": {"startedAt": "x"}}


def test_ready_only_when_running_and_ready_condition_true():
    ready = pod("Running", [cond("Ready", "True")], [container(RUNNING)])
    assert is_ready(ready)
    assert classify(ready).state == "ready"
    not_yet = pod("Running", [cond("Ready", "False")], [container(RUNNING)])
    assert classify(not_yet).state == "starting"
    assert classify(pod()).state == "starting"


def test_deleted_or_deleting_pod_fails_the_spawn():
    assert "deleted" in classify(None).message
    deleting = pod("Running", [cond("Ready", "True")], [container(RUNNING)], deleting=True)
    assert classify(deleting).state == "failed"


def test_image_pull_failures_name_the_image():
    for reason in ("ErrImagePull", "ImagePullBackOff"):
        verdict = classify(
            pod(
                statuses=[
                    container(
                        {"waiting": {"reason": reason, "message": "not found"}}, image="nope:1"
                    )
                ]
            )
        )
        assert verdict.state == "failed"
        assert "nope:1" in verdict.message and reason in verdict.message


def test_container_creating_is_still_starting():
    waiting = container({"waiting": {"reason": "ContainerCreating"}})
    assert classify(pod(statuses=[waiting])).state == "starting"


def test_crash_loop_reports_the_exit_code():
    crash = container(
        {"waiting": {"reason": "CrashLoopBackOff"}}, last={"terminated": {"exitCode": 3}}
    )
    verdict = classify(pod("Running", statuses=[crash]))
    assert verdict.state == "failed" and "code 3" in verdict.message


def test_terminated_container_fails_but_finished_init_container_does_not():
    done_init = container({"terminated": {"exitCode": 0}}, name="init")
    assert classify(pod(init_statuses=[done_init])).state == "starting"
    failed_init = container({"terminated": {"exitCode": 2, "reason": "Error"}}, name="init")
    assert "init container 'init'" in classify(pod(init_statuses=[failed_init])).message
    exited = container({"terminated": {"exitCode": 1, "reason": "Error"}})
    verdict = classify(pod("Running", statuses=[exited]))
    assert verdict.state == "failed" and "exit code 1" in verdict.message


def test_unschedulable_uses_the_scheduler_event_message():
    p = pod(conditions=[cond("PodScheduled", "False", "Unschedulable", "0/1 nodes: cond")])
    events = [
        {"reason": "FailedScheduling", "message": "0/3 nodes are available: 3 Insufficient memory."}
    ]
    verdict = classify(p, events)
    assert (
        verdict.state == "unschedulable" and not verdict.done
    )  # the spawner's grace period decides
    assert "3 Insufficient memory" in verdict.message
    assert "0/1 nodes: cond" in classify(p, []).message


def test_unschedulable_waits_while_the_autoscaler_adds_a_node():
    p = pod(conditions=[cond("PodScheduled", "False", "Unschedulable", "no room")])
    events = [
        {"reason": "FailedScheduling", "message": "no room"},
        {"reason": "TriggeredScaleUp", "message": "up"},
    ]
    assert unschedulable_reason(p, events) is None
    assert classify(p, events).state == "starting"


def test_unschedulable_waits_while_placeholders_are_preempted():
    p = pod(conditions=[cond("PodScheduled", "False", "Unschedulable", "no room")])
    p["status"]["nominatedNodeName"] = "node-1"
    assert classify(p, []).state == "starting"


def test_autoscaler_giving_up_fails_at_once():
    p = pod(conditions=[cond("PodScheduled", "False", "Unschedulable", "no room")])
    events = [
        {"reason": "TriggeredScaleUp", "message": "up"},
        {
            "reason": "NotTriggerScaleUp",
            "message": "pod didn't trigger scale-up: 1 max node group size reached",
        },
    ]
    verdict = classify(p, events)
    assert verdict.state == "failed" and "no room" in verdict.message


def test_exit_code():
    assert exit_code(pod("Running", statuses=[container(RUNNING)])) is None
    assert exit_code(pod("Running", statuses=[container({"terminated": {"exitCode": 7}})])) == 7
    assert exit_code(pod("Failed")) == 1
    assert exit_code(pod("Succeeded")) == 0


def test_crash_loop_counts_as_stopped_for_poll():
    crash = container(
        {"waiting": {"reason": "CrashLoopBackOff"}}, last={"terminated": {"exitCode": 5}}
    )
    assert exit_code(pod("Running", statuses=[crash])) is None
    assert exit_code(pod("Running", statuses=[crash]), include_crash_loop=True) == 5


def running_pod(ip="10.0.0.7", ready=(True,), deleting=False, phase="Running"):
    out = pod(
        phase,
        [cond("Ready", "True" if all(ready) else "False")],
        [
            dict(
                container({"running": {"startedAt": "2026-01-01T00:00:00Z"}}, f"c{i}"),
                ready=r,
                imageID="img@sha256:0",
                restartCount=0,
            )
            for i, r in enumerate(ready)
        ],
        deleting=deleting,
    )
    if ip:
        out["status"]["podIP"] = ip
    return out


def kubespawner():
    return real_spawner(user=StubUser("a", 1))


def test_is_pod_running_as_the_reference_says():
    spawner = kubespawner()
    assert spawner.is_pod_running(running_pod())
    assert spawner.is_pod_running(running_pod(ready=(True, True)))
    assert not spawner.is_pod_running(None)
    assert not spawner.is_pod_running(running_pod(phase="Pending"))
    assert not spawner.is_pod_running(running_pod(ip=None)), "no IP to connect to yet"
    assert not spawner.is_pod_running(running_pod(deleting=True))
    assert not spawner.is_pod_running(running_pod(ready=(True, False))), "a sidecar not ready"
    assert not spawner.is_pod_running(running_pod(ready=()))


def test_is_pod_running_accepts_a_v1pod():
    from kubespawner.models import to_model

    spawner = kubespawner()
    assert spawner.is_pod_running(to_model(running_pod(), "V1Pod"))
    assert not spawner.is_pod_running(to_model(running_pod(ready=(False,)), "V1Pod"))


def test_missing_claims_from_the_scheduler_message():
    # as Kubernetes' scheduler words it (kubesim says the same)
    message = (
        '0/3 nodes are available: persistentvolumeclaim "claim-a" not found. '
        "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    )
    waiting = pod(conditions=[cond("PodScheduled", "False", "Unschedulable", message)])
    assert missing_claims(waiting) == {"claim-a"}
    event = {"reason": "FailedScheduling", "message": message.replace("claim-a", "claim-b")}
    assert missing_claims(waiting, [event]) == {"claim-a", "claim-b"}
    other = pod(conditions=[cond("PodScheduled", "False", "Unschedulable", "0/3 nodes: memory")])
    assert missing_claims(other) == set()
    assert missing_claims(pod(conditions=[cond("PodScheduled", "True")]), [event]) == set()


def test_made_from_needs_the_spawns_token_and_labels():
    def made(token, component):
        return {
            "metadata": {"labels": {"component": component}},
            "spec": {"containers": [{"env": [{"name": "JUPYTERHUB_API_TOKEN", "value": token}]}]},
        }

    manifest = made("t1", "singleuser-server")
    assert made_from(made("t1", "singleuser-server"), manifest)
    assert not made_from(made("t0", "singleuser-server"), manifest)
    # a leftover with the same token but another component_label: the pod
    # reflector (selecting by component) would never see it become ready
    assert not made_from(made("t1", "something"), manifest)
