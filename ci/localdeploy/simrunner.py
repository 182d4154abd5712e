"""Start kubesim as a process and wait until it answers."""

import sys
import time
from pathlib import Path

from kubesim.testing import CliFailed, cli_command, forget_stale, wait_for_kubeconfig

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
    argv = cli_command(
        kubeconfig,
        *("--nodes", str(nodes), "--runtime", "process", "--state-dir", str(state_dir)),
        # in-cluster clients only speak HTTPS with a CA file and a token
        "--https",
        *("--log-level", "INFO"),
        # what our images hold (ENTRYPOINT/CMD/ENV/WORKDIR, files): see images.yaml
        *("--image-rules", str(image_rules)),
        *extra_args,
        python=sys.executable,
    )
    return ManagedProcess("kubesim", argv, env, log, pid_dir=pid_dir)


def start_kubesim(proc: ManagedProcess, kubeconfig: Path, timeout: float = 60) -> KubeClient:
    """Start `proc` and return a client once kubesim wrote its kubeconfig
    and answers /version."""
    forget_stale(kubeconfig)
    started = time.monotonic()
    proc.start()
    try:
        wait_for_kubeconfig(kubeconfig, proc.proc.poll, timeout)
    except CliFailed as failed:
        raise proc.failure(str(failed).removeprefix("kubesim ")) from None
    client: list[KubeClient] = []

    def answers() -> bool:
        c = KubeClient.from_kubeconfig(kubeconfig)
        c.request("GET", "/version")
        client.append(c)
        return True

    left = max(1.0, timeout - (time.monotonic() - started))
    proc.wait_until(answers, left, "answering on the address in its kubeconfig")
    return client[-1]
