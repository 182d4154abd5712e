"""Pod log requests: which container, whether it has started, and tail/limit cuts."""

from __future__ import annotations

from kubesim.model import errors


def only_container(pod: dict) -> str:
    names = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
    if len(names) == 1:
        return names[0]
    init = [c["name"] for c in (pod.get("spec") or {}).get("initContainers") or []]
    choices = " ".join(names)
    message = (
        f"a container name must be specified for pod {pod['metadata']['name']}, "
        f"choose one of: [{choices}]"
    )
    if init:
        message += f" or one of the init containers: [{' '.join(init)}]"
    raise errors.bad_request(message)


def _statuses(pod: dict) -> list[dict]:
    status = pod.get("status") or {}
    return (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])


def check_container_started(pod: dict, container: str) -> None:
    spec = pod.get("spec") or {}
    names = {c["name"] for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])}
    if container not in names:
        raise errors.bad_request(
            f"container {container} is not valid for pod {pod['metadata']['name']}"
        )
    for status in _statuses(pod):
        if status.get("name") != container:
            continue
        waiting = (status.get("state") or {}).get("waiting")
        if waiting and not status.get("lastState"):
            raise errors.bad_request(
                f'container "{container}" in pod "{pod["metadata"]["name"]}" is waiting to '
                f"start: {waiting.get('reason', 'ContainerCreating')}"
            )
        return
    raise errors.bad_request(
        f'container "{container}" in pod "{pod["metadata"]["name"]}" is waiting to start: '
        "ContainerCreating"
    )


def container_terminated(pod: dict, container: str) -> bool:
    for status in _statuses(pod):
        if status.get("name") == container:
            return "terminated" in (status.get("state") or {})
    return False


def tail(text: str, lines: int | None, limit_bytes: int | None) -> str:
    if lines is not None:
        kept = text.splitlines(keepends=True)
        text = "".join(kept[-lines:]) if lines > 0 else ""
    if limit_bytes is not None:
        text = text.encode()[:limit_bytes].decode(errors="ignore")
    return text
