"""The hub's spawn capacity: the whole system of `ci/dev up` (kubesim, the
chart installed with dev-config.yaml: the hub and configurable-http-proxy
as kubesim pods), N
users spawned through the hub's REST API at once, with and without kubesim
failing a share of all Kubernetes API requests.

Started by ci/bench-hub. Users' pods run without processes (kubesim's
`pause` image rule for the singleuser image); a
stand-in answers the hub's one HTTP check per server (see
bench_hub_responder.py for why). Time to ready runs from the POST to the
moment the hub calls the server ready (POST 201, or the progress stream's
`ready` event); hub CPU is the jupyterhub process's user+system time over
the same window, from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for path in (HERE, ROOT / "ci"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import bench_hub_deploy  # noqa: E402
from bench_hub_figures import Scenario, error_summary, table  # noqa: E402
from bench_hub_hubapi import HubApi  # noqa: E402
from bench_hub_procs import (  # noqa: E402
    children,
    cmdline,
    cpu_seconds,
    find_hub_pid,
    stop_leftovers,
)
from bench_hub_responder import PodResponder  # noqa: E402

STATE_DIR = ROOT / "test-artifacts" / "bench-hub"


@dataclass(frozen=True)
class Plan:
    users: tuple[int, ...]
    fault_share: float
    spawn_timeout: float  # per spawn, from its POST
    stop_timeout: float  # for all servers of a scenario to be gone


FULL = Plan(users=(100, 300), fault_share=0.05, spawn_timeout=600, stop_timeout=600)
SHORT = Plan(users=(10,), fault_share=0.05, spawn_timeout=120, stop_timeout=120)


def default_options(values: dict) -> dict:
    """The spawn request's body: the default profile when there are profiles."""
    profiles = (values.get("singleuser") or {}).get("profileList") or []
    if not profiles:
        return {}
    chosen = next((p for p in profiles if p.get("default")), profiles[0])
    return {"profile": chosen["slug"]} if chosen.get("slug") else {}


class Bench:
    def __init__(self, dep, hub: HubApi, responder: PodResponder, plan: Plan, say):
        self.dep = dep
        self.hub = hub
        self.responder = responder
        self.plan = plan
        self.say = say
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
        )
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

    async def run(self) -> list[Scenario]:
        results = []
        for users in self.plan.users:
            for share in sorted({0.0, self.plan.fault_share}):
                results.append(await self.scenario(users, share))
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


async def measure(dep, token: str, server_port: int, plan: Plan, say) -> list[Scenario]:
    service = HubApi(dep.url, token, plan.spawn_timeout)
    try:
        token = await service.generated_token(BENCH_ADMIN, bench_hub_deploy.SCOPES)
    finally:
        await service.close()
    hub = HubApi(dep.url, token, plan.spawn_timeout)
    responder = None
    try:
        creds = dep.client.creds
        responder = PodResponder(
            creds.server,
            creds.token,
            creds.ca_pem,
            dep.namespace,
            server_port,
            await hub.version(),
        )
        await responder.start()
        results = await Bench(dep, hub, responder, plan, say).run()
        if responder.bind_errors:
            say(f"stand-in could not listen on: {responder.bind_errors[:3]}")
        return results
    finally:
        await hub.close()
        if responder:
            await responder.stop()


def report(results: list[Scenario]) -> str:
    lines = [table([r.row() for r in results]), ""]
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
            lines.append(f"{r.name}: " + "; ".join(extra))
    return "\n".join(lines).rstrip()


def problems(results: list[Scenario]) -> list[str]:
    """What makes the run fail: without injected faults every spawn must
    succeed; with them, failures are a figure, but none succeeding is a bug."""
    found = []
    for r in results:
        if not r.fault_share and r.errors:
            found.append(f"{r.name}: {len(r.errors)} spawns failed without any injected fault")
        if r.fault_share and not r.ready:
            found.append(f"{r.name}: no spawn succeeded")
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
    ap.add_argument("--users", type=int, nargs="+", help="N for each pair of scenarios")
    ap.add_argument(
        "--fault-share", type=float, help="share of API requests that fail (0..1; 0: no fault runs)"
    )
    ap.add_argument(
        "--spawn-limit",
        type=int,
        help="hub.concurrentSpawnLimit (default: the largest N, so all start at once)",
    )
    ap.add_argument("--profile-hub", type=Path, help="write the hub's cProfile stats here")
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
    if args.users:
        plan = Plan(tuple(args.users), plan.fault_share, plan.spawn_timeout, plan.stop_timeout)
    if args.fault_share is not None:
        if not 0 <= args.fault_share <= 1:
            ap.error(f"--fault-share {args.fault_share}: give a share between 0 and 1, e.g. 0.05")
        plan = Plan(plan.users, args.fault_share, plan.spawn_timeout, plan.stop_timeout)
    signal.signal(signal.SIGTERM, _interrupt)
    raise_open_files_limit()

    def say(message: str) -> None:
        print(f"[bench-hub {time.perf_counter() - started:6.1f}s] {message}", flush=True)

    started = time.perf_counter()
    dep, token, server_port = bench_hub_deploy.start(
        args.state_dir.resolve(),
        spawn_limit=args.spawn_limit or max(plan.users),
        nodes=bench_hub_deploy.nodes_for(max(plan.users)),
        timeout=180,
        profile=args.profile_hub.resolve() if args.profile_hub else None,
        db_type=args.hub_db,
    )
    hub_pid = None
    try:
        hub_pid = find_hub_pid(dep.pid_of("hub"))
        say(f"deployment up at {dep.url} (state and logs in {args.state_dir})")
        results = asyncio.run(measure(dep, token, server_port, plan, say))
        if args.profile_hub:
            dump_hub_profile(hub_pid, args.profile_hub.resolve(), say)
    finally:
        services = {pid: cmdline(pid) for pid in children(hub_pid)} if hub_pid else {}
        dep.stop()
        stop_leftovers(services)
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps([as_json(r) for r in results], indent=1))
    print(f"\n(bench-hub took {time.perf_counter() - started:.0f} s)")
    failed = problems(results)
    for line in failed:
        print(f"bench-hub: {line}; see {args.state_dir}/logs/hub.log", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
