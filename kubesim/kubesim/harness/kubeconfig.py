"""Writing the kubeconfig clients use to reach a running kubesim."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml


def kubeconfig(
    server: str,
    token: str,
    ca_pem: bytes | None = None,
    name: str = "kubesim",
    namespace: str = "default",
) -> dict[str, Any]:
    cluster: dict[str, Any] = {"server": server}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [
            {"name": name, "context": {"cluster": name, "user": name, "namespace": namespace}}
        ],
        "current-context": name,
        "preferences": {},
    }


def write_kubeconfig(path: Path, config: dict[str, Any]) -> None:
    """Write atomically so a watcher polling for the file never reads half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def read_kubeconfig(path: Path) -> tuple[str, str | None, bytes | None]:
    """(server, token, CA PEM or None) of the current context of a kubeconfig
    that `kubeconfig()` wrote."""
    config = yaml.safe_load(Path(path).read_text())
    context = next(
        c["context"] for c in config["contexts"] if c["name"] == config["current-context"]
    )
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
    user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
    data = cluster.get("certificate-authority-data")
    return cluster["server"], user.get("token"), base64.b64decode(data) if data else None
