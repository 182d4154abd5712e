"""pods/exec and pods/attach on the process runtime: streams into a running container.

An exec'd process runs as the container's own: its environment, working
directory, user and groups (`ExecContext`), and, in namespace mode, inside
the container's mount, PID and UTS namespaces (`nsenter -t <init> -m -p -u`), so it
sees the container's volumes where the pod spec mounts them and dies with the
container. With `tty` it gets a pseudo-terminal (stderr then goes to it too,
as the kubelet folds stderr into the tty) that `resize` sizes.

When the command cannot be started (no such executable, working directory
gone) the session's `failure` holds the runtime's message, which the API
answers as containerd's "OCI runtime exec failed" InternalError.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import secrets
import signal
import struct
import termios

from kubesim.node.process_runtime import ExecContext, ProcessHandle

# Checks what runc would refuse before the exec (reported on the status fd; bash, as
# dash knows no fd above 9), then becomes
# the command, as the container's user.
_EXEC_SCRIPT = r"""
fd=$1; shift
cd "$1" 2>/dev/null || {
  printf 'chdir to cwd ("%s") set in config.json failed: no such file or directory' "$1" >&$fd
  exit 126
}
user=$2; group=$3; groups=$4; shift 5
case "$1" in
  */*) [ -e "$1" ] || { printf 'exec: "%s": stat %s: no such file or directory' "$1" "$1" >&$fd; exit 127; } ;;
  *) command -v "$1" >/dev/null 2>&1 || {
       printf 'exec: "%s": executable file not found in $PATH' "$1" >&$fd; exit 127; } ;;
esac
eval "exec $fd>&-"
if [ -n "$user" ]; then
  if [ -n "$groups" ]; then
    exec setpriv --reuid="$user" --regid="$group" --groups="$groups" -- "$@"
  fi
  exec setpriv --reuid="$user" --regid="$group" --clear-groups -- "$@"
fi
exec "$@"
"""


def exec_argv(
    context: ExecContext, init_pid: int | None, command: list[str], tty: bool, status_fd: int
):
    user = "" if context.run_as_user is None or os.geteuid() != 0 else str(context.run_as_user)
    group = str(context.run_as_group if context.run_as_group is not None else 0)
    groups = ",".join(str(g) for g in context.supplemental_groups)
    argv = ["/bin/bash", "-c", _EXEC_SCRIPT, "kubesim-exec", str(status_fd), context.workdir]
    argv += [user, group, groups]
    argv += ["--", *command]
    if tty:
        argv = ["setsid", "--ctty", *argv]  # the terminal becomes the controlling one
    if init_pid is not None:
        argv = ["nsenter", "-t", str(init_pid), "-m", "-p", "-u", "--", *argv]
    return argv


class StreamSession:
    """Output chunks in `output` ((stream, bytes), then None at the end), stdin in."""

    failure: str | None = None

    def __init__(self):
        self.output: asyncio.Queue = asyncio.Queue()
        self.exec_id = secrets.token_hex(32)  # containerd names each exec

    def write_stdin(self, data: bytes) -> None:
        raise NotImplementedError

    def close_stdin(self) -> None:
        pass

    def resize(self, width: int, height: int) -> None:
        pass

    async def wait(self) -> int:
        raise NotImplementedError

    def kill(self) -> None:
        pass


class ExecSession(StreamSession):
    def __init__(self, process, status_fd: int, master_fd: int | None, readers: int):
        super().__init__()
        self.process = process
        self._status_fd = status_fd
        self._master = master_fd
        self._open_readers = readers
        self._done = asyncio.get_running_loop().create_task(self._wait())
        if master_fd is not None:
            asyncio.get_running_loop().add_reader(master_fd, self._read_master)
        for stream, reader in (("stdout", process.stdout), ("stderr", process.stderr)):
            if reader is not None:
                asyncio.get_running_loop().create_task(self._pump(stream, reader))
        if readers == 0:
            self.output.put_nowait(None)

    def _reader_done(self) -> None:
        self._open_readers -= 1
        if self._open_readers == 0:
            self.output.put_nowait(None)

    async def _pump(self, stream: str, reader: asyncio.StreamReader) -> None:
        while chunk := await reader.read(65536):
            self.output.put_nowait((stream, chunk))
        self._reader_done()

    def _read_master(self) -> None:
        try:
            chunk = os.read(self._master, 65536)
        except OSError:  # EIO: every holder of the terminal is gone
            chunk = b""
        if chunk:
            self.output.put_nowait(("stdout", chunk))
            return
        asyncio.get_running_loop().remove_reader(self._master)
        self._reader_done()

    async def _wait(self) -> int:
        code = await self.process.wait()
        try:
            message = os.read(self._status_fd, 4096).decode(errors="replace")
        except OSError:
            message = ""
        os.close(self._status_fd)
        if message:
            self.failure = message
        return 128 - code if code < 0 else code

    def write_stdin(self, data: bytes) -> None:
        if self._master is not None:
            os.write(self._master, data)
        elif self.process.stdin is not None and not self.process.stdin.is_closing():
            self.process.stdin.write(data)

    def close_stdin(self) -> None:
        if self._master is not None:
            os.write(self._master, b"\x04")  # end of file, as a terminal types it
        elif self.process.stdin is not None:
            self.process.stdin.close()

    def resize(self, width: int, height: int) -> None:
        if self._master is not None:
            fcntl.ioctl(self._master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))

    async def wait(self) -> int:
        code = await asyncio.shield(self._done)
        if self._master is not None:
            # the terminal's last output may still be buffered: read it before closing
            while self._open_readers:
                await asyncio.sleep(0.01)
            os.close(self._master)
            self._master = None
        return code

    def kill(self) -> None:
        if self.process.returncode is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


async def start_exec(
    handle: ProcessHandle, command: list[str], stdin: bool, stdout: bool, stderr: bool, tty: bool
) -> ExecSession:
    context = handle.context
    status_read, status_write = os.pipe()
    argv = exec_argv(context, handle.init_pid(), command, tty, status_write)
    os.set_blocking(status_read, False)
    master = slave = None
    if tty:
        master, slave = os.openpty()
        os.set_blocking(master, False)
        streams = {"stdin": slave, "stdout": slave, "stderr": slave}
        readers = 1
    else:
        pipe, null = asyncio.subprocess.PIPE, asyncio.subprocess.DEVNULL
        streams = {
            "stdin": pipe if stdin else null,
            "stdout": pipe if stdout else null,
            "stderr": pipe if stderr else null,
        }
        readers = int(stdout) + int(stderr)
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            env=context.env,
            start_new_session=True,
            pass_fds=(status_write,),
            **streams,
        )
    finally:
        os.close(status_write)
        if slave is not None:
            os.close(slave)
    return ExecSession(process, status_read, master, readers)


class AttachSession(StreamSession):
    """The main process's stdio: its output from now on, and its stdin pipe."""

    def __init__(self, handle: ProcessHandle, stdin: bool, stdout: bool, stderr: bool):
        super().__init__()
        self.handle = handle
        self._streams = {s for s, on in (("stdout", stdout), ("stderr", stderr)) if on}
        self._stdin = handle.process.stdin if stdin else None
        handle.listeners.add(self._listen)
        self._done = asyncio.get_running_loop().create_task(self._wait())
        handle.attached += 1

    def _listen(self, stream: str, data: bytes) -> None:
        if stream in self._streams:
            self.output.put_nowait((stream, data))

    async def _wait(self) -> int:
        code = await self.handle.wait()
        self.output.put_nowait(None)
        return code

    def write_stdin(self, data: bytes) -> None:
        if self._stdin is not None and not self._stdin.is_closing():
            self._stdin.write(data)

    def close_stdin(self) -> None:
        # stdinOnce: the container's stdin closes when its first attach ends
        if self._stdin is not None and self.handle.container.get("stdinOnce"):
            self._stdin.close()

    async def wait(self) -> int:
        return await asyncio.shield(self._done)

    def kill(self) -> None:
        """The client went away: detach (the container keeps running)."""
        self.handle.listeners.discard(self._listen)
        self.close_stdin()
        if not self._done.done():
            self._done.cancel()
            self.output.put_nowait(None)


class FailedExec(StreamSession):
    """An exec that never starts (the pause runtime's containers run no binary)."""

    def __init__(self, failure: str):
        super().__init__()
        self.failure = failure
        self.output.put_nowait(None)

    def write_stdin(self, data: bytes) -> None:
        pass

    async def wait(self) -> int:
        return 0


class IdleAttach(StreamSession):
    """Attached to a container that prints nothing: ends when the container exits."""

    def __init__(self, handle):
        super().__init__()
        self._done = asyncio.get_running_loop().create_task(handle.wait())
        self._done.add_done_callback(lambda _: self.output.put_nowait(None))

    def write_stdin(self, data: bytes) -> None:
        pass

    async def wait(self) -> int:
        return await asyncio.shield(self._done)

    def kill(self) -> None:
        self._done.cancel()
