"""`python -m kubesim`: run a simulated cluster until SIGINT/SIGTERM.

python -m kubesim --port 0 --write-kubeconfig /tmp/kubeconfig --nodes 3
python -m kubesim ... --node-label zone=a --node-taint gpu=true:NoSchedule --delay pulling=2
kubectl --kubeconfig /tmp/kubeconfig get pods -w
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import signal
import sys
from pathlib import Path

import yaml

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def _label_errors(key: str, value: str) -> list[str]:
    """Why key=value is no valid label (the API server's rules), or []."""
    from kubesim.api.admission import Cause, _check_labels

    causes = Cause()
    _check_labels({key: value}, causes)
    return [cause["message"] for cause in causes]


def node_label(text: str) -> tuple[str, str]:
    """`--node-label key=value`."""
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise argparse.ArgumentTypeError(f"{text!r}: use key=value, e.g. --node-label zone=a")
    problems = _label_errors(key, value)
    if problems:
        raise argparse.ArgumentTypeError(f"{text!r}: {'; '.join(problems)}")
    return key, value


def node_taint(text: str) -> dict[str, str]:
    """`--node-taint key=value:Effect` or `key:Effect`, as `kubectl taint` writes them."""
    spec, colon, effect = text.rpartition(":")
    if not colon or not spec:
        raise argparse.ArgumentTypeError(
            f"{text!r}: use key=value:Effect or key:Effect, e.g. --node-taint gpu=true:NoSchedule"
        )
    if effect not in TAINT_EFFECTS:
        raise argparse.ArgumentTypeError(
            f"{text!r}: effect {effect!r} is not one of {', '.join(TAINT_EFFECTS)}"
        )
    key, _, value = spec.partition("=")
    problems = _label_errors(key, value)  # taint keys and values follow the label rules
    if problems:
        raise argparse.ArgumentTypeError(f"{text!r}: {'; '.join(problems)}")
    return (
        {"key": key, "value": value, "effect": effect} if value else {"key": key, "effect": effect}
    )


def delay(text: str) -> tuple[str, float]:
    """`--delay step=seconds`, a step of kubesim.node.node_settings.Delays."""
    from kubesim.node.node_settings import Delays

    step, equals, seconds = text.partition("=")
    if not equals:
        raise argparse.ArgumentTypeError(f"{text!r}: use step=seconds, e.g. --delay pulling=2")
    try:
        number = float(seconds)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"{text!r}: {seconds!r} is not a number of seconds")
    try:
        Delays().update({step: number})
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r}: {error}") from None
    return step, number


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m kubesim",
        description="A Kubernetes API server and node simulator in one process.",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--write-kubeconfig",
        type=Path,
        required=True,
        metavar="PATH",
        help="write a kubeconfig here once requests are accepted",
    )
    parser.add_argument("--nodes", type=int, default=1, help="number of simulated nodes")
    parser.add_argument("--node-cpu", default="4", help="CPU capacity per node (e.g. 4, 500m)")
    parser.add_argument("--node-memory", default="16Gi", help="memory capacity per node")
    parser.add_argument(
        "--node-label",
        action="append",
        type=node_label,
        default=[],
        metavar="KEY=VALUE",
        help="extra label on every node (repeatable)",
    )
    parser.add_argument(
        "--node-taint",
        action="append",
        type=node_taint,
        default=[],
        metavar="KEY[=VALUE]:EFFECT",
        help="taint on every node, e.g. gpu=true:NoSchedule (repeatable)",
    )
    parser.add_argument(
        "--delay",
        action="append",
        type=delay,
        default=[],
        metavar="STEP=SECONDS",
        help="a node-side delay (see kubesim.node.node_settings): scheduling, pulling, creating, "
        "starting, readiness, terminating, image_pull_backoff, crashloop_backoff, "
        "node_monitor_grace (repeatable)",
    )
    parser.add_argument(
        "--runtime",
        choices=("pause", "process"),
        default="pause",
        help="pause: no processes; process: run containers' commands locally",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where API objects (kept across restarts), pod volumes, logs and certificates "
        "live (default: a temporary folder, nothing kept)",
    )
    parser.add_argument(
        "--https",
        action="store_true",
        help="serve HTTPS with a self-signed CA (written into the kubeconfig)",
    )
    parser.add_argument("--token", default=None, help="bearer token (default: random)")
    parser.add_argument("--kubernetes-version", default="1.33", help="version to serve")
    parser.add_argument(
        "--scheduler-name",
        action="append",
        default=[],
        help="extra schedulerName the scheduler serves (repeatable)",
    )
    parser.add_argument(
        "--image-rules",
        type=Path,
        default=None,
        metavar="FILE",
        help="YAML list of image rules (see kubesim.node.node_settings): an image's "
        "ENTRYPOINT/CMD/ENV/WORKDIR for the process runtime, pull failures",
    )
    parser.add_argument(
        "--controllers",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the workload controllers: Deployments, ReplicaSets, StatefulSets, "
        "DaemonSets and Jobs create pods (on by default; --no-controllers stores them only)",
    )
    parser.add_argument(
        "--log-level",
        default="DEBUG",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="DEBUG logs one line per request",
    )
    args = parser.parse_args(argv)
    seen: set[tuple[str, str]] = set()
    for taint in args.node_taint:
        if (taint["key"], taint["effect"]) in seen:
            # the API server's rule: taints must be unique by key and effect
            parser.error(
                f"argument --node-taint: {taint['key']} with effect {taint['effect']} is given "
                "twice; keep one"
            )
        seen.add((taint["key"], taint["effect"]))
    return args


def read_image_rules(path: Path) -> list:
    """The rules file; relative host paths in `files` are relative to the file."""
    rules = yaml.safe_load(path.read_text()) or []
    for rule in rules:
        if isinstance(rule, dict) and isinstance(rule.get("files"), dict):
            rule["files"] = {
                target: str((path.parent / source).resolve())
                for target, source in rule["files"].items()
            }
    return rules


async def run(args: argparse.Namespace) -> None:
    from kubesim.harness.simulator import (
        KubeSim,  # imported after argument parsing: bad arguments fail fast
    )

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sim = KubeSim(
        nodes=args.nodes,
        node_cpu=args.node_cpu,
        node_memory=args.node_memory,
        runtime=args.runtime,
        state_dir=args.state_dir,
        https=args.https,
        version=args.kubernetes_version,
        host=args.host,
        port=args.port,
        token=args.token,
        kubeconfig_path=args.write_kubeconfig,
        scheduler_names=args.scheduler_name,
        controllers=args.controllers,
        node_labels=dict(args.node_label),
        node_taints=args.node_taint,
        delays=dict(args.delay),
        image_rules=read_image_rules(args.image_rules) if args.image_rules else None,
    )
    async with sim:
        print(f"kubesim: serving {sim.url}; kubeconfig: {sim.kubeconfig_path}", flush=True)
        dns = getattr(sim.nodes, "cluster_dns", None)
        if dns is not None:
            print(f"kubesim: cluster DNS on {dns.host}:{dns.port} (udp, tcp)", flush=True)
        await stop.wait()
        logging.getLogger("kubesim").info("stopping")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("asyncio").setLevel(logging.WARNING)
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
