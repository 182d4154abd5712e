"""Is capacity on its way for a pod no node can run yet? And how long may a
spawn wait for it?

Three components say so, each in its own way (the texts are theirs):
- the cluster-autoscaler posts a ``TriggeredScaleUp`` event on the pod,
  ``pod triggered scale-up: [{<node group> 1->2 (max: 5)}]``, or
  ``NotTriggerScaleUp`` (``pod didn't trigger scale-up: ...``) when no node
  group can help (core/scaleup/status eventing processor);
- Karpenter posts ``Nominated``, ``Pod should schedule on: nodeclaim/<name>``
  (``node/<name>`` for an existing node it freed);
- kube-scheduler, preempting lower-priority pods (the chart's user
  placeholders) for it, sets the pod's ``status.nominatedNodeName`` (the
  victims get ``Preempted`` events).

A spawn waiting for one of them is waiting for capacity, not failing: that
time does not count towards ``start_timeout`` (up to
``capacity_wait_timeout``), and a spawn that ends because no node came is a
capacity failure, which JupyterHub does not count towards
``consecutive_failure_limit``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]

SCALE_UP = "TriggeredScaleUp"
NO_SCALE_UP = "NotTriggerScaleUp"
NOMINATED = "Nominated"


@dataclass(frozen=True)
class CapacityWait:
    who: str  # "the cluster autoscaler", "Karpenter", "the scheduler"
    doing: str  # "is adding a node", ...
    detail: str  # the component's own words

    def describe(self) -> str:
        return (
            f"{self.who} {self.doing} ({self.detail})"
            if self.detail
            else f"{self.who} {self.doing}"
        )


def unscheduled(pod: Obj | None) -> bool:
    """PodScheduled=False/Unschedulable: the scheduler found no node."""
    if not pod:
        return False
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "PodScheduled":
            return cond.get("status") == "False" and cond.get("reason") == "Unschedulable"
    return False


def latest(events: list[Obj], reasons: tuple[str, ...]) -> Obj | None:
    """The newest event (events oldest first) with one of ``reasons``."""
    for event in reversed(events):
        if event.get("reason") in reasons:
            return event
    return None


def awaited_capacity(pod: Obj | None, events: list[Obj] = ()) -> CapacityWait | None:
    """What capacity the unscheduled pod waits for, or None (scheduled, not
    tried yet, or nobody is making room)."""
    if not unscheduled(pod):
        return None
    node = (pod.get("status") or {}).get("nominatedNodeName")
    if node:
        return CapacityWait(
            "the scheduler", "is making room", f"lower-priority pods are preempted on {node}"
        )
    event = latest(events, (SCALE_UP, NO_SCALE_UP, NOMINATED))
    if event is None or event["reason"] == NO_SCALE_UP:
        return None
    message = event.get("message") or ""
    if event["reason"] == SCALE_UP:
        return CapacityWait("the cluster autoscaler", "is adding a node", message)
    return CapacityWait("Karpenter", "is bringing up a node", message)


def autoscaler_refused(events: list[Obj]) -> bool:
    """The cluster autoscaler's newest word on the pod is that it cannot help."""
    event = latest(events, (SCALE_UP, NO_SCALE_UP, NOMINATED))
    return event is not None and event["reason"] == NO_SCALE_UP


class StartClock:
    """A spawn's deadline: ``start_timeout`` plus the time spent waiting for
    capacity, at most ``capacity_limit`` of it."""

    def __init__(self, began: float, start_timeout: float, capacity_limit: float):
        self.began = began
        self.start_timeout = start_timeout
        self.capacity_limit = max(capacity_limit or 0, 0)
        self.waited = 0.0
        self.since: float | None = None

    def observe(self, now: float, waiting: bool) -> None:
        if waiting and self.since is None:
            self.since = now
        elif not waiting and self.since is not None:
            self.waited += now - self.since
            self.since = None

    def capacity_waited(self, now: float) -> float:
        return self.waited + (now - self.since if self.since is not None else 0.0)

    def deadline(self, now: float) -> float:
        extra = min(self.capacity_waited(now), self.capacity_limit)
        return self.began + self.start_timeout + extra

    @property
    def ceiling(self) -> float:
        """The latest the deadline can move to."""
        return self.began + self.start_timeout + self.capacity_limit

    def next_check(self, now: float) -> float:
        # while waiting the deadline moves with the clock: look again at the ceiling
        return self.ceiling if self.since is not None else self.deadline(now)
