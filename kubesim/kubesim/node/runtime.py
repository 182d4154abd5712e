"""What the kubelet hands a container runtime, and what it gets back.

A runtime turns a `ContainerLaunch` into a `ContainerHandle`: something that
runs until it exits (`wait()`), and that `stop(grace)` ends with SIGTERM, then
SIGKILL once the grace period is over. Two runtimes exist: `pause_runtime`
(no process) and `process_runtime` (a local subprocess per container).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Protocol

from kubesim.node.node_settings import ImageRule


class CreateContainerError(Exception):
    """The container cannot be created; the kubelet reports CreateContainerError."""


@dataclass
class Mount:
    source: str  # materialised directory (or file) on the host
    target: str  # mountPath inside the container
    read_only: bool = False


@dataclass
class ContainerLaunch:
    pod: dict
    container: dict
    init: bool
    pod_ip: str
    env: dict[str, str]
    command: list[str]  # container command, $(VAR)-expanded (may be empty)
    args: list[str]  # container args, $(VAR)-expanded
    has_args: bool  # whether the container set args at all (empty list counts)
    rule: ImageRule | None
    log_path: str | None
    pod_dir: str | None
    mounts: list[Mount] = field(default_factory=list)
    run_as_user: int | None = None
    run_as_group: int | None = None
    supplemental_groups: list[int] = field(default_factory=list)


class ContainerHandle(Protocol):
    container_id: str

    async def wait(self) -> int:
        """The exit code once the container has exited."""

    async def stop(self, grace: float) -> int:
        """SIGTERM, SIGKILL after `grace` seconds; the exit code."""

    def kill(self) -> None:
        """SIGKILL now (no waiting)."""


def new_container_id() -> str:
    return "containerd://" + secrets.token_hex(32)
