"""`ci/dev` itself, as a person runs it: up prints progress and the URL, the
hub works there, down stops everything and leaves nothing running, up again
brings back the same users and files, down --purge removes the state."""

import os
import queue
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from localdeploy.ports import free_port

from .e2e_hubclient import HubUser
from .e2e_support import ROOT, state_dir
from .test_e2e_spawn import default_form

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]

DEV = ROOT / "ci" / "dev"
READY = re.compile(r"^JupyterHub is ready at (http://127\.0\.0\.1:\d+/)$")
PROGRESS = re.compile(r"^\[dev +\d+\.\ds\] ([-\w]+): ")


class DevUp:
    """`ci/dev up` in the background, its output lines collected."""

    def __init__(self, state: Path, port: int):
        self.lines: list[str] = []
        self._queue: queue.Queue = queue.Queue()
        self.proc = subprocess.Popen(
            [str(DEV), "up", "--port", str(port), "--state-dir", str(state)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: re.Pattern, timeout: float = 300) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
            match = pattern.search(line)
            if match:
                return match
        raise AssertionError(
            "ci/dev up never printed " + pattern.pattern + ":\n" + "\n".join(self.lines)
        )

    def finish(self, timeout: float = 120) -> int:
        code = self.proc.wait(timeout)
        self.wait_for(re.compile("everything stopped"), 10)
        return code

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, ppid, start time) of a process, or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return fields[0], int(fields[1]), int(fields[19])  # state, ppid, starttime


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def process_tree(root: int) -> dict[int, tuple[int, str]]:
    """`root` and all its descendants now: pid -> (start time, command line).

    Every process ci/dev runs descends from `ci/dev up` (kubesim and the load
    balancer stand-in are its children in sessions of their own, every pod's
    process is kubesim's), whether or not its command line names the state folder."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        facts = _stat(int(stat.parent.name))
        if facts:
            children.setdefault(facts[1], []).append(int(stat.parent.name))
    tree, todo = {}, [root]
    while todo:
        pid = todo.pop()
        facts = _stat(pid)
        if facts is None:
            continue
        tree[pid] = (facts[2], _cmdline(pid))
        todo += children.get(pid, [])
    return tree


def still_running(tree: dict[int, tuple[int, str]]) -> list[str]:
    """Processes of an earlier `process_tree` that still run (the same start time:
    not a new process that got a recycled pid; zombies do not run)."""
    left = []
    for pid, (started, cmdline) in tree.items():
        facts = _stat(pid)
        if facts and facts[2] == started and facts[0] != "Z":
            left.append(f"{pid}: {cmdline}")
    return left


def assert_tree_has_everything(tree: dict[int, tuple[int, str]], state: Path) -> None:
    """The snapshot must hold what the leftover check is about, or it proves nothing:
    kubesim and the load balancer stand-in, and kubesim's pods' processes."""
    for component in ("kubesim", "loadbalancer"):
        pid = int((state / "pids" / f"{component}.pid").read_text())
        assert pid in tree, (component, tree)
    for command in ("jupyterhub-singleuser", "bin/jupyterhub ", "kube-scheduler"):
        assert any(command in cmdline for _, cmdline in tree.values()), (command, tree)
    assert any("configurable-http-proxy" in cmdline for _, cmdline in tree.values()), tree


def processes_mentioning(text: str) -> list[str]:
    """Processes whose command line, working directory or environment names `text`
    (a state folder): catches what left the process tree, e.g. a re-parented child."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        pid = int(proc.name)
        if pid == os.getpid():
            continue
        args = _cmdline(pid)
        where = []
        if text in args:
            where.append("command line")
        try:
            if text in os.readlink(proc / "cwd"):
                where.append("cwd")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
        try:
            if text.encode() in (proc / "environ").read_bytes():
                where.append("environment")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
        state = _stat(pid)
        if where and state and state[0] != "Z" and "pytest" not in args:
            found.append(f"{pid} ({', '.join(where)}): {args}")
    return found


def first_line_of(argv: list[str], timeout: float) -> str:
    """The first line a command prints (e.g. a watch's first event); then it is stopped."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, start_new_session=True)
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        return proc.stdout.readline().strip()
    finally:
        timer.cancel()
        proc.kill()
        proc.wait()


def run_dev(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(DEV), *args], capture_output=True, text=True, timeout=180)


def test_dev_up_down_and_up_again_keeps_users_and_files():
    state = state_dir("cli")
    port = free_port()
    up = DevUp(state, port)
    try:
        url = up.wait_for(READY).group(1)
        steps = [m.group(1) for m in map(PROGRESS.match, up.lines) if m]
        for step in ("set-up", "render", "kubesim", "helm"):
            assert step in steps, (step, up.lines)
        assert url == f"http://127.0.0.1:{port}/"
        kubeconfig = run_dev("kubeconfig", "--state-dir", str(state))
        assert kubeconfig.returncode == 0 and Path(kubeconfig.stdout.strip()).is_file()

        user = HubUser(url, "e2e-cli")
        user.login()
        created = user.model()["created"]
        user.start(form=default_form(user))
        token = user.api("POST", f"users/{user.name}/tokens", json={}).json()["token"]
        put = user.session.put(
            user.url(user.server_url() + "api/contents/notes.txt"),
            json={"type": "file", "format": "text", "content": "written in the first run"},
            headers={"Authorization": f"token {token}"},
            timeout=30,
        )
        assert put.status_code in (200, 201), put.text

        running = process_tree(up.proc.pid)
        assert_tree_has_everything(running, state)
        down = run_dev("down", "--state-dir", str(state))
        assert down.returncode == 0, down.stderr
        assert up.finish() == 0
        assert not still_running(running)  # hub, proxy, kubesim, users' servers
        assert not processes_mentioning(str(state))
    finally:
        up.kill()

    again = DevUp(state, port)
    try:
        url = again.wait_for(READY).group(1)
        user = HubUser(url, "e2e-cli")
        user.login()
        model = user.model()
        assert model["created"] == created  # the same user, from the hub database
        # The server itself came back: kubesim restores its objects from the state
        # folder and restarts the pod as after a node reboot, and the hub finds it.
        assert "" in model["servers"], model
        deadline = time.monotonic() + 120
        while True:  # until the restarted server listens again
            got = user.session.get(
                user.url(user.server_url() + "api/contents/notes.txt"),
                headers={"Authorization": f"token {token}"},  # tokens live in the database too
                timeout=30,
            )
            if got.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert got.status_code == 200, got.text
        assert got.json()["content"] == "written in the first run"
        running = process_tree(again.proc.pid)
        assert_tree_has_everything(running, state)
        again.proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert again.finish() == 0
        assert not still_running(running)
        assert not processes_mentioning(str(state))
    finally:
        again.kill()

    purge = run_dev("down", "--purge", "--state-dir", str(state))
    assert purge.returncode == 0, purge.stderr
    assert not state.exists()


def test_a_hub_that_fails_stops_the_run_and_shows_the_end_of_its_log(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text('hub:\n  extraConfig:\n    boom: raise RuntimeError("boom from the e2e test")\n')
    state = state_dir("cli-failing")
    proc = subprocess.run(
        [str(DEV), "up", "--port", str(free_port()), "--state-dir", str(state), "-f", str(bad)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 1, proc.stdout
    assert "is CrashLoopBackOff" in proc.stderr, proc.stderr
    assert "boom from the e2e test" in proc.stderr  # the hub log's last lines
    assert not processes_mentioning(str(state))


def test_a_missing_values_file_is_named(tmp_path):
    missing = tmp_path / "nope.yaml"
    proc = run_dev(
        "up", "--port", str(free_port()), "--state-dir", str(tmp_path / "s"), "-f", str(missing)
    )
    assert proc.returncode == 1
    assert f"values file {missing} does not exist" in proc.stderr


def test_a_release_left_pending_install_by_ctrl_c_is_installed_afresh():
    """Ctrl-C during the first `helm upgrade --install` leaves the release
    pending-install (helm is killed half-way); the next `ci/dev up` must not
    stop at helm's "another operation is in progress"."""
    state = state_dir("cli-pending")
    port = free_port()
    first = DevUp(state, port)
    try:
        first.wait_for(re.compile(r"kubesim: ready at "))
        # helm writes the release Secret with status pending-install before it
        # creates anything; --wait keeps it so until the hub is ready
        watch = "get secrets -n jhub -l owner=helm,status=pending-install --watch -o name"
        pending = first_line_of(
            [str(DEV), "kubectl", "--state-dir", str(state), *watch.split()], timeout=300
        )
        assert pending == "secret/sh.helm.release.v1.jhub.v1", pending
        first.proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert first.finish() == 0
    finally:
        first.kill()
    assert not processes_mentioning(str(state))

    again = DevUp(state, port)
    try:
        again.wait_for(READY)
        said = "\n".join(again.lines)
        assert "release jhub was left pending-install" in said, said
        assert "helm uninstall jhub --namespace jhub --wait" in said, said
        status = run_dev("helm", "--state-dir", str(state), "status", "jhub", "-n", "jhub")
        assert "STATUS: deployed" in status.stdout, status.stdout + status.stderr
        again.proc.send_signal(signal.SIGINT)
        assert again.finish() == 0
    finally:
        again.kill()
    run_dev("down", "--purge", "--state-dir", str(state))
