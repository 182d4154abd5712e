"""`python -m kubesim`: run a simulated cluster until SIGINT/SIGTERM.

python -m kubesim --port 0 --write-kubeconfig /tmp/kubeconfig --nodes 3
kubectl --kubeconfig /tmp/kubeconfig get pods -w
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

import yaml


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
        "--runtime",
        choices=("pause", "process"),
        default="pause",
        help="pause: no processes; process: run containers' commands locally",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where pod volumes, logs and certificates live (default: temp)",
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
        help="YAML list of image rules (see kubesim.nodeconfig): an image's "
        "ENTRYPOINT/CMD/ENV/WORKDIR for the process runtime, pull failures",
    )
    parser.add_argument(
        "--controllers",
        action="store_true",
        help="run workload controllers: Deployments, ReplicaSets, StatefulSets and Jobs "
        "create pods (off by default)",
    )
    parser.add_argument(
        "--log-level",
        default="DEBUG",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="DEBUG logs one line per request",
    )
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    from .sim import KubeSim  # imported after argument parsing: bad arguments fail fast

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
        image_rules=yaml.safe_load(args.image_rules.read_text()) if args.image_rules else None,
    )
    async with sim:
        print(f"kubesim: serving {sim.url}; kubeconfig: {sim.kubeconfig_path}", flush=True)
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
