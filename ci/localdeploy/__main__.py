"""Command line of ci/dev: up, upgrade, down, kubeconfig, helm, kubectl."""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import render
from .deployment import LocalDeployment, Options, purge
from .paths import CHART, DEFAULT_STATE, DEV_CONFIG, HELM, KUBECTL, VENV, StateLayout
from .procs import ComponentFailed, kill_recorded
from .progress import Progress


class Stop(Exception):
    """SIGTERM/SIGINT: stop everything, then exit."""


def _on_signal(signum, frame):
    raise Stop(signal.Signals(signum).name)


def _pid_alive(pid: int) -> bool:
    """Running, not merely waiting for its parent to collect its exit
    status (a zombie has stopped everything already)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def _running_up(layout: StateLayout) -> int | None:
    try:
        pid = int(layout.up_pid.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _pid_alive(pid) else None


def _progress() -> Progress:
    progress = Progress()
    started = os.environ.get("CI_DEV_STARTED")
    if started:
        # count from when `ci/dev` was called, set-up included
        progress.started -= time.time() - float(started)
    return progress


def cmd_up(args) -> int:
    layout = StateLayout(Path(args.state_dir).resolve())
    other = _running_up(layout)
    if other:
        print(
            f"ci/dev up is already running (pid {other}) with state {layout.root}; "
            "stop it with `ci/dev down`",
            file=sys.stderr,
        )
        return 1
    layout.root.mkdir(parents=True, exist_ok=True)
    layout.up_pid.write_text(str(os.getpid()))
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    progress = _progress()
    options = Options(
        state_dir=layout.root,
        port=args.port,
        values=tuple(Path(f).resolve() for f in args.values),
        runtime=args.runtime,
        nodes=args.nodes,
        chart=Path(args.chart).resolve(),
        hub_venv=Path(args.hub_venv).resolve(),
        z2jh_hub_venv=args.z2jh_hub_venv and Path(args.z2jh_hub_venv).resolve(),
        base_values=tuple(Path(f).resolve() for f in args.base_values or [DEV_CONFIG]),
    )
    dep = LocalDeployment(options, progress)
    code = 0
    try:
        dep.start()
        print(f"JupyterHub is ready at {dep.url}", flush=True)
        progress.say("up", f"logs in {layout.logs}; kubeconfig {layout.kubeconfig}; Ctrl-C stops")
        while True:
            failed = dep.failure()
            if failed:
                raise failed
            time.sleep(1)
    except Stop as stop:
        progress.say("down", f"{stop}: stopping")
    except ComponentFailed as err:
        print(f"ci/dev: {err}", file=sys.stderr)
        code = 1
    except Exception as err:  # noqa: BLE001 - one clear line, then clean up
        print(f"ci/dev: {type(err).__name__}: {err}", file=sys.stderr)
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        dep.stop()
        layout.up_pid.unlink(missing_ok=True)
        progress.say("down", "everything stopped")
    return code


def cmd_down(args) -> int:
    layout = StateLayout(Path(args.state_dir).resolve())
    pid = _running_up(layout)
    if pid:
        print(f"stopping ci/dev up (pid {pid})")
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
    stopped = kill_recorded(layout.pids)
    if stopped:
        print(f"stopped leftover processes: {', '.join(stopped)}")
    if args.purge:
        purge(layout.root)
        print(f"removed {layout.root}")
    return 0


def _env_for(layout: StateLayout) -> dict[str, str]:
    if not layout.kubeconfig.exists():
        raise SystemExit(f"ci/dev: no deployment runs with state {layout.root}; `ci/dev up` first")
    env = dict(os.environ, KUBECONFIG=str(layout.kubeconfig))
    for what in ("CACHE", "CONFIG", "DATA"):
        env[f"HELM_{what}_HOME"] = str(layout.helm_home / what.lower())
    return env


def cmd_upgrade(args) -> int:
    """helm upgrade of the running deployment with dev-config.yaml and the -f files."""
    layout = StateLayout(Path(args.state_dir).resolve())
    files = [Path(f).resolve() for f in args.base_values or [DEV_CONFIG]]
    files += [Path(f).resolve() for f in args.values]
    render.check_files(files)
    command = render.helm_install_command(files, chart=Path(args.chart).resolve())
    command[2:3] = []  # `helm upgrade`, not --install: the release must be there
    print("helm " + " ".join(command[1:]), flush=True)
    return subprocess.call(command, env=_env_for(layout))


def cmd_tool(tool: Path):
    def run(args) -> int:
        layout = StateLayout(Path(args.state_dir).resolve())
        return subprocess.call([str(tool), *args.args], env=_env_for(layout))

    return run


def cmd_kubeconfig(args) -> int:
    layout = StateLayout(Path(args.state_dir).resolve())
    print(layout.kubeconfig)
    if not layout.kubeconfig.exists():
        print("(not there yet: it appears while `ci/dev up` runs)", file=sys.stderr)
        return 1
    return 0


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--state-dir", default=str(DEFAULT_STATE), help="state folder (default .state/dev)"
    )
    chart = argparse.ArgumentParser(add_help=False)
    chart.add_argument("--chart", default=str(CHART), help="chart folder (default ./chart)")
    chart.add_argument(
        "--base-values",
        action="append",
        help="values file(s) instead of dev-config.yaml (repeatable), e.g. for another chart",
    )
    top = argparse.ArgumentParser(prog="ci/dev", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", parents=[common, chart], help="run the whole system until Ctrl-C")
    up.add_argument("--port", type=int, default=8080, help="public port (default 8080)")
    up.add_argument(
        "-f", "--values", action="append", default=[], help="extra values file (repeatable)"
    )
    up.add_argument(
        "--runtime",
        choices=["process", "pause"],
        default="process",
        help="kubesim runtime for users' pods: real processes (default) or none (benchmarks)",
    )
    up.add_argument("--nodes", type=int, default=1, help="simulated nodes (default 1)")
    up.add_argument(
        "--hub-venv",
        default=str(VENV),
        help="virtualenv the hub images run from (default .venv), e.g. one built from "
        "z2jh's pinned images/hub/requirements.txt",
    )
    up.add_argument(
        "--z2jh-hub-venv",
        default=None,
        help="virtualenv of z2jh's hub image only (default: --hub-venv), e.g. "
        "$(ci/z2jh-venv 4.4.0), so that an upgrade to ./chart runs ours from .venv",
    )
    up.set_defaults(func=cmd_up)
    upgrade = sub.add_parser(
        "upgrade", parents=[common, chart], help="helm upgrade the running deployment"
    )
    upgrade.add_argument(
        "-f", "--values", action="append", default=[], help="extra values file (repeatable)"
    )
    upgrade.set_defaults(func=cmd_upgrade)
    for name, tool in (("helm", HELM), ("kubectl", KUBECTL)):
        run = sub.add_parser(
            name, parents=[common], help=f"{name} with the running deployment's kubeconfig"
        )
        run.add_argument("args", nargs=argparse.REMAINDER)
        run.set_defaults(func=cmd_tool(tool))
    down = sub.add_parser("down", parents=[common], help="stop a running `ci/dev up`")
    down.add_argument("--purge", action="store_true", help="also remove the state folder")
    down.set_defaults(func=cmd_down)
    kc = sub.add_parser(
        "kubeconfig", parents=[common], help="print the kubeconfig path for kubectl"
    )
    kc.set_defaults(func=cmd_kubeconfig)
    return top


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
