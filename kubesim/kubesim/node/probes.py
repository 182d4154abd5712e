"""Container probes (httpGet, tcpSocket, exec) and the loop that runs them.

httpGet and tcpSocket go to the pod IP (or `host`), on a number or a named
container port; HTTP 200-399 passes. With the pause runtime nothing listens,
so network probes pass (there is nothing to check) - the process runtime
probes for real.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable

import aiohttp

DEFAULTS = {
    "initialDelaySeconds": 0,
    "periodSeconds": 10,
    "timeoutSeconds": 1,
    "successThreshold": 1,
    "failureThreshold": 3,
}


def probe_setting(probe: dict, key: str) -> float:
    value = probe.get(key)
    return DEFAULTS[key] if value is None else value


def resolve_port(port, container: dict) -> int:
    if isinstance(port, int):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    for item in container.get("ports") or []:
        if item.get("name") == port:
            return int(item["containerPort"])
    raise ValueError(f"container {container.get('name')!r} has no port named {port!r}")


async def http_probe(action: dict, pod_ip: str, container: dict, timeout: float) -> bool:
    port = resolve_port(action.get("port"), container)
    scheme = (action.get("scheme") or "HTTP").lower()
    host = action.get("host") or pod_ip
    path = action.get("path") or "/"
    if not path.startswith("/"):
        path = "/" + path
    headers = {"User-Agent": "kube-probe/1.33", "Accept": "*/*"}
    for header in action.get("httpHeaders") or []:
        headers[header["name"]] = header["value"]
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.get(
                f"{scheme}://{host}:{port}{path}",
                headers=headers,
                allow_redirects=False,
                ssl=context if scheme == "https" else False,
            ) as response,
        ):
            return 200 <= response.status < 400
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError):
        return False


async def tcp_probe(action: dict, pod_ip: str, container: dict, timeout: float) -> bool:
    try:
        port = resolve_port(action.get("port"), container)
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(action.get("host") or pod_ip, port), timeout
        )
    except (TimeoutError, OSError, ValueError):
        return False
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return True


class Prober:
    """Runs one probe periodically and reports success/failure transitions.

    on_result(passed) is called whenever the thresholded result changes:
    True after successThreshold successes in a row, False after
    failureThreshold failures in a row.
    """

    def __init__(
        self,
        probe: dict,
        check: Callable[[float], Awaitable[bool]],
        on_result: Callable[[bool], None],
        initial: bool | None = None,
    ):
        """`initial`: None for readiness/startup (unknown until probed), True for liveness."""
        self.probe = probe
        self.check = check
        self.on_result = on_result
        self.result: bool | None = initial
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        await asyncio.sleep(probe_setting(self.probe, "initialDelaySeconds"))
        successes = failures = 0
        period = probe_setting(self.probe, "periodSeconds")
        timeout = probe_setting(self.probe, "timeoutSeconds")
        while True:
            passed = await self.check(timeout)
            if passed:
                successes, failures = successes + 1, 0
            else:
                successes, failures = 0, failures + 1
            outcome = self.result
            if passed and successes >= probe_setting(self.probe, "successThreshold"):
                outcome = True
            elif not passed and failures >= probe_setting(self.probe, "failureThreshold"):
                outcome = False
            if outcome is not None and outcome != self.result:
                self.result = outcome
                self.on_result(outcome)
            await asyncio.sleep(period)

    def stop(self) -> None:
        self._task.cancel()
