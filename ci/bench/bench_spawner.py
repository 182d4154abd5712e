"""Our spawner against upstream KubeSpawner 7.1.0, side by side on one kubesim.

Started by ci/bench-spawner. kubesim runs in this process (pause runtime);
each measured run is a separate worker process (spawn_worker.py) under the
implementation's own virtualenv, so the two never share a Python process.
Runs alternate between the implementations and the median of the
repetitions is reported, so drift on a busy machine hits both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from kubesim import KubeSim
from kubesim.testing import field_manager

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
IMPLS = {
    "ours": ROOT / ".venv-bench-ours/bin/python",
    "upstream": ROOT / ".venv-bench-upstream/bin/python",
}
# the same small per-step pod delays for every run (seconds)
DELAYS = {"scheduling": 0.05, "creating": 0.05, "starting": 0.1, "readiness": 0.1}


def ready_recorder(sim: KubeSim) -> dict[tuple[str, str], float]:
    """Record, per pod, the moment kubesim commits its Ready=True status."""
    ready_at: dict[tuple[str, str], float] = {}

    def on_change(event_type, rt, obj, old):
        if rt.plural != "pods" or event_type == "DELETED":
            return
        key = (obj["metadata"].get("namespace"), obj["metadata"]["name"])
        if key in ready_at:
            return
        for cond in obj.get("status", {}).get("conditions", []):
            if cond.get("type") == "Ready" and cond.get("status") == "True":
                ready_at[key] = time.time()

    sim.store.on_change.append(on_change)
    return ready_at


async def create_namespace(sim: KubeSim, name: str) -> None:
    await sim.store.create("namespaces", {"metadata": {"name": name}})


def filler_pod(i: int, namespace: str) -> dict:
    """A pod shaped like a real user pod, on a node that does not exist (never runs)."""
    env = [{"name": f"VAR_{k}", "value": f"value-{k}-" + "x" * 40} for k in range(20)]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"jupyter-filler-{i}",
            "namespace": namespace,
            "labels": {
                "component": "singleuser-server",
                "app": "jupyterhub",
                "hub.jupyter.org/username": f"filler-{i}",
            },
            "annotations": {"hub.jupyter.org/username": f"filler-{i}"},
        },
        "spec": {
            "nodeName": "bench-absent-node",
            "containers": [
                {
                    "name": "notebook",
                    "image": "bench/singleuser:1",
                    "env": env,
                    "ports": [{"containerPort": 8888, "name": "notebook-port"}],
                    "resources": {"requests": {"memory": "1G"}, "limits": {"memory": "2G"}},
                    "volumeMounts": [{"name": "home", "mountPath": "/home/jovyan"}],
                }
            ],
            "volumes": [{"name": "home", "persistentVolumeClaim": {"claimName": f"claim-{i}"}}],
        },
    }


def other_workloads_event(i: int, namespace: str) -> dict:
    """An event about another workload's pod (a busy namespace holds many),
    as large as a kubelet's image-pull event."""
    pod = f"batch-job-{i // 5}-x{i % 7}"
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{pod}.{i:08x}", "namespace": namespace},
        "involvedObject": {
            "kind": "Pod",
            "namespace": namespace,
            "name": pod,
            "uid": f"00000000-0000-4000-8000-{i:012d}",
            "apiVersion": "v1",
            "resourceVersion": str(1000 + i),
            "fieldPath": "spec.containers{worker}",
        },
        "reason": "Pulled",
        "message": f'Successfully pulled image "registry.example.org/batch/worker:{i % 97}" '
        "in 2.345s (2.345s including waiting). Image size: 123456789 bytes.",
        "source": {"component": "kubelet", "host": f"node-{i % 40}"},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "type": "Normal",
        "reportingComponent": "kubelet",
        "reportingInstance": f"node-{i % 40}",
    }


async def run_worker(impl: str, params: dict, idle_window: float = 0, sim=None) -> dict:
    env = dict(os.environ, KUBECONFIG=str(params.pop("kubeconfig")))
    proc = await asyncio.create_subprocess_exec(
        str(IMPLS[impl]),
        str(HERE / "spawn_worker.py"),
        json.dumps(params),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd="/tmp",
    )
    idle = None
    if params["mode"] == "idle":
        line = await proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{impl} worker died: {(await proc.stderr.read())[-3000:]!r}")
        before = Counter(sim.counters)
        await asyncio.sleep(idle_window)
        idle = Counter(sim.counters) - before
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
    out, err = await proc.communicate()
    if proc.returncode != 0 or not out.strip():
        raise RuntimeError(f"{impl} worker failed ({proc.returncode}): {err.decode()[-3000:]}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    if idle is not None:
        result["idle_requests"] = {f"{v} {r}": n for (v, r), n in idle.items()}
    return result


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


class Bench:
    def __init__(self, sim: KubeSim, ready_at: dict, reps: int):
        self.sim = sim
        self.ready_at = ready_at
        self.reps = reps
        self.counter = 0
        self.figures: dict[str, dict[str, list[float]]] = {}
        # (p50, p95) ms per run: ours' watch event -> start() returns
        self.diagnostics: dict[str, list[tuple[float, float]]] = {}

    def record(self, figure: str, impl: str, value: float) -> None:
        self.figures.setdefault(figure, {"ours": [], "upstream": []})[impl].append(value)

    async def fresh_namespace(self, impl: str) -> str:
        self.counter += 1
        ns = f"bench-{impl}-{self.counter}"
        await create_namespace(self.sim, ns)
        return ns

    def params(self, mode: str, ns: str, users: int, **extra) -> dict:
        return dict(
            mode=mode,
            namespace=ns,
            users=users,
            prefix=f"u{self.counter}-",
            kubeconfig=self.sim.kubeconfig_path,
            **extra,
        )

    def order(self, rep: int) -> list[str]:
        return ["ours", "upstream"] if rep % 2 == 0 else ["upstream", "ours"]

    async def spawn(self, users: int, pvc: bool) -> None:
        tag = f"{users} users{' +PVC' if pvc else ''}"
        for rep in range(self.reps):
            for impl in self.order(rep):
                ns = await self.fresh_namespace(impl)
                before = Counter(self.sim.counters)
                r = await run_worker(impl, self.params("spawn", ns, users, pvc=pvc))
                delta = Counter(self.sim.counters) - before
                self.record(f"spawn wall s ({tag})", impl, r["start_wall"])
                self.record(f"hub CPU ms per spawn ({tag})", impl, r["start_cpu"] / users * 1000)
                lat = [
                    (t - self.ready_at[(ns, pod)]) * 1000
                    for pod, t in r["returned"].items()
                    if (ns, pod) in self.ready_at
                ]
                self.record(f"ready latency p50 ms ({tag})", impl, percentile(lat, 0.5))
                self.record(f"ready latency p95 ms ({tag})", impl, percentile(lat, 0.95))
                seen = r.get("ready_seen") or {}
                if seen:  # ours only: the spawner's share of that latency
                    own = [
                        (t - seen[pod]) * 1000 for pod, t in r["returned"].items() if pod in seen
                    ]
                    self.diagnostics.setdefault(tag, []).append(
                        (percentile(own, 0.5), percentile(own, 0.95))
                    )
                writes = sum(n for (v, _), n in delta.items() if v in WRITE_VERBS)
                reads = sum(n for (v, _), n in delta.items() if v in ("get",))
                self.record(f"API writes per spawn+stop ({tag})", impl, writes / users)
                self.record(f"API gets per spawn+stop ({tag})", impl, reads / users)
                for (verb, res), n in sorted(delta.items()):
                    self.record(f"  {verb} {res} per spawn+stop ({tag})", impl, n / users)

    async def idle(self, users: int, window: float) -> None:
        for rep in range(self.reps):
            for impl in self.order(rep):
                ns = await self.fresh_namespace(impl)
                r = await run_worker(
                    impl, self.params("idle", ns, users), idle_window=window, sim=self.sim
                )
                per_min = 60.0 / window
                lw = sum(
                    n for k, n in r["idle_requests"].items() if k.split()[0] in ("list", "watch")
                )
                lists = sum(n for k, n in r["idle_requests"].items() if k.split()[0] == "list")
                total = sum(r["idle_requests"].values())
                self.record(f"LIST+WATCH per min ({users} idle servers)", impl, lw * per_min)
                self.record(f"LIST per min ({users} idle servers)", impl, lists * per_min)
                self.record(f"all requests per min ({users} idle servers)", impl, total * per_min)

    async def poll(self, users: int) -> None:
        for rep in range(self.reps):
            for impl in self.order(rep):
                ns = await self.fresh_namespace(impl)
                r = await run_worker(impl, self.params("poll", ns, users))
                self.record(f"poll() ms for {users} servers", impl, r["poll_wall"] * 1000)
                self.record(f"poll() CPU ms for {users} servers", impl, r["poll_cpu"] * 1000)

    async def rss(self, existing: int) -> None:
        ns_by_impl = {}
        for impl in IMPLS:
            ns = await self.fresh_namespace(impl)
            ns_by_impl[impl] = ns
            # by server-side apply, so that they carry managedFields, as every
            # object a real API server sends does (kubesim records them only
            # for applies)
            with field_manager("kubespawner"):
                for i in range(existing):
                    pod = filler_pod(i, ns)
                    await self.sim.store.patch("pods", pod["metadata"]["name"], pod, "apply", ns)
        for rep in range(self.reps):
            for impl in self.order(rep):
                r = await run_worker(impl, self.params("spawn", ns_by_impl[impl], 1))
                self.record(f"peak RSS MiB ({existing} pods in namespace)", impl, r["peak_rss_mib"])

    async def events(self, count: int) -> None:
        """The hub's event cache in a namespace holding `count` events of
        other workloads' pods (an upstream hub reached 1.5 GB at 35,000)."""
        ns_by_impl = {}
        for impl in IMPLS:
            ns = await self.fresh_namespace(impl)
            ns_by_impl[impl] = ns
            for i in range(count):
                await self.sim.store.create("events", other_workloads_event(i, ns), namespace=ns)
        for rep in range(self.reps):
            for impl in self.order(rep):
                r = await run_worker(impl, self.params("spawn", ns_by_impl[impl], 1))
                tag = f"{count} events in namespace"
                self.record(f"peak RSS MiB ({tag})", impl, r["peak_rss_mib"])
                self.record(f"events cached ({tag})", impl, r["events_cached"])


SCENARIOS = ["spawn", "idle", "poll", "rss", "events"]
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio_text(ours: float, up: float) -> str:
    if up:
        return f"{ours / up:.3g}"
    # upstream's figure is 0: a ratio says nothing, the figures do
    return "equal" if ours == up else "inf"


def report(figures: dict) -> tuple[str, str]:
    """The table, and one `ratio <figure>: <ours/upstream>` line per figure."""
    lines = [f"{'figure':<60} {'ours':>10} {'upstream':>10} {'ratio':>7}"]
    ratios = []
    for name, by_impl in figures.items():
        ours, up = median(by_impl["ours"]), median(by_impl["upstream"])
        ratio = ratio_text(ours, up)
        lines.append(f"{name:<60} {ours:>10.3f} {up:>10.3f} {ratio:>7}")
        ratios.append(f"ratio {name.strip()}: {ratio}")
    return "\n".join(lines), "\n".join(ratios)


# The targets. Request counts are deterministic, so missing one fails
# the run (also in --ci mode, where it guards against regressions); timings
# depend on the machine and are reported, never failed on.
def targets(figures: dict) -> tuple[list[str], list[str]]:
    lines, failed = [], []

    def check(figure: str, met: bool, detail: str, hard: bool) -> None:
        verdict = "met" if met else "MISSED"
        lines.append(f"target {figure}: {verdict} ({detail})")
        if hard and not met:
            failed.append(figure)

    for name, by_impl in figures.items():
        ours, up = median(by_impl["ours"]), median(by_impl["upstream"])
        pvc = "+PVC" in name
        if name.startswith("ready latency p50 ms"):
            check(name, ours < 50, f"{ours:.1f} ms, limit 50 ms", hard=False)
        elif name.startswith("API writes per spawn+stop"):
            # one pod create + one pod delete; +1 PVC create on a first spawn
            limit = 3 if pvc else 2
            check(name, ours <= limit, f"{ours:.2f}, limit {limit}", hard=True)
        elif name.startswith("API gets per spawn+stop"):
            check(name, ours == 0, f"{ours:.2f}, limit 0", hard=True)
        elif name.startswith("LIST per min"):
            check(name, ours == 0, f"{ours:.1f}, limit 0 while watches are healthy", hard=True)
        elif name.startswith(("spawn wall s (500 users)", "hub CPU ms per spawn (500 users)")):
            check(name, ours <= up / 2, f"ratio {ratio_text(ours, up)}, limit 0.50", hard=False)
    return lines, failed


async def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ci", action="store_true", help="short mode: small N, one repetition")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--users", type=int, nargs="*", default=[100, 500])
    ap.add_argument("--json", type=Path, help="also write the raw figures here")
    ap.add_argument(
        "--only",
        nargs="+",
        choices=SCENARIOS,
        default=SCENARIOS,
        help="run only these scenarios (e.g. --only rss: the pod cache's memory)",
    )
    args = ap.parse_args(argv)
    if args.ci:
        args.reps, args.users = 1, [20]
    idle_users, idle_window, poll_users, existing, events = (
        (20, 5.0, 50, 500, 3500) if args.ci else (200, 60.0, 1000, 10000, 35000)
    )
    started = time.perf_counter()
    async with KubeSim(nodes=4, node_pods=2000, delays=copy.deepcopy(DELAYS)) as sim:
        bench = Bench(sim, ready_recorder(sim), args.reps)
        if "spawn" in args.only:
            for users in args.users:
                await bench.spawn(users, pvc=False)
                await bench.spawn(users, pvc=True)
        if "idle" in args.only:
            await bench.idle(idle_users, idle_window)
        if "poll" in args.only:
            await bench.poll(poll_users)
        if "rss" in args.only:
            await bench.rss(existing)
        if "events" in args.only:
            await bench.events(events)
    table, ratios = report(bench.figures)
    target_lines, failed = targets(bench.figures)
    print(table, "", "\n".join(target_lines), sep="\n")
    for tag, runs in bench.diagnostics.items():
        p50 = statistics.median(r[0] for r in runs)
        p95 = statistics.median(r[1] for r in runs)
        print(
            f"ours, watch event received -> start() returns ({tag}): "
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms (the rest of the ready latency: the event on its way from kubesim)"
        )
    print(f"\n(bench-spawner took {time.perf_counter() - started:.0f} s)\n")
    if args.json:
        args.json.write_text(json.dumps(bench.figures, indent=1))
    print(ratios)  # last, so regressions are easy to read
    if failed:
        print(f"[bench] request-count targets missed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
