"""Users' PersistentVolumeClaims across runs. kubesim keeps objects in
memory only, but keeps a dynamically provisioned volume's data in its state
folder under the claim's name; a real cluster keeps the claims too, and the
spawner remembers it made one. So ci/dev saves the claims the spawner made
and creates them again on the next `ci/dev up`: the same names bind to the
same data."""

from pathlib import Path

import yaml

from .kubeapi import ApiError, KubeClient

# Server-set fields a create must not carry.
_SERVER_META = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields")


def portable(claim: dict) -> dict:
    meta = {k: v for k, v in claim["metadata"].items() if k not in _SERVER_META}
    notes = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if not k.startswith(("pv.kubernetes.io/", "volume.kubernetes.io/", "volume.beta."))
    }
    meta["annotations"] = notes
    spec = {k: v for k, v in claim.get("spec", {}).items() if k != "volumeName"}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": spec}


def save_claims(client: KubeClient, namespace: str, rendered: set[str], path: Path) -> int:
    """Write the claims not rendered by the chart (users' claims) to `path`."""
    claims = [
        portable(c)
        for c in client.list("v1", "PersistentVolumeClaim", namespace)
        if c["metadata"]["name"] not in rendered and not c["metadata"].get("deletionTimestamp")
    ]
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump_all(claims, sort_keys=True))
    tmp.replace(path)
    return len(claims)


def restore_claims(client: KubeClient, path: Path) -> int:
    if not path.exists():
        return 0
    restored = 0
    for claim in yaml.safe_load_all(path.read_text()):
        if not claim:
            continue
        try:
            client.create(claim)
            restored += 1
        except ApiError as err:
            if err.status != 409:
                raise
    return restored
