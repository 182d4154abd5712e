"""CPU seconds of the processes the benchmark watches, from /proc."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (not its children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # after the command: state is field 3, so utime (14) and stime (15) sit at 11, 12
    return (int(fields[11]) + int(fields[12])) / TICKS


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def group_members(pgid: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return sorted(members)


def find_hub_pid(leader: int) -> int:
    """The jupyterhub process in the hub's process group. The group leader
    may be a wrapper (ci/dev starts the hub under `unshare ... exec`), and
    the hub's own services (the idle culler) are in the group too."""
    for pid in [leader, *group_members(leader)]:
        argv = cmdline(pid)
        if any(Path(a).name == "jupyterhub" for a in argv[:2]):
            return pid
    raise RuntimeError(f"no jupyterhub process in process group {leader}: {group_members(leader)}")


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def stop_leftovers(pids: dict[int, list[str]], grace: float = 5) -> list[int]:
    """SIGTERM, then SIGKILL, the processes in `pids` (pid -> its command
    line when recorded) that still run that same command. The hub starts
    its services (the idle culler) in their own sessions, so stopping the
    hub's process group leaves them behind when the hub itself was killed."""
    alive = [pid for pid, argv in pids.items() if argv and cmdline(pid) == argv]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(cmdline(p) for p in alive):
            time.sleep(0.1)
        alive = [pid for pid in alive if cmdline(pid)]
        if not alive:
            break
    return list(pids)


def memory_mib(pid: int) -> tuple[float, float]:
    """(resident now, peak resident) of one process in MiB: VmRSS, VmHWM."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024  # kB
    return fields["VmRSS"], fields["VmHWM"]


def reset_peak_memory(pid: int) -> bool:
    """Start the peak (VmHWM) afresh at the current RSS, so a scenario's peak
    is its own (Linux >= 4.0, `5` to clear_refs); False where not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False
