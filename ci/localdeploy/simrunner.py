"""Start kubesim as a process and wait until it answers."""

import sys
from pathlib import Path

from .kubeapi import KubeClient
from .procs import ManagedProcess


def kubesim_process(
    kubeconfig: Path,
    state_dir: Path,
    log: Path,
    env: dict[str, str],
    pid_dir: Path,
    image_rules: Path,
    nodes: int = 1,
    extra_args: tuple[str, ...] = (),
) -> ManagedProcess:
    argv = [
        sys.executable,
        "-m",
        "kubesim",
        "--port",
        "0",
        "--write-kubeconfig",
        str(kubeconfig),
        "--nodes",
        str(nodes),
        "--runtime",
        "process",
        "--state-dir",
        str(state_dir),
        # in-cluster clients only speak HTTPS with a CA file and a token
        "--https",
        "--log-level",
        "INFO",
        # what our images hold (ENTRYPOINT/CMD/ENV/WORKDIR, files): see images.yaml
        "--image-rules",
        str(image_rules),
        *extra_args,
    ]
    return ManagedProcess("kubesim", argv, env, log, pid_dir=pid_dir)


def start_kubesim(proc: ManagedProcess, kubeconfig: Path, timeout: float = 60) -> KubeClient:
    """Start `proc` and return a client once kubesim wrote its kubeconfig
    and answers /version."""
    if kubeconfig.exists():
        kubeconfig.unlink()  # a stale one from an earlier run must not count
    proc.start()
    client: list[KubeClient] = []

    def answers() -> bool:
        if not kubeconfig.exists():
            return False
        c = KubeClient.from_kubeconfig(kubeconfig)
        c.request("GET", "/version")
        client.append(c)
        return True

    proc.wait_until(answers, timeout, "answering on the address in its kubeconfig")
    return client[-1]
