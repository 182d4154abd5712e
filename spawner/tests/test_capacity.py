"""What counts as waiting for capacity, and the deadline it moves."""

from kubespawner.capacity import StartClock, autoscaler_refused, awaited_capacity

UNSCHEDULED = {
    "metadata": {"name": "p"},
    "status": {
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}],
    },
}


def test_preemption_of_placeholders_is_a_capacity_wait():
    pod = {**UNSCHEDULED, "status": {**UNSCHEDULED["status"], "nominatedNodeName": "node-3"}}
    wait = awaited_capacity(pod, [])
    assert wait.describe() == (
        "the scheduler is making room (lower-priority pods are preempted on node-3)"
    )


def test_the_newest_autoscaler_word_counts():
    up = {"reason": "TriggeredScaleUp", "message": "pod triggered scale-up: [{a 1->2 (max: 3)}]"}
    no = {"reason": "NotTriggerScaleUp", "message": "pod didn't trigger scale-up: ..."}
    assert awaited_capacity(UNSCHEDULED, [up]).who == "the cluster autoscaler"
    assert awaited_capacity(UNSCHEDULED, [up, no]) is None and autoscaler_refused([up, no])
    assert awaited_capacity(UNSCHEDULED, [no, up]) is not None and not autoscaler_refused([no, up])
    nominated = {"reason": "Nominated", "message": "Pod should schedule on: nodeclaim/x"}
    assert awaited_capacity(UNSCHEDULED, [nominated]).who == "Karpenter"


def test_a_scheduled_pod_waits_for_nothing():
    scheduled = {
        "metadata": {},
        "status": {"conditions": [{"type": "PodScheduled", "status": "True"}]},
    }
    assert awaited_capacity(scheduled, [{"reason": "TriggeredScaleUp"}]) is None


def test_capacity_waits_move_the_deadline_up_to_the_limit():
    clock = StartClock(began=0, start_timeout=30, capacity_limit=100)
    clock.observe(10, waiting=True)
    assert clock.deadline(50) == 70 and clock.next_check(50) == 130
    clock.observe(60, waiting=False)  # the node came after 50 s
    assert clock.deadline(61) == 80 and clock.next_check(61) == 80
    clock.observe(70, waiting=True)
    assert clock.deadline(500) == 130, "at most capacity_limit more"
