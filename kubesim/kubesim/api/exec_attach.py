"""pods/exec and pods/attach over WebSocket: the kubelet's channel protocols.

Each binary message is one channel byte and data: 0 stdin (client to
server), 1 stdout, 2 stderr, 3 error (the final Status), 4 resize (JSON
`{"Width": .., "Height": ..}`). Subprotocols as the kubelet's remotecommand
server (k8s.io/kubelet/pkg/cri/streaming/remotecommand/websocket.go) offers
them: `v5.channel.k8s.io` (v4 plus the client's close signal, message
`[255, channel]`, which half-closes stdin), `v4.channel.k8s.io` (the error
channel carries a JSON Status: Success, or Failure with reason
NonZeroExitCode and an ExitCode cause), `channel.k8s.io` (error channel:
plain text, nothing on success) and their `base64.` variants (text messages,
the channel as an ASCII digit, data in base64). Like the kubelet, the server
first sends an empty message on the lowest open output channel.

Errors before the upgrade are the API server's (pod not found, which
container, no node yet: 4xx Status) or the kubelet's, which kube-apiserver
passes through unchanged (500, plain text `container not found ("c")` for a
container that is not running). SPDY is not spoken: kubectl 1.30+ tries
WebSocket first and only falls back to SPDY when the upgrade fails, which
here happens only with an error that the SPDY request gets again.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from dataclasses import dataclass

from aiohttp import WSMsgType, web

from kubesim.api import log_requests
from kubesim.model import errors
from kubesim.model.errors import ApiError

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
V4_BASE64 = "v4.base64.channel.k8s.io"
V1 = "channel.k8s.io"
V1_BASE64 = "base64.channel.k8s.io"
PROTOCOLS = (V5, V4, V4_BASE64, V1, V1_BASE64)
STDIN, STDOUT, STDERR, ERROR, RESIZE = range(5)
CLOSE_SIGNAL = 255
CHANNELS = {"stdout": STDOUT, "stderr": STDERR}


@dataclass
class StreamOptions:
    command: list[str]
    container: str
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool


def _flag(query, key: str) -> bool:
    return (query.get(key) or "").lower() in ("1", "true")


def choose_container(pod: dict, wanted: str | None) -> str:
    """kube-apiserver's streamLocation (pkg/registry/core/pod/strategy.go)."""
    if not wanted:
        return log_requests.only_container(pod)
    spec = pod.get("spec") or {}
    every = ("containers", "initContainers", "ephemeralContainers")
    if wanted not in {c["name"] for key in every for c in spec.get(key) or []}:
        raise errors.bad_request(
            f"container {wanted} is not valid for pod {pod['metadata']['name']}"
        )
    return wanted


def parse_options(request: web.Request, pod: dict, kind: str) -> StreamOptions:
    query = request.query
    container = choose_container(pod, query.get("container"))
    if not (pod.get("spec") or {}).get("nodeName"):
        raise errors.bad_request(f"pod {pod['metadata']['name']} does not have a host assigned")
    options = StreamOptions(
        command=query.getall("command", []) if kind == "exec" else [],
        container=container,
        stdin=_flag(query, "stdin"),
        stdout=_flag(query, "stdout"),
        stderr=_flag(query, "stderr"),
        tty=_flag(query, "tty"),
    )
    if options.tty:
        options.stderr = False  # the kubelet folds stderr into the terminal
    if not (options.stdin or options.stdout or options.stderr):
        # the kubelet's remotecommand.NewOptions, answered 400
        raise errors.bad_request("you must specify at least 1 of stdin, stdout, stderr")
    return options


class KubeletError(Exception):
    """An error the kubelet answers before the upgrade (500, plain text)."""


def success_status() -> dict:
    return {"metadata": {}, "status": "Success"}


def exit_status(command: list[str], code: int) -> dict:
    # containerd's exec error, wrapped by the kubelet's ServeExec
    return {
        "metadata": {},
        "status": "Failure",
        "message": "command terminated with non-zero exit code: error executing command "
        f"[{' '.join(command)}], exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def internal_error(message: str) -> dict:
    text = f"error executing command in container: {message}"
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"Internal error occurred: {text}",
        "reason": "InternalError",
        "details": {"causes": [{"message": text}]},
        "code": 500,
    }


def oci_exec_failure(exec_id: str, reason: str) -> str:
    return (
        f'failed to exec in container: failed to start exec "{exec_id}": OCI runtime exec '
        f"failed: exec failed: unable to start container process: {reason}: unknown"
    )


class ChannelSocket:
    """Frames of one negotiated protocol."""

    def __init__(self, ws: web.WebSocketResponse):
        self.ws = ws
        self.protocol = ws.ws_protocol or ""
        self.base64 = "base64" in self.protocol
        self._lock = asyncio.Lock()

    async def send(self, channel: int, data: bytes) -> None:
        async with self._lock:
            if self.ws.closed:
                return
            if self.base64:
                await self.ws.send_str(str(channel) + base64.b64encode(data).decode())
            else:
                await self.ws.send_bytes(bytes([channel]) + data)

    async def send_status(self, status: dict) -> None:
        if self.protocol in (V5, V4, V4_BASE64):
            await self.send(ERROR, json.dumps(status, separators=(",", ":")).encode())
        elif status["status"] != "Success":
            await self.send(ERROR, status["message"].encode())

    def decode(self, message) -> tuple[int, bytes] | None:
        if message.type == WSMsgType.BINARY:
            data = message.data
            if not data:
                return None
            return data[0], data[1:]
        if message.type == WSMsgType.TEXT and message.data:
            text = message.data
            if self.base64:
                return ord(text[0]) - ord("0"), base64.b64decode(text[1:])
            return ord(text[0]), text[1:].encode()
        return None


async def _client_input(sock: ChannelSocket, session, options: StreamOptions) -> None:
    async for message in sock.ws:
        decoded = sock.decode(message)
        if decoded is None:
            continue
        channel, data = decoded
        if sock.protocol == V5 and channel == CLOSE_SIGNAL:
            if data[:1] == bytes([STDIN]):
                session.close_stdin()
            continue
        if channel == STDIN and options.stdin:
            session.write_stdin(data)
        elif channel == RESIZE:
            with contextlib.suppress(ValueError, TypeError, OSError):
                size = json.loads(data)
                session.resize(int(size.get("Width", 0)), int(size.get("Height", 0)))


async def _session_output(sock: ChannelSocket, session) -> None:
    """Output chunks to their channels until the session's end marker (None)."""
    while (item := await session.output.get()) is not None:
        stream, data = item
        await sock.send(CHANNELS[stream], data)


def final_status(kind: str, options: StreamOptions, session, code: int) -> dict:
    if session.failure:
        return internal_error(oci_exec_failure(session.exec_id, session.failure))
    if code and kind == "exec":
        return exit_status(options.command, code)
    return success_status()


async def serve(request: web.Request, kind: str, options: StreamOptions, prepare):
    """Upgrade, run the session, send its final Status on the error channel, close.

    `prepare()` is the kubelet's part: it raises KubeletError (answered before
    the upgrade) or returns the coroutine function that starts the session."""
    upgrade = request.headers.get("Upgrade", "").lower()
    if not upgrade:
        raise ApiError(400, "BadRequest", "Upgrade request required")
    try:
        start = prepare()
    except KubeletError as error:
        return web.Response(status=500, text=str(error), content_type="text/plain")
    if upgrade != "websocket":
        return web.Response(
            status=400,
            text=f"kubesim speaks only WebSocket ({', '.join(PROTOCOLS[:2])}) for pods/{kind}; "
            f"SPDY ({upgrade}) is not implemented",
            content_type="text/plain",
        )
    ws = web.WebSocketResponse(protocols=PROTOCOLS)
    await ws.prepare(request)
    sock = ChannelSocket(ws)
    first = STDOUT if options.stdout else STDERR if options.stderr else ERROR
    await sock.send(first, b"")
    session = await start()
    loop = asyncio.get_running_loop()
    reader = loop.create_task(_client_input(sock, session, options))
    finished = loop.create_task(_run(sock, session))
    try:
        done, _ = await asyncio.wait({reader, finished}, return_when=asyncio.FIRST_COMPLETED)
        if finished in done:
            await sock.send_status(final_status(kind, options, session, finished.result()))
    finally:
        for task in (reader, finished):
            task.cancel()
        session.kill()  # exec: the client went away; attach: detach
        with contextlib.suppress(Exception):
            await ws.close()
    return ws


async def _run(sock: ChannelSocket, session) -> int:
    """Forward the output until it ends, then the exit code."""
    await _session_output(sock, session)
    return await session.wait()
