"""Processes ci/dev starts: each in its own session (so Ctrl-C reaches only
ci/dev, which then stops them in order), output to a log file, a pid file in
the state folder so `ci/dev down` can find them, and a clean stop of the
whole process group."""

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class ComponentFailed(RuntimeError):
    """A component did not come up; the message ends with its log's tail."""


def tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


class ManagedProcess:
    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        log: Path,
        cwd: Path | None = None,
        pid_dir: Path | None = None,
    ):
        self.name = name
        self.argv = argv
        self.env = env
        self.log = log
        self.cwd = cwd
        self.pid_dir = pid_dir
        self.proc: subprocess.Popen | None = None

    @property
    def pid_file(self) -> Path | None:
        return self.pid_dir / f"{self.name}.pid" if self.pid_dir else None

    def start(self) -> "ManagedProcess":
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            out.write(f"\n=== {time.strftime('%H:%M:%S')} starting {self.argv}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        if self.pid_file:
            self.pid_file.parent.mkdir(parents=True, exist_ok=True)
            self.pid_file.write_text(str(self.proc.pid))
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def failure(self, what: str) -> ComponentFailed:
        return ComponentFailed(f"{self.name} {what}; last lines of {self.log}:\n{tail(self.log)}")

    def wait_until(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll `check` until it is true; fail early if the process exits."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.alive():
                code = self.proc.returncode if self.proc else None
                raise self.failure(f"exited with code {code} before {what}")
            try:
                if check():
                    return
            except Exception:  # noqa: BLE001 - not ready yet, whatever the reason
                pass
            if time.monotonic() > deadline:
                raise self.failure(f"was not {what} after {timeout:.0f} s")
            time.sleep(0.1)

    def signal_group(self, sig: int) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, grace: float = 10) -> None:
        """SIGTERM the process group, SIGKILL what is left after `grace`."""
        if self.proc is None:
            return
        if self.alive():
            self.signal_group(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        # children of the leader (e.g. the culler under the hub) too
        self.signal_group(signal.SIGKILL)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        if self.pid_file:
            self.pid_file.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL, as when a pod's process dies without warning."""
        self.signal_group(signal.SIGKILL)
        if self.proc:
            self.proc.wait(10)


def kill_recorded(pid_dir: Path, grace: float = 10) -> list[str]:
    """Stop process groups recorded in `pid_dir` by an earlier ci/dev that
    did not get to clean up (killed with SIGKILL, machine suspended...)."""
    stopped = []
    if not pid_dir.is_dir():
        return stopped
    for pid_file in sorted(pid_dir.glob("*.pid")):
        try:
            pid = int(pid_file.read_text())
        except (ValueError, FileNotFoundError):
            pid_file.unlink(missing_ok=True)
            continue
        if group_alive(pid):
            for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2)):
                try:
                    os.killpg(pid, sig)
                except ProcessLookupError:
                    break
                deadline = time.monotonic() + wait
                while group_alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.1)
            stopped.append(pid_file.stem)
        pid_file.unlink(missing_ok=True)
    return stopped


def group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process is in process group `pgid`."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        # after the command: state, ppid, pgrp
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False
