"""`python -m kubesim` as a separate process: the command line, and the wait
until it has written its kubeconfig (it does so once requests are accepted).

    process, cli = start_cli(work / "kubeconfig", "--runtime", "process")   # subprocess.Popen
    async with running_cli(tmp_path / "kubeconfig", "--nodes", "0") as (process, cli): ...

`cli` has `url`, `token` and `ca_path` as `KubeSim` does, so
`kubesim.testing.raw_request(cli, ...)` and `api_client_for(cli)` take it.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from kubesim.harness.kubeconfig import read_kubeconfig


class CliFailed(RuntimeError):
    """The CLI exited, or wrote no kubeconfig in time."""


@dataclass(frozen=True)
class CliEndpoint:
    """Where a started CLI serves, from the kubeconfig it wrote."""

    kubeconfig_path: Path
    url: str
    token: str | None
    ca_path: Path | None  # with --https: the kubeconfig's CA, written beside it


def cli_command(kubeconfig: Path, *args: str, python: str = sys.executable) -> list[str]:
    """The argv of `python -m kubesim` on a free port writing `kubeconfig`."""
    return [python, "-m", "kubesim", "--port", "0", "--write-kubeconfig", str(kubeconfig), *args]


def wait_for_kubeconfig(
    kubeconfig: Path, returncode: Callable[[], int | None], timeout: float = 60.0
) -> CliEndpoint:
    """Wait until the CLI wrote `kubeconfig` (atomically, so it is whole once it
    exists); `returncode()` is the process's exit code, None while it runs.
    There is no event to wait on across processes short of inotify, so this
    looks every 0.1 s."""
    kubeconfig = Path(kubeconfig)
    deadline = time.monotonic() + timeout
    while not kubeconfig.exists():
        code = returncode()
        if code is not None:
            raise CliFailed(f"kubesim exited with code {code} before writing {kubeconfig}")
        if time.monotonic() > deadline:
            raise CliFailed(f"kubesim wrote no kubeconfig at {kubeconfig} within {timeout:.0f} s")
        time.sleep(0.1)
    server, token, ca_pem = read_kubeconfig(kubeconfig)
    ca_path = None
    if ca_pem is not None:
        ca_path = kubeconfig.with_name(kubeconfig.name + ".ca.crt")
        ca_path.write_bytes(ca_pem)
    return CliEndpoint(kubeconfig, server, token, ca_path)


def forget_stale(kubeconfig: Path) -> None:
    """Remove a kubeconfig an earlier run left: it must not count as this one's."""
    Path(kubeconfig).unlink(missing_ok=True)


def start_cli(
    kubeconfig: Path,
    *args: str,
    python: str = sys.executable,
    timeout: float = 60.0,
    **popen,
) -> tuple[subprocess.Popen, CliEndpoint]:
    """Start the CLI with `subprocess.Popen(..., **popen)` and wait for its
    kubeconfig; a stale one from an earlier run is removed first. On failure
    the process is killed and CliFailed raised."""
    forget_stale(kubeconfig)
    process = subprocess.Popen(cli_command(kubeconfig, *args, python=python), **popen)
    try:
        return process, wait_for_kubeconfig(kubeconfig, process.poll, timeout)
    except BaseException:
        process.kill()
        process.wait()
        raise


@contextlib.asynccontextmanager
async def running_cli(
    kubeconfig: Path, *args: str, timeout: float = 60.0, **subprocess_options
) -> AsyncIterator[tuple[asyncio.subprocess.Process, CliEndpoint]]:
    """The same with an asyncio subprocess (`stdout=PIPE` etc. pass through),
    killed on the way out if still running."""
    forget_stale(kubeconfig)
    process = await asyncio.create_subprocess_exec(
        *cli_command(kubeconfig, *args), **subprocess_options
    )
    try:
        endpoint = await asyncio.to_thread(
            wait_for_kubeconfig, kubeconfig, lambda: process.returncode, timeout
        )
        yield process, endpoint
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
