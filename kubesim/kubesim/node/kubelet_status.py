"""Pod status as the kubelet reports it, computed from container states.

`ContainerRecord` is the kubelet's view of one container; `pod_phase` and
`pod_conditions` follow the real kubelet's rules (getPhase and the status
manager's condition generators).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from kubesim.api.store import now_rfc3339
from kubesim.model.quantities import parse_quantity

# Conditions the kubelet owns; others (PodScheduled, readiness gates,
# DisruptionTarget) are kept as they are on the stored pod.
KUBELET_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady")


def normalize_image(image: str) -> str:
    """docker.io/library/python:3.11 for "python:3.11", as containerd names images."""
    name = image.split("@")[0]
    first = name.split("/")[0]
    if "/" not in name:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and "@" not in image:
        name += ":latest"
    return name


def image_id(image: str) -> str:
    digest = hashlib.sha256(image.encode()).hexdigest()
    return f"{normalize_image(image).rsplit(':', 1)[0]}@sha256:{digest}"


def default_pull_policy(image: str) -> str:
    """The API server's default: Always for :latest or untagged images."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


@dataclass
class ContainerRecord:
    name: str
    image: str
    init: bool = False
    state: dict = field(default_factory=dict)
    last_state: dict = field(default_factory=dict)
    ready: bool = False
    started: bool = False
    restart_count: int = 0
    container_id: str = ""
    image_id: str = ""

    @property
    def field_path(self) -> str:
        return f"spec.{'initContainers' if self.init else 'containers'}{{{self.name}}}"

    def set_waiting(self, reason: str, message: str | None = None) -> None:
        self.state = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
        self.ready = False

    def set_running(self, container_id: str) -> None:
        self.container_id = container_id
        self.state = {"running": {"startedAt": now_rfc3339()}}
        self.started = True

    def set_terminated(self, exit_code: int, reason: str | None = None, message=None) -> None:
        started = (self.state.get("running") or {}).get("startedAt") or now_rfc3339()
        self.state = {
            "terminated": {
                "exitCode": exit_code,
                "reason": reason or ("Completed" if exit_code == 0 else "Error"),
                "startedAt": started,
                "finishedAt": now_rfc3339(),
                "containerID": self.container_id,
                **({"message": message} if message else {}),
            }
        }
        self.ready = False
        self.started = False

    def begin_restart(self) -> None:
        """The exited state becomes lastState; the container waits to run again."""
        if "terminated" in self.state:
            self.last_state = self.state
        self.restart_count += 1

    @property
    def running(self) -> bool:
        return "running" in self.state

    @property
    def terminated(self) -> dict | None:
        return self.state.get("terminated")

    def to_status(self) -> dict:
        status = {
            "name": self.name,
            "state": self.state or {"waiting": {"reason": "ContainerCreating"}},
            "lastState": self.last_state,
            "ready": self.ready,
            "restartCount": self.restart_count,
            "image": self.image,
            "imageID": self.image_id,
            "started": self.started,
        }
        if self.container_id:
            status["containerID"] = self.container_id
        return status


def carry_over_restarts(records: list[ContainerRecord], pod: dict) -> None:
    """A pod whose containers ran before the node restarted (kubesim stopped with its state
    kept): each of them restarts, as a kubelet does after a reboot: restartCount + 1 and
    lastState terminated with exit code 255, reason Unknown (the runtime lost it)."""
    before = {s.get("name"): s for s in (pod.get("status") or {}).get("containerStatuses") or []}
    for record in records:
        status = before.get(record.name) or {}
        state = status.get("state") or {}
        if not status.get("containerID") and "running" not in state:
            continue
        record.restart_count = status.get("restartCount", 0) + 1
        started = (state.get("running") or state.get("terminated") or {}).get("startedAt")
        record.last_state = (
            state
            if "terminated" in state
            else {
                "terminated": {
                    "exitCode": 255,
                    "reason": "Unknown",
                    "startedAt": started or now_rfc3339(),
                    "finishedAt": now_rfc3339(),
                    "containerID": status.get("containerID", ""),
                }
            }
        )


def pod_phase(
    restart_policy: str,
    init: list[ContainerRecord],
    app: list[ContainerRecord],
    *,
    init_failed: bool,
    terminal: bool,
) -> str:
    """The kubelet's getPhase, for the states the simulator produces."""
    if init_failed:
        return "Failed"
    if any(not (c.terminated and c.terminated["exitCode"] == 0) for c in init) and not terminal:
        return "Pending"
    waiting = running = stopped = succeeded = 0
    for c in app:
        if c.running:
            running += 1
        elif c.terminated:
            stopped += 1
            succeeded += c.terminated["exitCode"] == 0
        elif c.last_state.get("terminated"):
            stopped += 1  # waiting to restart after having run
        else:
            waiting += 1
    if terminal and not running:
        return "Succeeded" if stopped and succeeded == stopped and not waiting else "Failed"
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if restart_policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if restart_policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


def _names(records: list[ContainerRecord]) -> str:
    return "[" + " ".join(c.name for c in records) + "]"


def kubelet_conditions(
    phase: str,
    sandbox_ready: bool,
    init: list[ContainerRecord],
    app: list[ContainerRecord],
    readiness_gates_ok: bool = True,
) -> dict[str, tuple[str, str | None, str | None]]:
    """type -> (status, reason, message) for the conditions the kubelet owns."""
    result: dict[str, tuple[str, str | None, str | None]] = {}
    result["PodReadyToStartContainers"] = ("True" if sandbox_ready else "False", None, None)
    incomplete = [c for c in init if not (c.terminated and c.terminated["exitCode"] == 0)]
    if incomplete and phase not in ("Succeeded",):
        result["Initialized"] = (
            "False",
            "ContainersNotInitialized",
            f"containers with incomplete status: {_names(incomplete)}",
        )
    else:
        result["Initialized"] = ("True", None, None)
    if phase == "Succeeded":
        result["ContainersReady"] = ("False", "PodCompleted", None)
        result["Ready"] = ("False", "PodCompleted", None)
        return result
    unready = [c for c in app if not c.ready]
    if unready:
        why = ("False", "ContainersNotReady", f"containers with unready status: {_names(unready)}")
        result["ContainersReady"] = why
        result["Ready"] = why
    elif not readiness_gates_ok:
        result["ContainersReady"] = ("True", None, None)
        result["Ready"] = (
            "False",
            "ReadinessGatesNotReady",
            "corresponding condition of pod readiness gate is not True",
        )
    else:
        result["ContainersReady"] = ("True", None, None)
        result["Ready"] = ("True", None, None)
    return result


def merge_conditions(
    existing: list[dict], owned: dict[str, tuple[str, str | None, str | None]]
) -> list[dict]:
    """Owned conditions replace the stored ones (keeping transition times when unchanged)."""
    by_type = {c.get("type"): c for c in existing}
    now = now_rfc3339()
    out = []
    for type_ in KUBELET_CONDITIONS:
        if type_ not in owned:
            if type_ in by_type:
                out.append(by_type[type_])
            continue
        status, reason, message = owned[type_]
        old = by_type.get(type_)
        condition = {
            "type": type_,
            "status": status,
            "lastProbeTime": None,
            "lastTransitionTime": old["lastTransitionTime"]
            if old and old.get("status") == status and old.get("lastTransitionTime")
            else now,
        }
        if reason:
            condition["reason"] = reason
        if message:
            condition["message"] = message
        out.append(condition)
    out.extend(c for c in existing if c.get("type") not in KUBELET_CONDITIONS)
    return out


def qos_class(pod: dict) -> str:
    """Guaranteed / Burstable / BestEffort from the containers' requests and limits."""
    spec = pod.get("spec") or {}
    containers = (spec.get("containers") or []) + (spec.get("initContainers") or [])
    any_set = False
    guaranteed = True
    for container in containers:
        resources = container.get("resources") or {}
        requests = resources.get("requests") or {}
        limits = resources.get("limits") or {}
        if requests or limits:
            any_set = True
        for name in ("cpu", "memory"):
            if name not in limits:
                guaranteed = False
            elif name in requests and parse_quantity(requests[name]) != parse_quantity(
                limits[name]
            ):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"
