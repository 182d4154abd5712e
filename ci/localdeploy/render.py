"""The helm commands of a deployment (pure), and `helm template`'s objects
read back (ci/dev reads names and values out of them before installing)."""

import subprocess
from pathlib import Path

import yaml

from .paths import CHART, HELM

RELEASE = "jhub"
NAMESPACE = "jhub"


class RenderError(RuntimeError):
    pass


def values_args(values_files) -> list[str]:
    args = []
    for path in values_files:
        args += ["--values", str(path)]
    return args


def helm_template_command(
    values_files,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    chart: Path = CHART,
    *,
    helm: Path = HELM,
    sets=(),
    set_json=(),
    kube_version: str | None = None,
    show_only: str | None = None,
) -> list[str]:
    """`helm template`; `sets` are `--set KEY=VALUE`, `set_json` `--set-json
    KEY=JSON`; `kube_version` pins the API version the chart sees (helm's own
    default differs between helm releases)."""
    cmd = [str(helm), "template", release, str(chart), "--namespace", namespace]
    if kube_version:
        cmd += ["--kube-version", kube_version]
    cmd += values_args(values_files)
    for item in sets:
        cmd += ["--set", item]
    for item in set_json:
        cmd += ["--set-json", item]
    if show_only:
        cmd += ["--show-only", show_only]
    return cmd


def helm_install_command(
    values_files,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    chart: Path = CHART,
    timeout: float = 300,
) -> list[str]:
    """Exactly what a user runs on a cluster (hooks on), waiting until every
    Deployment, StatefulSet, PVC and LoadBalancer Service is ready."""
    return [
        str(HELM),
        "upgrade",
        "--install",
        release,
        str(chart),
        "--namespace",
        namespace,
        "--create-namespace",
        *values_args(values_files),
        "--wait",
        "--timeout",
        f"{int(timeout)}s",
    ]


def check_files(values_files) -> None:
    for path in values_files:
        if not Path(path).is_file():
            raise RenderError(f"values file {path} does not exist; check the -f argument")


def render(
    values_files, release: str = RELEASE, namespace: str = NAMESPACE, chart=CHART, **options
) -> str:
    """helm template's output; `options` as for helm_template_command."""
    return render_with_warnings(values_files, release, namespace, chart, **options)[0]


def render_with_warnings(
    values_files, release: str = RELEASE, namespace: str = NAMESPACE, chart=CHART, **options
) -> tuple[str, str]:
    """helm template's output and what it wrote to stderr (its warnings)."""
    check_files(values_files)
    proc = subprocess.run(
        helm_template_command(values_files, release, namespace, chart, **options),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise RenderError(f"helm template failed:\n{proc.stderr.strip()}")
    return proc.stdout, proc.stderr


def parse_manifests(text: str) -> list[dict]:
    """Every non-empty document of a multi-document YAML stream, in order;
    `List` kinds are flattened into their items."""
    objects = []
    for doc in yaml.safe_load_all(text):
        if not doc:
            continue
        if not isinstance(doc, dict) or "kind" not in doc:
            raise RenderError(f"rendered document is not a Kubernetes object: {str(doc)[:200]}")
        if doc["kind"].endswith("List") and "items" in doc:
            objects.extend(item for item in doc["items"] or [] if item)
        else:
            objects.append(doc)
    return objects


def find(objects: list[dict], kind: str, name: str) -> dict | None:
    return next((o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name), None)
