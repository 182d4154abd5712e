"""Reading a pod's status: is it ready, still starting, or hopeless?

Pure functions over the pod (and event) dicts the reflectors cache, so the
spawner can decide on every watch event without another API call, and the
decisions are unit-testable without a cluster.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .capacity import autoscaler_refused, awaited_capacity

Obj = dict[str, Any]

# Container waiting reasons that will not fix themselves by waiting.
# (ImagePullBackOff keeps retrying in Kubernetes, but the image name or the
# credentials are wrong until an admin acts; the user should hear so now.)
IMAGE_FAILURES = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
)
CONFIG_FAILURES = frozenset(
    {"CreateContainerConfigError", "CreateContainerError", "RunContainerError"}
)
CRASH_FAILURES = frozenset({"CrashLoopBackOff"})


@dataclass(frozen=True)
class Verdict:
    # "ready", "failed", "starting", or "unschedulable": no node fits now, but
    # one may soon (the cluster autoscaler, a preempted placeholder); the
    # spawner decides how long to give it
    state: str
    message: str = ""
    # a failure for want of a node (not of the hub, the image or the server)
    capacity: bool = False

    @property
    def done(self) -> bool:
        return self.state in ("ready", "failed")


STARTING = Verdict("starting")
READY = Verdict("ready")


def condition(pod: Obj, kind: str) -> Obj | None:
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == kind:
            return cond
    return None


def is_ready(pod: Obj) -> bool:
    status = pod.get("status") or {}
    if status.get("phase") != "Running" or pod["metadata"].get("deletionTimestamp"):
        return False
    ready = condition(pod, "Ready")
    return bool(ready and ready.get("status") == "True")


def is_running(pod: Obj | None) -> bool:
    """The reference's ``is_pod_running``: phase Running, an IP, not being
    deleted, and every container reporting ready."""
    if not pod:
        return False
    status = pod.get("status") or {}
    if status.get("phase") != "Running" or not status.get("podIP"):
        return False
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    statuses = status.get("containerStatuses") or []
    return bool(statuses) and all(s.get("ready") for s in statuses)


def container_statuses(pod: Obj, init: bool = False) -> list[Obj]:
    key = "initContainerStatuses" if init else "containerStatuses"
    return (pod.get("status") or {}).get(key) or []


def notebook_status(pod: Obj, container_name: str = "notebook") -> Obj | None:
    """The status of the notebook container (the first one if none has that name)."""
    statuses = container_statuses(pod)
    for status in statuses:
        if status.get("name") == container_name:
            return status
    return statuses[0] if statuses else None


def exit_code(
    pod: Obj, container_name: str = "notebook", include_crash_loop: bool = False
) -> int | None:
    """The notebook container's exit code once it terminated, else None.

    With include_crash_loop, a container that exited and waits to be
    restarted (CrashLoopBackOff) counts as stopped with its last exit code:
    the server is down, whatever the restart policy hopes.
    """
    status = notebook_status(pod, container_name)
    if status:
        state = status.get("state") or {}
        terminated = state.get("terminated")
        if terminated is not None:
            return int(terminated.get("exitCode", 1))
        if include_crash_loop and (state.get("waiting") or {}).get("reason") in CRASH_FAILURES:
            last = (status.get("lastState") or {}).get("terminated") or {}
            return int(last.get("exitCode", 1))
    if (pod.get("status") or {}).get("phase") in ("Failed", "Succeeded"):
        return 0 if pod["status"]["phase"] == "Succeeded" else 1
    return None


def stop_code(pod: Obj | None, container_name: str = "notebook") -> int | None:
    """poll()'s answer from the cached pod: None while the server may be
    running; once the pod is gone, being deleted or its notebook container
    exited (or crash-loops), the exit code (1 when there is none)."""
    if pod is None:
        return 1
    code = exit_code(pod, container_name, include_crash_loop=True)
    if code is None and (pod.get("metadata") or {}).get("deletionTimestamp"):
        return 1
    return code


def unschedulable_reason(pod: Obj, events: list[Obj] = ()) -> str | None:
    """Why the scheduler cannot place the pod, or None if it can, hasn't
    tried, or help is on the way (a preemption or an autoscaler scale-up)."""
    scheduled = condition(pod, "PodScheduled")
    if not scheduled or scheduled.get("status") != "False":
        return None
    if scheduled.get("reason") != "Unschedulable":
        return None
    if awaited_capacity(pod, events) is not None:
        return None  # a preemption, a cluster autoscaler or Karpenter makes room
    return scheduler_message(pod, events)


def scheduler_message(pod: Obj, events: list[Obj] = ()) -> str:
    """The scheduler's newest word on why the pod has no node."""
    for event in reversed(events):
        if event.get("reason") == "FailedScheduling" and event.get("message"):
            return event["message"]
    scheduled = condition(pod, "PodScheduled") or {}
    return scheduled.get("message") or "no node can run it"


# The scheduler's VolumeBinding plugin, in FailedScheduling events and the
# PodScheduled condition: '0/3 nodes are available: persistentvolumeclaim
# "claim-a" not found. preemption: ...'
_MISSING_CLAIM = re.compile(r'persistentvolumeclaim "([^"]+)" not found')


def missing_claims(pod: Obj, events: list[Obj] = ()) -> set[str]:
    """Names of PVCs the scheduler currently says do not exist."""
    scheduled = condition(pod, "PodScheduled")
    if not scheduled or scheduled.get("status") != "False":
        return set()
    texts = [scheduled.get("message") or ""]
    for event in reversed(events):  # the newest scheduling attempt only
        if event.get("reason") == "FailedScheduling":
            texts.append(event.get("message") or "")
            break
    return {name for text in texts for name in _MISSING_CLAIM.findall(text)}


def classify(pod: Obj | None, events: list[Obj] = (), container_name: str = "notebook") -> Verdict:
    """Decide what one observed pod state means for a spawn in progress."""
    if pod is None:
        return Verdict("failed", "Your server's pod was deleted while it was starting.")
    if pod["metadata"].get("deletionTimestamp"):
        return Verdict("failed", "Your server's pod is being deleted while it was starting.")
    if is_ready(pod):
        return READY
    for init in (True, False):
        for status in container_statuses(pod, init=init):
            verdict = _container_verdict(status, init)
            if verdict is not None:
                return verdict
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Failed", "Succeeded"):
        reason = pod["status"].get("reason") or phase
        message = pod["status"].get("message") or ""
        return Verdict(
            "failed", f"Your server stopped before it was ready ({reason}). {message}".strip()
        )
    reason = unschedulable_reason(pod, events)
    if reason:
        message = f"Your server could not be scheduled on any node: {reason}"
        if autoscaler_refused(events):
            return Verdict("failed", message, capacity=True)  # it says it cannot help
        return Verdict("unschedulable", message, capacity=True)
    return STARTING


def _container_verdict(status: Obj, init: bool) -> Verdict | None:
    name = status.get("name", "?")
    what = f"init container {name!r}" if init else f"container {name!r}"
    state = status.get("state") or {}
    waiting = state.get("waiting") or {}
    reason = waiting.get("reason")
    detail = waiting.get("message") or ""
    image = status.get("image") or ""
    if reason in IMAGE_FAILURES:
        return Verdict(
            "failed",
            f"Your server could not start: the image {image!r} for {what} could not be "
            f"pulled ({reason}). {detail}".strip(),
        )
    if reason in CONFIG_FAILURES:
        return Verdict(
            "failed",
            f"Your server could not start: {what} failed to be created ({reason}). {detail}".strip(),
        )
    if reason in CRASH_FAILURES:
        last = (status.get("lastState") or {}).get("terminated") or {}
        code = last.get("exitCode")
        return Verdict(
            "failed",
            f"Your server keeps crashing: {what} exited"
            + (f" with code {code}" if code is not None else "")
            + f" and is restarting in a loop ({reason}).",
        )
    terminated = state.get("terminated")
    if terminated is not None:
        code = terminated.get("exitCode")
        if init and code == 0:
            return None  # an init container that finished is how it should be
        why = terminated.get("reason") or "Error"
        message = terminated.get("message") or ""
        return Verdict(
            "failed",
            f"Your server exited before it was ready: {what} terminated with exit code {code} ({why}). {message}".strip(),
        )
    return None


def _api_token_env(pod: Obj) -> str | None:
    for container in (pod.get("spec") or {}).get("containers") or ():
        for var in container.get("env") or ():
            if var.get("name") == "JUPYTERHUB_API_TOKEN" and var.get("value"):
                return var["value"]
    return None


def made_from(pod: Obj, manifest: Obj) -> bool:
    """Whether `pod` was created from `manifest`: the API token the hub makes
    afresh for every spawn is in both (so a pod a lost answer hid from us is
    told apart from a leftover of an earlier server), and the same labels
    (a leftover made with another component_label, say, is not ours: the
    pod reflector would never see it)."""
    token = _api_token_env(manifest)
    if token is None or _api_token_env(pod) != token:
        return False
    return (pod.get("metadata") or {}).get("labels") == manifest["metadata"].get("labels")
