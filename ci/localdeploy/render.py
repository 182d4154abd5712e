"""Render the chart with `helm template` and read the documents back."""

import secrets
import subprocess
from pathlib import Path

import yaml

from .paths import CHART, HELM

RELEASE = "jhub"
NAMESPACE = "jhub"


class RenderError(RuntimeError):
    pass


def helm_template_command(
    values_files: list[Path], release: str = RELEASE, namespace: str = NAMESPACE
) -> list[str]:
    cmd = [str(HELM), "template", release, str(CHART), "--namespace", namespace]
    for path in values_files:
        cmd += ["--values", str(path)]
    return cmd


def render(values_files: list[Path], release: str = RELEASE, namespace: str = NAMESPACE) -> str:
    for path in values_files:
        if not Path(path).is_file():
            raise RenderError(f"values file {path} does not exist; check the -f argument")
    proc = subprocess.run(
        helm_template_command(values_files, release, namespace), capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RenderError(f"helm template failed:\n{proc.stderr.strip()}")
    return proc.stdout


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


def generated_secret_values() -> dict:
    """Values for the secrets the chart would generate on every `helm
    template` (it cannot `lookup` the previous ones). Made once per state
    folder, so cookies and encrypted auth state survive `ci/dev up` twice,
    as they survive `helm upgrade` in a cluster."""
    return {
        "hub": {
            "cookieSecret": secrets.token_hex(32),
            "config": {"CryptKeeper": {"keys": [secrets.token_hex(32)]}},
        },
        "proxy": {"secretToken": secrets.token_hex(32)},
    }


def ensure_generated_values(path: Path) -> Path:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "# Made by ci/dev once for this state folder; removed by `ci/dev down --purge`.\n"
            + yaml.safe_dump(generated_secret_values(), sort_keys=True)
        )
        path.chmod(0o600)
    return path
