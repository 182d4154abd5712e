"""The pause runtime: containers without processes, driven by timers only.

A container "runs" forever unless its image rule says it exits
(`exit_code`/`run_seconds`); init containers exit 0 at once by default
(sidecars, restartPolicy Always, keep running). On
stop it exits after `delays.terminating` seconds with code 0, or is killed
with 137 when that is longer than the grace period. No polling and no task
per container: each handle is a future plus at most one timer, so thousands
of pods cost little.
"""

from __future__ import annotations

import asyncio

from kubesim.node.node_settings import Delays
from kubesim.node.runtime import ContainerLaunch, new_container_id

SIGKILL_EXIT = 137


class PauseHandle:
    def __init__(self, exit_after: float | None, exit_code: int, delays: Delays):
        self.container_id = new_container_id()
        self._delays = delays
        self._loop = asyncio.get_running_loop()
        self._exited: asyncio.Future[int] = self._loop.create_future()
        self._timer = None
        if exit_after is not None:
            self._timer = self._loop.call_later(exit_after, self._exit, exit_code)

    def _exit(self, code: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._exited.done():
            self._exited.set_result(code)

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)

    async def stop(self, grace: float) -> int:
        if not self._exited.done():
            takes = self._delays.terminating
            if takes <= grace:
                if self._timer is None or self._timer.when() > self._loop.time() + takes:
                    if self._timer is not None:
                        self._timer.cancel()
                    self._timer = self._loop.call_later(takes, self._exit, 0)
            else:
                if self._timer is not None:
                    self._timer.cancel()
                self._timer = self._loop.call_later(grace, self._exit, SIGKILL_EXIT)
        return await self.wait()

    def kill(self) -> None:
        self._exit(SIGKILL_EXIT)


def pause_handle(launch: ContainerLaunch, delays: Delays) -> PauseHandle:
    """A container without a process (also the process runtime's, for images
    whose rule says `pause`)."""
    rule = launch.rule
    exit_code = 0
    sidecar = launch.container.get("restartPolicy") == "Always"
    exit_after = 0.0 if launch.init and not sidecar else None
    if rule is not None and (rule.exit_code is not None or rule.run_seconds is not None):
        exit_code = rule.exit_code or 0
        exit_after = rule.run_seconds or 0.0
    return PauseHandle(exit_after, exit_code, delays)


class PauseRuntime:
    name = "pause"

    def __init__(self, delays: Delays):
        self.delays = delays

    async def start(self, launch: ContainerLaunch) -> PauseHandle:
        return pause_handle(launch, self.delays)

    def validate(self, launch: ContainerLaunch) -> None:
        pass  # any image "runs"

    def open_stream(self, handle, kind: str, options):
        """pods/exec fails as in an image without the binary; attach sees no output."""
        from kubesim.node.process_exec import FailedExec, IdleAttach

        async def start():
            if kind == "attach":
                return IdleAttach(handle)
            program = options.command[0] if options.command else ""
            return FailedExec(f'exec: "{program}": executable file not found in $PATH')

        return start

    async def exec_probe(self, launch, handle, command, timeout) -> bool:
        return True  # nothing runs, so there is nothing to fail

    @property
    def probes_reach_network(self) -> bool:
        return False

    async def close(self) -> None:
        pass
