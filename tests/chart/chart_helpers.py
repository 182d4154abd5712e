"""Helpers for the chart tests: real `helm template` / `helm lint` runs, cached
(testsupport.helm), of values files named as this suite names them.

Every values file is rendered once per session and per Helm major version
(renders run in a small thread pool: helm is a subprocess). Tests get
parsed documents and never re-run helm for the same input.
"""

import base64
from pathlib import Path

import yaml

from testsupport import helm as helm_support
from testsupport.helm import (  # noqa: F401 - this suite imports them from here
    CHART,
    HELMS,
    NAMESPACE,
    RELEASE,
    HelmError,
    Render,
    run_helm,
)

ROOT = Path(__file__).resolve().parents[2]
VALUES_DIR = Path(__file__).parent / "values"

# Named inputs: "default" (no file), the local deployment's values, and
# every file under tests/chart/values/.
VALUES_FILES = {"default": None, "dev-config": ROOT / "dev-config.yaml"} | {
    str(p.relative_to(VALUES_DIR).with_suffix("")): p for p in sorted(VALUES_DIR.rglob("*.yaml"))
}


def _files(values: tuple) -> tuple:
    """Values files by name (VALUES_FILES) or path; "default" is none."""
    paths = (VALUES_FILES[v] if v in VALUES_FILES else v for v in values)
    return tuple(p for p in paths if p is not None)


def render(
    values: tuple = (),
    helm: str = "3",
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    sets: tuple = (),
    chart: Path = CHART,
    show_only: str | None = None,
) -> Render:
    """`helm template` of the chart (`sets` are --set-json items); raises
    HelmError with helm's message on failure."""
    return helm_support.render(
        _files(values), helm, release, namespace, set_json=sets, chart=chart, show_only=show_only
    )


def render_error(values: tuple = (), helm: str = "3", sets: tuple = ()) -> str:
    """helm's error message for input the chart must refuse."""
    try:
        render(values, helm, sets=sets)
    except HelmError as e:
        return str(e)
    raise AssertionError(f"helm {helm} accepted {values} {sets}")


def lint(values: tuple = (), helm: str = "3"):
    return helm_support.lint(_files(values), helm)


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
