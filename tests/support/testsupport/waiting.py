"""Polling for what gives no event to wait on (a process's HTTP answer, the
hub's REST model). Waits on kubesim's objects use kubesim.testing.wait_for,
which follows watch events instead."""

import time
from collections.abc import Callable


def poll_until(
    check: Callable[[], object],
    what: str,
    timeout: float,
    interval: float = 0.25,
    processes=(),
):
    """Call `check()` until it returns something truthy, and return that.
    `processes` (with `alive()` and `log()`) fail the wait early, with their
    log, when one of them exits; a timeout shows the last result and the logs."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        for process in processes:
            if not process.alive():
                raise AssertionError(f"{what}: process exited:\n{process.log()[-3000:]}")
        time.sleep(interval)
    logs = "".join("\n" + p.log()[-3000:] for p in processes)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r}){logs}")
