"""The hub's REST API as the benchmark drives it: create users, start one
server per user and time it until the hub calls it ready, stop them all.

Readiness comes from the hub itself: a POST answers 201 when the server was
ready within the hub's slow_spawn_timeout, else 202 (always, with the
chart's slow_spawn_timeout of 0); then the progress event stream says
`ready` or `failed`."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp


@dataclass
class SpawnResult:
    user: str
    seconds: float | None  # from the POST to ready; None when it failed
    error: str = ""
    throttled: int = 0  # 429 answers (concurrent spawn limit) before it went through


def one_line(message: str, limit: int = 160) -> str:
    """The first non-empty line, so the same failure counts once in the summary."""
    line = next((part.strip() for part in message.splitlines() if part.strip()), "")
    return line[:limit]


class HubApi:
    def __init__(self, base_url: str, token: str, timeout: float):
        self.api = base_url.rstrip("/") + "/hub/api/"
        self.timeout = timeout
        self.session = aiohttp.ClientSession(
            headers={"Authorization": f"token {token}"},
            # every user at once: no client-side connection cap
            # a new connection per request: the proxy closes idle keep-alive
            # connections after 5 s, and a request racing that close fails
            connector=aiohttp.TCPConnector(limit=0, force_close=True),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=30),
        )

    async def close(self) -> None:
        await self.session.close()

    async def _json(self, method: str, path: str, body=None, ok=(200, 201)) -> dict | list:
        async with self.session.request(
            method, self.api + path, json=body, timeout=aiohttp.ClientTimeout(total=120)
        ) as resp:
            text = await resp.text()
            if resp.status not in ok:
                raise RuntimeError(f"{method} {path} answered {resp.status}: {text[:300]}")
            return json.loads(text) if text else {}

    async def version(self) -> str:
        return (await self._json("GET", ""))["version"]

    async def generated_token(self, owner: str, scopes: list[str]) -> str:
        """A token the hub generates itself for admin user `owner`.

        The hub checks a token from its config (our service's apiToken) with
        16384 rounds of SHA-512 on every request, about 10 ms of its CPU;
        tokens it generates take one round. Browsers use cookies, not
        tokens, so the benchmark must not charge that hashing to spawns."""
        found = await self._json("GET", f"users/{quote(owner)}", ok=(200, 404))
        if not found.get("name"):
            await self._json("POST", f"users/{quote(owner)}", {"admin": True}, ok=(201,))
        made = await self._json(
            "POST", f"users/{quote(owner)}/tokens", {"note": "bench-hub", "scopes": scopes}
        )
        return made["token"]

    async def create_users(self, names: list[str]) -> None:
        await self._json("POST", "users", {"usernames": names}, ok=(201,))

    async def user(self, name: str) -> dict:
        return await self._json("GET", f"users/{quote(name)}")

    # --- one spawn, timed ------------------------------------------------------
    async def spawn(self, name: str, options: dict) -> SpawnResult:
        path = f"users/{quote(name)}/server"
        started = time.perf_counter()
        deadline = started + self.timeout
        throttled = 0
        try:
            while True:
                async with self.session.post(
                    self.api + path,
                    json=options,
                    timeout=aiohttp.ClientTimeout(total=max(1.0, deadline - time.perf_counter())),
                ) as resp:
                    status, text = resp.status, await resp.text()
                    retry_after = float(resp.headers.get("Retry-After", "1") or 1)
                if status == 201:
                    return SpawnResult(name, time.perf_counter() - started, throttled=throttled)
                if status == 202:
                    error = await self._follow_progress(name, deadline)
                    if error:
                        return SpawnResult(name, None, error, throttled)
                    return SpawnResult(name, time.perf_counter() - started, throttled=throttled)
                if status == 429 and time.perf_counter() + retry_after < deadline:
                    throttled += 1
                    # As a user told "Try again in 40 seconds" does: retrying
                    # sooner only adds rejected POSTs to the hub's load (with
                    # a 5 s cap, 936 waiting users kept a hub busy answering 429).
                    await asyncio.sleep(retry_after)
                    continue
                return SpawnResult(
                    name, None, one_line(f"POST answered {status}: {text}"), throttled
                )
        except TimeoutError:
            return SpawnResult(name, None, f"not ready after {self.timeout:.0f} s", throttled)
        except aiohttp.ClientError as err:
            return SpawnResult(name, None, f"{type(err).__name__}: {err}", throttled)

    async def _follow_progress(self, name: str, deadline: float) -> str:
        """'' once the progress stream says ready, else why not."""
        path = f"users/{quote(name)}/server/progress"
        async with self.session.get(
            self.api + path,
            headers={"Accept": "text/event-stream"},
            timeout=aiohttp.ClientTimeout(total=max(1.0, deadline - time.perf_counter())),
        ) as resp:
            if resp.status != 200:
                return f"progress answered {resp.status}"
            async for raw in resp.content:
                line = raw.decode(errors="replace").strip()
                if not line.startswith("data:"):
                    continue
                event = json.loads(line[len("data:") :])
                if event.get("ready"):
                    return ""
                if event.get("failed"):
                    return one_line(event.get("message", "") or "failed, without a message")
        return "progress stream ended without ready"

    # --- stop ----------------------------------------------------------------
    async def stop(self, name: str) -> None:
        async with self.session.delete(
            self.api + f"users/{quote(name)}/server", timeout=aiohttp.ClientTimeout(total=120)
        ) as resp:
            await resp.read()
            if resp.status not in (202, 204, 400, 404):
                raise RuntimeError(f"stopping {name} answered {resp.status}")

    async def wait_all_stopped(self, names: list[str], timeout: float) -> list[str]:
        """Names that still have a server (or a pending one) after `timeout`."""
        deadline = time.monotonic() + timeout
        left = list(names)
        while left and time.monotonic() < deadline:
            models = await asyncio.gather(*(self.user(n) for n in left))
            left = [m["name"] for m in models if m.get("servers") or m.get("pending")]
            if left:
                await asyncio.sleep(1)
        return left
