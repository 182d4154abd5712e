"""Helpers of the end-to-end suite: start a deployment, find users' pods
and claims in kubesim, read facts out of the rendered values."""

import os
import sys
from pathlib import Path

from localdeploy.deployment import LocalDeployment, Options, purge
from localdeploy.ports import free_port
from localdeploy.progress import Progress
from testsupport.waiting import poll_until

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
E2E_VALUES = Path(__file__).parent / "values"


def state_dir(name: str) -> Path:
    """A fresh state folder under test-artifacts/, so the logs of a failed
    run (hub, proxy, kubesim, users' pods) stay there to read. Named after
    this test process: two test runs at once must not share one; folders of
    runs that are gone are removed."""
    folder = ARTIFACTS / "deployments"
    if folder.is_dir():
        for old in folder.iterdir():
            pid = old.name.rsplit("-", 1)[-1]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                purge(old)
    path = folder / f"{name}-{os.getpid()}"
    purge(path)
    return path


def start_deployment(state_dir: Path, values: tuple[Path, ...] = ()) -> LocalDeployment:
    options = Options(state_dir=state_dir, port=free_port(), values=values)
    return LocalDeployment(options, Progress(prefix="e2e", stream=sys.stderr)).start()


def user_pods(dep: LocalDeployment, username: str, server: str | None = None) -> list[dict]:
    """The user's pods in kubesim, found by the spawner's annotations."""
    found = []
    for pod in dep.client.list("v1", "Pod", dep.namespace):
        notes = pod["metadata"].get("annotations") or {}
        if notes.get("hub.jupyter.org/username") != username:
            continue
        if server is not None and notes.get("hub.jupyter.org/servername", "") != server:
            continue
        found.append(pod)
    return found


def wait_server_stopped(dep: LocalDeployment, user, why: str) -> None:
    """The hub says `user`'s default server is stopped, then its pod is gone."""
    poll_until(lambda: "" not in user.model()["servers"], why, 120, interval=0.5)
    poll_until(lambda: not user_pods(dep, user.name), "pod deleted", 60, interval=0.5)


def user_claims(dep: LocalDeployment, username: str) -> list[dict]:
    return [
        pvc
        for pvc in dep.client.list("v1", "PersistentVolumeClaim", dep.namespace)
        if (pvc["metadata"].get("annotations") or {}).get("hub.jupyter.org/username") == username
    ]


def admin_users(values: dict) -> list[str]:
    """Admins as the chart's values configure them (either spelling)."""
    config = values.get("hub", {}).get("config", {}) or {}
    admins = list((config.get("Authenticator") or {}).get("admin_users") or [])
    admins += (values.get("auth", {}).get("admin", {}) or {}).get("users") or []
    return admins


def profiles(values: dict) -> list[dict]:
    return values.get("singleuser", {}).get("profileList") or []
