"""One benchmark run of a KubeSpawner implementation, in its own process.

Runs under the virtualenv of the implementation being measured (ours in
.venv, upstream jupyterhub-kubespawner in .venv-bench-upstream), so the same
file must work with both: it uses only the public Spawner interface (plus
one diagnostic hook on our reflector, skipped where it is absent).

    python spawn_worker.py '{"mode": "spawn", "users": 100, ...}'

Prints one JSON line with its measurements. In "idle" mode it prints
{"phase": "running"} once every server is up and then waits for a line on
stdin before stopping them, so the driver can count requests meanwhile.
"""

from __future__ import annotations

import asyncio
import gc
import json
import resource
import sys
import time
from urllib.parse import urlparse

from jupyterhub.objects import Hub, Server
from traitlets.config import Config

from kubespawner import KubeSpawner

# Ours only (upstream's reflector has no such hook): when the reflector took
# in each pod's first Ready state, so the driver can split ready-detection
# latency into kubesim's delivery and the spawner's own share.
READY_SEEN: dict[str, float] = {}


def _record_ready_seen() -> None:
    from kubespawner import reflector

    cls = getattr(reflector, "ResourceReflector", None)
    put = getattr(cls, "_put", None)
    if put is None:
        return

    def _put(self, obj):
        name = obj.get("metadata", {}).get("name")
        if name not in READY_SEEN:
            for cond in (obj.get("status") or {}).get("conditions") or ():
                if cond.get("type") == "Ready" and cond.get("status") == "True":
                    READY_SEEN[name] = time.time()
        return put(self, obj)

    cls._put = _put


_record_ready_seen()


class BenchUser:
    """The few attributes of jupyterhub.user.User a spawner reads."""

    def __init__(self, name: str, uid: int):
        self.name = name
        self.escaped_name = name
        self.id = uid
        self.url = f"/user/{name}/"
        self.groups = []
        self.spawners = {}

    def progress_url(self, server_name=""):
        return f"/hub/api/users/{self.name}/server/progress"


def make_config(params: dict) -> Config:
    c = Config()
    c.KubeSpawner.namespace = params["namespace"]
    c.KubeSpawner.image = "bench/singleuser:1"
    c.KubeSpawner.start_timeout = params.get("start_timeout", 300)
    c.KubeSpawner.http_timeout = 30
    c.KubeSpawner.storage_pvc_ensure = bool(params.get("pvc"))
    c.KubeSpawner.storage_capacity = "1Gi"
    # no CPU/memory requests: the benchmark measures the spawner, not bin packing
    c.KubeSpawner.cpu_guarantee = None
    c.KubeSpawner.mem_guarantee = None
    return c


def make_spawner(i: int, params: dict, config: Config, hub: Hub) -> KubeSpawner:
    user = BenchUser(f"{params['prefix']}{i}", i + 1)
    spawner = KubeSpawner(
        user=user,
        hub=hub,
        config=config,
        api_token=f"token-{i}",
        oauth_client_id=f"jupyterhub-user-{user.name}",
    )
    spawner.server = Server(ip="0.0.0.0", port=8888, base_url=user.url)
    return spawner


def peak_rss_mib() -> float:
    """This process's own peak RSS (VmHWM). Not ru_maxrss: Linux carries that
    across fork+exec, so a worker would report its parent's (the driver,
    which holds kubesim and its 10,000 filler pods) peak."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def events_cached(spawners) -> int:
    """Events in the hub's cache: ours' shared reflectors, or upstream's
    event_reflector."""
    from kubespawner import reflector

    shared = getattr(reflector, "_shared", None)
    if shared is not None:
        return sum(len(r.resources) for r in shared.values() if r.kind == "event")
    events = getattr(spawners[0], "event_reflector", None) if spawners else None
    return len(events.resources) if events is not None else 0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def start_all(spawners) -> tuple[float, dict[str, float]]:
    returned: dict[str, float] = {}

    async def one(spawner):
        url = await spawner.start()
        returned[spawner.pod_name] = time.time()
        # what the hub does with the returned URL
        if isinstance(url, tuple):
            url = f"http://{url[0]}:{url[1]}"
        parsed = urlparse(url)
        spawner.server.ip, spawner.server.port = parsed.hostname, parsed.port

    t0 = time.perf_counter()
    await asyncio.gather(*(one(s) for s in spawners))
    return time.perf_counter() - t0, returned


async def main(params: dict) -> dict:
    config = make_config(params)
    hub = Hub(ip="127.0.0.1", port=8081, base_url="/hub/")
    spawners = [make_spawner(i, params, config, hub) for i in range(params["users"])]
    out: dict = {"mode": params["mode"], "users": len(spawners)}
    cpu0 = cpu_seconds()
    wall, returned = await start_all(spawners)
    out.update(
        start_wall=wall, start_cpu=cpu_seconds() - cpu0, returned=returned, ready_seen=READY_SEEN
    )
    out["events_cached"] = events_cached(spawners)
    if params["mode"] == "idle":
        print(json.dumps({"phase": "running"}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    if params["mode"] == "poll":
        await asyncio.gather(*(s.poll() for s in spawners))  # first load
        rounds = params.get("poll_rounds", 3)
        # The spawn phase leaves tens of thousands of young objects; the full
        # collection they cause lands in whichever rounds come next, so which
        # implementation it hits was luck (poll() ratio 0.56 in one run, 1.6
        # in the next). A hub polls for hours after a burst: time that steady
        # state, the same for both.
        gc.collect()
        cpu0, t0 = cpu_seconds(), time.perf_counter()
        for _ in range(rounds):
            results = await asyncio.gather(*(s.poll() for s in spawners))
        out.update(
            poll_wall=(time.perf_counter() - t0) / rounds,
            poll_cpu=(cpu_seconds() - cpu0) / rounds,
            poll_running=sum(r is None for r in results),
        )
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    await asyncio.gather(*(s.stop() for s in spawners))
    out.update(stop_wall=time.perf_counter() - t0, stop_cpu=cpu_seconds() - cpu0)
    out["peak_rss_mib"] = peak_rss_mib()
    return out


if __name__ == "__main__":
    result = asyncio.run(main(json.loads(sys.argv[1])))
    print(json.dumps(result), flush=True)
    # skip interpreter teardown of reflector tasks: the measurement is done
    sys.stdout.flush()
    import os

    os._exit(0)
