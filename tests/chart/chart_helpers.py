"""Helpers for the chart tests: real `helm template` / `helm lint` runs, cached.

Every values file is rendered once per session and per Helm major version
(renders run in a small thread pool: helm is a subprocess). Tests get
parsed documents and never re-run helm for the same input.
"""

import base64
import functools
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "chart"
HELMS = {"3": ROOT / ".bin/helm", "4": ROOT / ".bin/helm4/helm"}
VALUES_DIR = Path(__file__).parent / "values"
RELEASE, NAMESPACE = "jhub", "jhub"
# The API server version renders assume. Pinned because `helm template`'s
# default is its own client-go version (helm 3.19: 1.34, helm 4.1: 1.35),
# and the chart picks the user-scheduler's release by it.
KUBE_VERSION = "1.33.0"

# Named inputs: "default" (no file), the local deployment's values, and
# every file under tests/chart/values/.
VALUES_FILES = {"default": None, "dev-config": ROOT / "dev-config.yaml"} | {
    str(p.relative_to(VALUES_DIR).with_suffix("")): p for p in sorted(VALUES_DIR.rglob("*.yaml"))
}


class HelmError(Exception):
    pass


@dataclass(frozen=True)
class Render:
    docs: tuple  # parsed manifests (dicts), in helm's order
    stderr: str

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


def run_helm(args: list[str], helm: str = "3") -> subprocess.CompletedProcess:
    return subprocess.run([HELMS[helm], *args], capture_output=True, text=True, timeout=120)


def _value_args(values: tuple, sets: tuple) -> list[str]:
    args = []
    for v in values:
        path = VALUES_FILES[v] if v in VALUES_FILES else v
        if path is not None:
            args += ["-f", str(path)]
    for s in sets:
        args += ["--set-json", s]
    return args


def render(
    values: tuple = (),
    helm: str = "3",
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    sets: tuple = (),
    chart: Path = CHART,
    show_only: str | None = None,
) -> Render:
    """`helm template` of the chart; raises HelmError with helm's message on failure."""
    # One cache entry per input, however the caller spelled the arguments.
    return _render(tuple(values), helm, release, namespace, tuple(sets), chart, show_only)


@functools.cache
def _render(values, helm, release, namespace, sets, chart, show_only) -> Render:
    args = ["template", release, str(chart), "--namespace", namespace]
    args += ["--kube-version", KUBE_VERSION, *_value_args(values, sets)]
    if show_only:
        args += ["--show-only", show_only]
    out = run_helm(args, helm)
    if out.returncode != 0:
        raise HelmError(out.stderr)
    docs = tuple(d for d in yaml.load_all(out.stdout, Loader=yaml.CSafeLoader) if d)
    return Render(docs, out.stderr)


def render_error(values: tuple = (), helm: str = "3", sets: tuple = ()) -> str:
    """helm's error message for input the chart must refuse."""
    try:
        render(values, helm, sets=sets)
    except HelmError as e:
        return str(e)
    raise AssertionError(f"helm {helm} accepted {values} {sets}")


def lint(values: tuple = (), helm: str = "3") -> subprocess.CompletedProcess:
    return _lint(tuple(values), helm)


@functools.cache
def _lint(values: tuple, helm: str) -> subprocess.CompletedProcess:
    return run_helm(["lint", "--strict", str(CHART), *_value_args(values, ())], helm)


def values_key(name: str) -> tuple:
    return (name,) if VALUES_FILES[name] else ()


def dotted_get(tree, path: str, missing=None):
    """The value at a dotted path of nested mappings, or `missing`."""
    for part in path.split("."):
        if not isinstance(tree, dict) or part not in tree:
            return missing
        tree = tree[part]
    return tree


def pod_spec(doc: dict) -> dict:
    if doc["kind"] == "Pod":
        return doc["spec"]
    return doc["spec"]["template"]["spec"]


def workloads(r: Render) -> list[dict]:
    kinds = {"Deployment", "StatefulSet", "DaemonSet", "Job"}
    return [d for d in r.docs if d["kind"] in kinds]


def all_containers(spec: dict) -> list[dict]:
    return spec.get("initContainers", []) + spec["containers"]


def hub_values(r: Render) -> dict:
    """The values the hub reads (the effective values in its Secret)."""
    return yaml.safe_load(base64.b64decode(r.find("Secret", "hub")["data"]["values.yaml"]))
