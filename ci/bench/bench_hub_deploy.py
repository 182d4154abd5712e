"""The deployment the hub benchmark measures: `ci/dev up`'s machinery
(localdeploy) with dev-config.yaml, users' pods without processes and a
values overlay with what a benchmark needs."""

from __future__ import annotations

import math
import secrets
import socket
import sys
from pathlib import Path

import yaml

from localdeploy.deployment import LocalDeployment, Options, purge
from localdeploy.ports import free_port
from localdeploy.progress import Progress

SERVICE = "bench-hub"
PODS_PER_NODE = 100  # kubesim nodes take 110 pods; the rest is for the chart's own
# dev-config's profiles set CPU limits only, which become requests (0.5 CPU
# per user): nodes big enough that capacity never turns a spawn away.
# what the benchmark does: create users, start/stop/watch their servers
SCOPES = ["admin:users", "admin:servers"]
NODE_SIZE = ("--node-cpu", "64", "--node-memory", "64Gi")


def profile_config(stats_file: Path) -> str:
    """hub.extraConfig that profiles the hub's main thread (its event loop)
    from config load on, and writes the stats on SIGUSR2 (`--profile-hub`).
    Not at exit: the hub's SIGTERM handling leaves no room for atexit hooks,
    and it keeps SIGUSR1 for itself."""
    return (
        "import cProfile, signal\n"
        "_bench_profile = cProfile.Profile()\n"
        "_bench_profile.enable()\n"
        "signal.signal(signal.SIGUSR2, "
        f"lambda *_: _bench_profile.dump_stats({str(stats_file)!r}))\n"
    )


def bench_values(
    token: str,
    server_port: int,
    spawn_limit: int,
    profile: Path | None = None,
    db_type: str | None = None,
) -> dict:
    """The overlay on dev-config.yaml, and why each key is there."""
    values = {
        "hub": {
            # An API token for the benchmark, with the scopes to create users,
            # start/stop/watch their servers and get a hub-generated token;
            # admin, as only admins may create the admin user that token is for.
            "services": {SERVICE: {"apiToken": token, "admin": True}},
            "loadRoles": {
                SERVICE: {
                    "description": "the hub benchmark (ci/bench-hub)",
                    "scopes": SCOPES + ["tokens"],
                    "services": [SERVICE],
                }
            },
            # All N users start at once: the chart's default (64) would turn
            # the rest away with 429, which measures the limit, not the hub.
            "concurrentSpawnLimit": spawn_limit,
            # Under injected API errors some spawns fail; the hub must not
            # exit after a few in a row as it would in production.
            "consecutiveFailureLimit": 0,
            # Users' servers listen on a port of our choosing, so the
            # benchmark's stand-in servers never meet another deployment's
            # process-runtime pods on 8888 on this shared loopback network.
            "config": {"KubeSpawner": {"port": server_port}},
        },
        # The culler keeps running (its periodic API calls are part of the
        # hub's load) but must not stop servers while they are counted.
        "cull": {"timeout": 3600},
        # Debug logging would add a log line per request to the hub's CPU.
        "debug": {"enabled": False},
        # Pods that are not the hub's business, off on both charts alike:
        # image pullers (z2jh's hook awaiter is a Go binary we do not have)
        # and the user-scheduler (its kube-scheduler is a stand-in here, and
        # kubesim's scheduler places users' pods either way).
        "prePuller": {"hook": {"enabled": False}, "continuous": {"enabled": False}},
        "scheduling": {"userScheduler": {"enabled": False}},
    }
    if db_type:
        # e.g. sqlite-memory: the hub without its database's fsyncs
        values["hub"]["db"] = {"type": db_type}
    if profile:
        values["hub"]["extraConfig"] = {"zz-bench-profile": profile_config(profile)}
    return values


def free_server_port() -> int:
    """A port free on the address the first user pod gets."""
    for _ in range(100):
        port = free_port()
        with socket.socket() as sock:
            try:
                sock.bind(("127.244.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port for users' servers after 100 tries")


def nodes_for(users: int) -> int:
    return math.ceil(users / PODS_PER_NODE) + 1


def start(
    state_dir: Path,
    spawn_limit: int,
    nodes: int,
    timeout: float,
    profile: Path | None = None,
    db_type: str | None = None,
    chart: Path | None = None,
    hub_venv: Path | None = None,
) -> tuple[LocalDeployment, str, int]:
    """A started deployment (of `chart` with the hub from `hub_venv`; by
    default ours), the benchmark's API token, the servers' port."""
    purge(state_dir)
    state_dir.mkdir(parents=True)
    token = secrets.token_hex(32)
    port = free_server_port()
    overlay = state_dir / "bench-values.yaml"
    overlay.write_text(yaml.safe_dump(bench_values(token, port, spawn_limit, profile, db_type)))
    options = Options(
        state_dir=state_dir,
        port=free_port(),
        values=(overlay,),
        runtime="pause",
        nodes=nodes,
        kubesim_args=NODE_SIZE,
        timeout=timeout,
        **({"chart": chart} if chart else {}),
        **({"hub_venv": hub_venv} if hub_venv else {}),
    )
    dep = LocalDeployment(options, Progress(prefix="bench-hub", stream=sys.stderr))
    return dep.start(), token, port
