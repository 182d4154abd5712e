"""Settings of the simulated nodes: per-step delays and image rules.

Delays (seconds, all 0 by default so tests run fast):

    scheduling          before the scheduler decides on a pod
    pulling             an image pull (when the image is not on the node yet)
    creating            creating a container
    starting            starting a container
    readiness           from "running" to "ready" for a container without a readinessProbe
    terminating         pause runtime: how long a container takes to exit after SIGTERM
                        (longer than the grace period -> SIGKILL, exit code 137)
    image_pull_backoff  first back-off after a failed pull (doubles up to 300)
    crashloop_backoff   first back-off before restarting an exited container (doubles up to 300)
    node_monitor_grace  how long a paused kubelet may stay silent before its node turns
                        Ready=Unknown and gets the unreachable taints (real default 40)

Image rules: a list of dicts, the first whose "image" glob (fnmatch) matches
the container's image applies:

    {"image": "registry.example/broken:*",
     "pull_error": "manifest unknown",       # pull fails: ErrImagePull -> ImagePullBackOff
     "pull_delay": 2.0,                       # overrides delays.pulling
     "command": ["jupyterhub-singleuser"],    # the image's ENTRYPOINT (process runtime)
     "args": [],                              # the image's CMD (process runtime)
     "env": {"HOME": "/home/jovyan"},         # the image's ENV (process runtime)
     "working_dir": "/srv",                   # the image's WORKDIR (process runtime)
     "files": {"/usr/local/etc/app": "/src/app"},  # the image's own files (process runtime):
                                              # a copy of each host path at that path
     "pause": True,                           # process runtime: no process for this
                                              # image, it runs as in the pause runtime
     "exit_code": 1, "run_seconds": 0.5}      # pause runtime: the container exits
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, fields


@dataclass
class Delays:
    scheduling: float = 0.0
    pulling: float = 0.0
    creating: float = 0.0
    starting: float = 0.0
    readiness: float = 0.0
    terminating: float = 0.0
    image_pull_backoff: float = 10.0
    crashloop_backoff: float = 10.0
    node_monitor_grace: float = 40.0

    @classmethod
    def from_value(cls, value) -> Delays:
        if value is None:
            return cls()
        if isinstance(value, Delays):
            return value
        delays = cls()
        delays.update(value)
        return delays

    def update(self, values: dict) -> None:
        known = {f.name for f in fields(self)}
        for key, seconds in values.items():
            if key not in known:
                raise ValueError(f"unknown delay {key!r}; known delays: {', '.join(sorted(known))}")
            if not isinstance(seconds, int | float) or seconds < 0:
                raise ValueError(f"delay {key}={seconds!r} must be a number of seconds >= 0")
            setattr(self, key, float(seconds))


_RULE_KEYS = {
    "image",
    "pull_error",
    "pull_delay",
    "command",
    "args",
    "env",
    "working_dir",
    "files",
    "pause",
    "exit_code",
    "run_seconds",
}


@dataclass
class ImageRule:
    image: str
    pull_error: str | None = None
    pull_delay: float | None = None
    command: list[str] | None = None
    args: list[str] | None = None
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    pause: bool = False
    exit_code: int | None = None
    run_seconds: float | None = None

    @classmethod
    def from_value(cls, value) -> ImageRule:
        if isinstance(value, ImageRule):
            return value
        if not isinstance(value, dict) or "image" not in value:
            raise ValueError(
                f"image rule {value!r} must be a dict with at least an 'image' glob, "
                "e.g. {'image': 'broken/*', 'pull_error': 'not found'}"
            )
        unknown = set(value) - _RULE_KEYS
        if unknown:
            raise ValueError(
                f"image rule for {value['image']!r} has unknown keys {sorted(unknown)}; "
                f"known keys: {sorted(_RULE_KEYS)}"
            )
        for target, source in (value.get("files") or {}).items():
            if not str(target).startswith("/") or not str(source).startswith("/"):
                raise ValueError(
                    f"image rule for {value['image']!r}: files {{{target!r}: {source!r}}} "
                    "needs an absolute path inside the image and an absolute host path"
                )
        return cls(**value)

    def matches(self, image: str) -> bool:
        return fnmatch.fnmatchcase(image, self.image)


class ImageRules:
    def __init__(self, rules=None):
        self.rules = [ImageRule.from_value(r) for r in rules or []]

    def find(self, image: str) -> ImageRule | None:
        return next((rule for rule in self.rules if rule.matches(image)), None)

    def add(self, rule) -> None:
        """Add a rule in front (it wins over the existing ones)."""
        self.rules.insert(0, ImageRule.from_value(rule))
