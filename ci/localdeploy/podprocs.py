"""The local process of a pod's container on kubesim's process runtime
(tests and benchmarks read its /proc: CPU, environment, mounts).

kubesim starts each container as its own child, and the process runtime
sets HOSTNAME to the pod's name, as a container runtime does."""

from pathlib import Path


def _ppid(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _hostname(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    for item in raw.split(b"\0"):
        if item.startswith(b"HOSTNAME="):
            return item[len(b"HOSTNAME=") :].decode(errors="replace")
    return None


# What kubesim's process runtime wraps a container's command in (mount and
# PID namespaces, the user switch, the namespace's init).
WRAPPERS = {"unshare", "sh", "setpriv", "nsenter"}


def _argv0(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    except OSError:
        return ""
    return Path(raw.decode(errors="replace")).name


def container_pids(kubesim_pid: int, pod_name: str) -> list[int]:
    """Pids of the pod's containers' commands: below kubesim's children whose
    HOSTNAME is the pod, the first process that is not one of kubesim's wrappers."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            children.setdefault(_ppid(int(entry.name)), []).append(int(entry.name))
    found = []
    for top in children.get(kubesim_pid, []):
        if _hostname(top) != pod_name:
            continue
        level = [top]
        while level:
            commands = [p for p in level if _argv0(p) not in WRAPPERS]
            if commands:
                found += commands
                break
            level = [c for p in level for c in children.get(p, [])]
    return sorted(found)
