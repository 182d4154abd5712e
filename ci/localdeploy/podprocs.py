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


def container_pids(kubesim_pid: int, pod_name: str) -> list[int]:
    """Pids of the pod's containers: kubesim's children whose HOSTNAME is the pod."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _ppid(int(entry.name)) == kubesim_pid:
            if _hostname(int(entry.name)) == pod_name:
                found.append(int(entry.name))
    return sorted(found)
