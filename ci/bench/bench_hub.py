"""The hub's capacity on the whole system of `ci/dev up` (kubesim, a chart
installed by helm with dev-config.yaml: the hub and configurable-http-proxy
as kubesim pods), ours alone or side by side with z2jh 4.4.0's
(`--against z2jh`, see bench_hub_sides.py): login storms of N users spawned
through the hub's REST API at once, with and without kubesim failing a share
of all Kubernetes API requests; N servers running idle (the hub's CPU per
second); the namespace crowded with pods and events (the hub's memory).
With two hubs, each scenario runs on both before the next, in alternating
order, and ratio lines ours/z2jh follow the tables.

Started by ci/bench-hub. Users' pods run without processes (kubesim's
`pause` image rule for the singleuser image); a
stand-in answers the hub's one HTTP check per server (see
bench_hub_responder.py for why). Time to ready runs from the POST to the
moment the hub calls the server ready (POST 201, or the progress stream's
`ready` event); hub CPU is the jupyterhub process's user+system time over
the same window, from /proc; hub RSS is its VmRSS, the peak its VmHWM
(reset at each scenario's start).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import yaml

from . import bench_hub_deploy, bench_hub_sides
from .bench_hub_crowd import create_crowd
from .bench_hub_figures import Scenario, comparison, error_summary, table
from .bench_hub_hubapi import HubApi
from .bench_hub_procs import (
    children,
    cmdline,
    cpu_seconds,
    find_hub_pid,
    memory_mib,
    reset_peak_memory,
    stop_leftovers,
)
from .bench_hub_profile import where_time_goes
from .bench_hub_responder import PodResponder

ROOT = Path(__file__).resolve().parents[2]
STATE_DIR = ROOT / "test-artifacts" / "bench-hub"
# hub.concurrentSpawnLimit of our chart (z2jh's default is the same 64). A
# storm larger than it meets 429 and each user waits the Retry-After the hub
# names, as users do; with every one of 1,000 spawns let in at once, a hub on
# one core fell so far behind that 40% of them timed out (both hubs alike),
# which measures overload, not the hub.
CHART_SPAWN_LIMIT = yaml.safe_load((ROOT / "chart" / "values.yaml").read_text())["hub"][
    "concurrentSpawnLimit"
]


@dataclass(frozen=True)
class Plan:
    users: tuple[int, ...]  # login storms: N users spawning at once
    fault_share: float  # each storm again with this share of API requests failing
    spawn_timeout: float  # per spawn, from its POST
    stop_timeout: float  # for all servers of a scenario to be gone
    idle_servers: int = 0  # then N servers running idle ...
    idle_seconds: float = 0  # ... for this long: the hub's CPU per second
    crowd_pods: int = 0  # then the namespace crowded: the hub's RSS
    crowd_events: int = 0
    spawn_limit: int = 0  # hub.concurrentSpawnLimit of both deployments (set by main)


# issue 15's sizes
FULL = Plan(
    users=(1000,),
    fault_share=0.10,
    spawn_timeout=900,
    stop_timeout=900,
    idle_servers=2000,
    idle_seconds=600,
    crowd_pods=10_000,
    crowd_events=35_000,
)
SHORT = Plan(
    users=(10,),
    fault_share=0.10,
    spawn_timeout=120,
    stop_timeout=120,
    idle_servers=10,
    idle_seconds=15,
    crowd_pods=100,
    crowd_events=350,
)


def default_options(values: dict) -> dict:
    """The spawn request's body: the default profile when there are profiles."""
    profiles = (values.get("singleuser") or {}).get("profileList") or []
    if not profiles:
        return {}
    chosen = next((p for p in profiles if p.get("default")), profiles[0])
    return {"profile": chosen["slug"]} if chosen.get("slug") else {}


class Bench:
    """The scenarios on one hub (one deployment)."""

    def __init__(self, side: str, dep, hub: HubApi, responder: PodResponder, plan: Plan, say):
        self.side = side
        self.dep = dep
        self.hub = hub
        self.responder = responder
        self.plan = plan
        self.say = lambda message: say(f"{side}: {message}")
        self.hub_pid = find_hub_pid(dep.pid_of("hub"))  # the same for the whole run
        self.options = default_options(dep.values)

    async def kubesim_admin(self, method: str, path: str, body: dict | None = None):
        return await asyncio.to_thread(self.dep.client.request, method, f"/kubesim/{path}", body)

    async def counters(self) -> Counter:
        rows = await self.kubesim_admin("GET", "counters")
        return Counter({(r["verb"], r["resource"]): r["count"] for r in rows})

    async def scenario(self, users: int, fault_share: float) -> Scenario:
        tag = f"u{users}{'f' if fault_share else 'c'}"
        name = f"{users} users" + (f", {fault_share:.0%} API errors" if fault_share else "")
        names = [f"bench-{tag}-{i:04d}" for i in range(users)]
        await self.hub.create_users(names)
        late_before = self.responder.late_binds
        reset_peak_memory(self.hub_pid)
        if fault_share:
            await self.kubesim_admin("POST", "faults", {"share": fault_share, "status": 500})
        self.say(f"{name}: spawning")
        try:
            api_before = await self.counters()
            hub_before = cpu_seconds(self.hub_pid)
            sim_before = cpu_seconds(self.dep.kubesim.pid)
            started = time.perf_counter()
            results = await asyncio.gather(*(self.hub.spawn(n, self.options) for n in names))
            wall = time.perf_counter() - started
            hub_cpu = cpu_seconds(self.hub_pid) - hub_before
            sim_cpu = cpu_seconds(self.dep.kubesim.pid) - sim_before
            api = await self.counters() - api_before
        finally:
            if fault_share:
                await self.kubesim_admin("DELETE", "faults")
        result = Scenario(
            name=name,
            users=users,
            fault_share=fault_share,
            wall=wall,
            ready_seconds=[r.seconds for r in results if r.seconds is not None],
            errors=[r.error for r in results if r.seconds is None],
            hub_cpu=hub_cpu,
            kubesim_cpu=sim_cpu,
            api_requests=api,
            throttled=sum(r.throttled for r in results),
            late_binds=self.responder.late_binds - late_before,
            side=self.side,
        )
        result.hub_rss, result.hub_peak_rss = memory_mib(self.hub_pid)
        self.say(f"{name}: {result.ready} ready, {len(result.errors)} failed in {wall:.1f} s")
        for line in error_summary(result.errors):
            self.say(f"  {line}")
        result.stop_wall = await self.stop_all(names)
        self.responder.close_all()  # every user pod is gone
        return result

    async def stop_all(self, names: list[str]) -> float:
        started = time.perf_counter()
        await asyncio.gather(*(self.hub.stop(n) for n in names))
        left = await self.hub.wait_all_stopped(names, self.plan.stop_timeout)
        if left:
            raise RuntimeError(
                f"{len(left)} servers still there {self.plan.stop_timeout:.0f} s after "
                f"stopping, e.g. {left[:3]}; see `ci/dev kubectl --state-dir {self.dep.layout.root} logs deploy/hub -n jhub`"
            )
        took = time.perf_counter() - started
        self.say(f"stopped {len(names)} servers in {took:.1f} s")
        return took

    async def idle(self, servers: int, seconds: float) -> Scenario:
        """`servers` servers started, then the hub's CPU over `seconds` while
        they idle: its periodic work (each spawner's poll(), the culler's
        API calls, the proxy route check)."""
        name = f"{servers} idle servers"
        names = [f"bench-idle-{i:05d}" for i in range(servers)]
        await self.hub.create_users(names)
        self.say(f"{name}: starting them")
        # Starting them is set-up, not the measurement: at most the hub's spawn
        # limit at a time, so none waits out a 429's Retry-After.
        gate = asyncio.Semaphore(self.plan.spawn_limit or servers)

        async def start(user: str):
            async with gate:
                return await self.hub.spawn(user, self.options)

        started = await asyncio.gather(*(start(n) for n in names))
        errors = [r.error for r in started if r.seconds is None]
        self.say(f"{name}: {servers - len(errors)} running; measuring {seconds:.0f} s")
        reset_peak_memory(self.hub_pid)
        hub_before = cpu_seconds(self.hub_pid)
        sim_before = cpu_seconds(self.dep.kubesim.pid)
        window = time.perf_counter()
        await asyncio.sleep(seconds)  # the measurement window itself
        window = time.perf_counter() - window
        result = Scenario(
            name=name,
            users=servers,
            fault_share=0.0,
            wall=window,
            ready_seconds=[r.seconds for r in started if r.seconds is not None],
            errors=errors,
            hub_cpu=cpu_seconds(self.hub_pid) - hub_before,
            kubesim_cpu=cpu_seconds(self.dep.kubesim.pid) - sim_before,
            side=self.side,
            kind="idle",
        )
        result.hub_rss, result.hub_peak_rss = memory_mib(self.hub_pid)
        self.say(f"{name}: hub CPU {1000 * result.hub_cpu / window:.1f} ms/s")
        result.stop_wall = await self.stop_all(names)
        self.responder.close_all()
        return result

    async def crowd(self, pods: int, events: int, settle: float = 5, limit: float = 300):
        """The hub's memory once `pods` pods and `events` events are in its
        namespace (see bench_hub_crowd.py): sampled every second until it
        has not grown for `settle` seconds (its watches have taken them in)."""
        name = f"{pods} pods + {events} events"
        self.say(f"{name}: creating them")
        reset_peak_memory(self.hub_pid)
        hub_before = cpu_seconds(self.hub_pid)
        sim_before = cpu_seconds(self.dep.kubesim.pid)
        started = time.perf_counter()
        creds = self.dep.client.creds
        await create_crowd(
            creds.server, creds.token, creds.ca_pem, self.dep.namespace, pods, events
        )
        highest, still = memory_mib(self.hub_pid)[0], 0.0
        while still < settle and time.perf_counter() - started < limit:
            await asyncio.sleep(1)
            now = memory_mib(self.hub_pid)[0]
            still = 0.0 if now > highest + 1 else still + 1
            highest = max(highest, now)
        result = Scenario(
            name=name,
            users=0,
            fault_share=0.0,
            wall=time.perf_counter() - started,
            ready_seconds=[],
            errors=[],
            hub_cpu=cpu_seconds(self.hub_pid) - hub_before,
            kubesim_cpu=cpu_seconds(self.dep.kubesim.pid) - sim_before,
            side=self.side,
            kind="crowd",
        )
        result.hub_rss, result.hub_peak_rss = memory_mib(self.hub_pid)
        self.say(f"{name}: hub RSS {result.hub_rss:.0f} MiB (peak {result.hub_peak_rss:.0f})")
        return result

    def scenarios(self) -> list:
        """The plan's scenarios in order, each a coroutine function; the
        crowd comes last, as its objects stay."""
        steps = []
        for users in self.plan.users:
            for share in sorted({0.0, self.plan.fault_share}):
                steps.append(lambda u=users, f=share: self.scenario(u, f))
        if self.plan.idle_servers and self.plan.idle_seconds:
            steps.append(lambda: self.idle(self.plan.idle_servers, self.plan.idle_seconds))
        if self.plan.crowd_pods or self.plan.crowd_events:
            steps.append(lambda: self.crowd(self.plan.crowd_pods, self.plan.crowd_events))
        return steps


async def alternate(benches: list[Bench]) -> list[Scenario]:
    """Each scenario on every hub before the next one, the order of the
    hubs swapped from one scenario to the next, so that whatever else the
    machine does falls on both alike."""
    results = []
    plans = [bench.scenarios() for bench in benches]
    for step in range(len(plans[0])):
        order = range(len(benches)) if step % 2 == 0 else reversed(range(len(benches)))
        for i in order:
            results.append(await plans[i][step]())
    return results


BENCH_ADMIN = "bench-admin"


def dump_hub_profile(hub_pid: int, stats_file: Path, say) -> None:
    """Ask the hub for its profile (see bench_hub_deploy.profile_config)."""
    stats_file.unlink(missing_ok=True)
    os.kill(hub_pid, signal.SIGUSR2)
    deadline = time.monotonic() + 30
    while not stats_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # let the write finish
    say(f"hub profile: {stats_file}" if stats_file.exists() else "hub wrote no profile")


async def open_bench(side: str, dep, token: str, server_port: int, plan: Plan, say):
    """The Bench of one deployment: its own API token and stand-in servers."""
    service = HubApi(dep.url, token, plan.spawn_timeout)
    try:
        token = await service.generated_token(BENCH_ADMIN, bench_hub_deploy.SCOPES)
    finally:
        await service.close()
    hub = HubApi(dep.url, token, plan.spawn_timeout)
    creds = dep.client.creds
    responder = PodResponder(
        creds.server, creds.token, creds.ca_pem, dep.namespace, server_port, await hub.version()
    )
    await responder.start()
    return Bench(side, dep, hub, responder, plan, say)


@dataclass
class Running:
    """One hub's deployment while the benchmark runs."""

    side: str
    dep: object
    token: str
    server_port: int
    profile: Path | None
    hub_pid: int | None = None


async def measure(running: list[Running], plan: Plan, say) -> list[Scenario]:
    benches = []
    try:
        for r in running:
            benches.append(await open_bench(r.side, r.dep, r.token, r.server_port, plan, say))
        return await alternate(benches)
    finally:
        for bench in benches:
            if bench.responder.bind_errors:
                say(f"{bench.side}: stand-in could not listen on {bench.responder.bind_errors[:3]}")
            await bench.hub.close()
            await bench.responder.stop()


def report(results: list[Scenario]) -> str:
    storms = [r for r in results if r.kind == "storm"]
    others = [r for r in results if r.kind != "storm"]
    lines = [table([r.row() for r in storms]), ""]
    if others:
        lines += [table([r.other_row() for r in others]), ""]
    lines += comparison(results)
    for r in results:
        extra = []
        if r.throttled:
            extra.append(f"{r.throttled} answers 429 (spawn limit), retried")
        if r.late_binds:
            extra.append(
                f"{r.late_binds} stand-in servers listened only once their pod was Ready "
                "(the hub may have retried)"
            )
        if extra:
            lines.append(f"{r.side}, {r.name}: " + "; ".join(extra))
    return "\n".join(lines).rstrip()


def problems(results: list[Scenario]) -> list[str]:
    """What makes the run fail: without injected faults every spawn must
    succeed; with them, failures are a figure, but none succeeding is a bug."""
    found = []
    for r in results:
        if not r.fault_share and r.errors:
            found.append(
                f"{r.side}, {r.name}: {len(r.errors)} spawns failed without any injected fault"
            )
        if r.fault_share and not r.ready:
            found.append(f"{r.side}, {r.name}: no spawn succeeded")
    return found


def as_json(result: Scenario) -> dict:
    data = asdict(result)
    data["api_requests"] = {f"{v} {r}": n for (v, r), n in result.api_requests.items()}
    return data


def raise_open_files_limit() -> None:
    """One listening socket per user pod plus one connection per user: more
    than the usual soft limit of 1024 at N = 300."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _interrupt(signum, frame):
    # SIGTERM takes the same way out as Ctrl-C, so everything started stops
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ci", action="store_true", help="short mode: small N")
    ap.add_argument(
        "--against",
        choices=["z2jh"],
        help=f"the same scenarios also on z2jh {bench_hub_sides.Z2JH_VERSION}'s hub, "
        "alternating with ours, and ratio lines ours/z2jh",
    )
    ap.add_argument("--users", type=int, nargs="+", help="N of each login storm")
    ap.add_argument(
        "--fault-share", type=float, help="share of API requests that fail (0..1; 0: no fault runs)"
    )
    ap.add_argument("--idle-servers", type=int, help="N idle servers (0: no idle scenario)")
    ap.add_argument("--idle-seconds", type=float, help="how long they idle")
    ap.add_argument(
        "--crowd",
        type=int,
        nargs=2,
        metavar=("PODS", "EVENTS"),
        help="pods and events in the namespace for the RSS scenario (0 0: none)",
    )
    ap.add_argument(
        "--spawn-limit",
        type=int,
        help=f"hub.concurrentSpawnLimit (default: the chart's {CHART_SPAWN_LIMIT}, or the "
        "largest N when smaller)",
    )
    ap.add_argument(
        "--profile-hub",
        type=Path,
        help="write each hub's cProfile stats into this folder (SIDE.prof) and summarize them",
    )
    ap.add_argument(
        "--hub-db",
        choices=["sqlite-pvc", "sqlite-memory"],
        help="hub.db.type (default: dev-config's, sqlite-pvc)",
    )
    ap.add_argument(
        "--state-dir",
        type=Path,
        help=f"state and logs (default {STATE_DIR.relative_to(ROOT)}/ci or /full)",
    )
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    plan = SHORT if args.ci else FULL
    # apart, so the short run of a `ci/test` never stops a full run going on
    args.state_dir = args.state_dir or STATE_DIR / ("ci" if args.ci else "full")
    if args.fault_share is not None and not 0 <= args.fault_share <= 1:
        ap.error(f"--fault-share {args.fault_share}: give a share between 0 and 1, e.g. 0.1")
    changes = {
        "users": tuple(args.users) if args.users else None,
        "fault_share": args.fault_share,
        "idle_servers": args.idle_servers,
        "idle_seconds": args.idle_seconds,
        "crowd_pods": args.crowd[0] if args.crowd else None,
        "crowd_events": args.crowd[1] if args.crowd else None,
    }
    plan = replace(plan, **{k: v for k, v in changes.items() if v is not None})
    signal.signal(signal.SIGTERM, _interrupt)
    raise_open_files_limit()

    def say(message: str) -> None:
        print(f"[bench-hub {time.perf_counter() - started:6.1f}s] {message}", flush=True)

    started = time.perf_counter()
    sides = [bench_hub_sides.ours()]
    if args.against == "z2jh":
        sides.append(bench_hub_sides.z2jh())
    most = max(*plan.users, plan.idle_servers)
    plan = replace(plan, spawn_limit=args.spawn_limit or min(most, CHART_SPAWN_LIMIT))
    running: list[Running] = []
    results = []

    if args.profile_hub and args.profile_hub.resolve().is_relative_to("/tmp"):
        # the chart gives the hub pod its own /tmp (an emptyDir): stats written
        # there never reach this side
        ap.error(f"--profile-hub {args.profile_hub}: choose a folder outside /tmp")
    if args.profile_hub:
        # the hub runs as the chart's runAsUser (1000), not as us
        args.profile_hub.mkdir(parents=True, exist_ok=True)
        args.profile_hub.chmod(0o1777)

    def deploy(side: bench_hub_sides.Side) -> Running:
        state = (args.state_dir / side.name).resolve()
        profile = (args.profile_hub / f"{side.name}.prof").resolve() if args.profile_hub else None
        dep, token, server_port = bench_hub_deploy.start(
            state,
            spawn_limit=plan.spawn_limit,
            nodes=bench_hub_deploy.nodes_for(most),
            timeout=240,
            profile=profile,
            db_type=args.hub_db,
            chart=side.chart,
            hub_venv=side.hub_venv,
        )
        say(f"{side.name}: deployment up at {dep.url} (state and logs in {state})")
        return Running(side.name, dep, token, server_port, profile)

    try:
        # both at once: installing is mostly waiting (helm --wait, the hub's start)
        with ThreadPoolExecutor(len(sides)) as pool:
            futures = [pool.submit(deploy, side) for side in sides]
            for future in futures:
                with contextlib.suppress(Exception):  # raised again below, once all are in
                    running.append(future.result())
            for future in futures:
                future.result()
        for r in running:
            r.hub_pid = find_hub_pid(r.dep.pid_of("hub"))
        results = asyncio.run(measure(running, plan, say))
        for r in running:
            if r.profile:
                dump_hub_profile(r.hub_pid, r.profile, say)
                if r.profile.exists():
                    for line in where_time_goes(r.profile):
                        say(f"{r.side} profile: {line}")
    finally:
        for r in running:
            services = {p: cmdline(p) for p in children(r.hub_pid)} if r.hub_pid else {}
            r.dep.stop()
            stop_leftovers(services)
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps([as_json(r) for r in results], indent=1))
    print(f"\n(bench-hub took {time.perf_counter() - started:.0f} s)")
    failed = problems(results)
    for line in failed:
        print(f"bench-hub: {line}; see the hub's log in {args.state_dir}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
