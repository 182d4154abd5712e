"""The hubs `ci/bench-hub --against z2jh` compares: ours (this chart and
.venv) and Zero to JupyterHub 4.4.0's (its chart from ../shared/anchors,
installed as it is, with JupyterHub and kubespawner at its pinned versions
from `ci/z2jh-venv`). Both get the same values files: dev-config.yaml (z2jh
takes every key of it with the same meaning) and the benchmark's overlay."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
Z2JH_VERSION = "4.4.0"
Z2JH_CHART = (
    ROOT.parent / "shared" / "anchors" / f"zero-to-jupyterhub-k8s-{Z2JH_VERSION}" / "jupyterhub"
)


@dataclass(frozen=True)
class Side:
    name: str  # "ours", "z2jh": the figures' column
    chart: Path
    hub_venv: Path


def ours() -> Side:
    return Side("ours", ROOT / "chart", ROOT / ".venv")


def z2jh() -> Side:
    """z2jh's side; its virtualenv is built on first use (a few minutes once).
    Its chart's `version:` and image tags are chartpress placeholders, which
    helm takes as they are (a valid SemVer; kubesim's image rules match any
    tag), so the anchor is installed unchanged."""
    if not (Z2JH_CHART / "Chart.yaml").is_file():
        raise SystemExit(f"bench-hub: z2jh's chart is not at {Z2JH_CHART} (../shared/anchors)")
    made = subprocess.run(
        [str(ROOT / "ci" / "z2jh-venv"), Z2JH_VERSION], capture_output=True, text=True
    )
    if made.returncode != 0:
        raise SystemExit(f"bench-hub: ci/z2jh-venv {Z2JH_VERSION} failed:\n{made.stderr}")
    return Side("z2jh", Z2JH_CHART, Path(made.stdout.strip().splitlines()[-1]))
