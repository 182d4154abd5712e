"""The chart rendered by real `helm template` (helm 3 or 4), parsed and cached:
one run per input for the whole session, however the caller spells it.
The command itself is localdeploy.render's, the one the local deployment runs."""

import functools
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from localdeploy import render as localrender
from localdeploy.paths import CHART, REPO

HELMS = {"3": REPO / ".bin/helm", "4": REPO / ".bin/helm4/helm"}
RELEASE, NAMESPACE = localrender.RELEASE, localrender.NAMESPACE
# The API server version renders assume. Pinned because `helm template`'s
# default is its own client-go version (helm 3.19: 1.34, helm 4.1: 1.35),
# and the chart picks the user-scheduler's release by it.
KUBE_VERSION = "1.33.0"
# libyaml's loader: the rendered chart is large.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# helm's message for input the chart refuses (a RuntimeError).
HelmError = localrender.RenderError


@dataclass(frozen=True)
class Render:
    docs: tuple  # parsed manifests (dicts), in helm's order
    stderr: str  # helm's warnings

    def find(self, kind: str, name: str | None = None) -> dict:
        found = self.all(kind, name)
        assert len(found) == 1, (
            f"expected one {kind} {name}, got {[d['metadata']['name'] for d in found]}"
        )
        return found[0]

    def all(self, kind: str, name: str | None = None) -> list[dict]:
        return [
            d
            for d in self.docs
            if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
        ]

    def names(self, kind: str) -> set[str]:
        return {d["metadata"]["name"] for d in self.all(kind)}


def render(
    values_files=(),
    helm: str = "3",
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    set_json=(),
    sets=(),
    chart: Path = CHART,
    show_only: str | None = None,
    kube_version: str | None = KUBE_VERSION,
) -> Render:
    """`helm template` of the chart with these values files (paths), `--set-json`
    and `--set` items; raises HelmError with helm's message when helm refuses."""
    return _render(
        tuple(str(f) for f in values_files),
        helm,
        release,
        namespace,
        tuple(set_json),
        tuple(sets),
        Path(chart),
        show_only,
        kube_version,
    )


@functools.cache
def _render(values_files, helm, release, namespace, set_json, sets, chart, show_only, kube_version):
    out, warnings = localrender.render_with_warnings(
        values_files,
        release,
        namespace,
        chart,
        helm=HELMS[helm],
        sets=sets,
        set_json=set_json,
        kube_version=kube_version,
        show_only=show_only,
    )
    return Render(tuple(d for d in yaml.load_all(out, Loader=_LOADER) if d), warnings)


def run_helm(args: list[str], helm: str = "3") -> subprocess.CompletedProcess:
    """Any other helm command, its output captured."""
    return subprocess.run([HELMS[helm], *args], capture_output=True, text=True, timeout=120)


@functools.cache
def _lint(values_files: tuple, helm: str) -> subprocess.CompletedProcess:
    return run_helm(["lint", "--strict", str(CHART), *localrender.values_args(values_files)], helm)


def lint(values_files=(), helm: str = "3") -> subprocess.CompletedProcess:
    """`helm lint --strict` of the chart with these values files (cached)."""
    return _lint(tuple(str(f) for f in values_files), helm)
