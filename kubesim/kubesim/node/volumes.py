"""Pod volumes materialised as directories, and container mounts onto them.

Each pod gets `<state_dir>/pods/<uid>/volumes/<volume name>/`:

- emptyDir: an empty directory (mode 0777, like the kubelet's).
- secret / configMap / downwardAPI / projected: one file per key (or per
  `items` entry, at its `path`, with `mode`/`defaultMode`).
- persistentVolumeClaim: the bound PV's `hostPath.path` (or `local.path`);
  dynamically provisioned PVs live under `<state_dir>/pv/<namespace>/<claim>`,
  so their data outlives pods and, with a persistent state_dir, kubesim.
- hostPath: the path itself (created for DirectoryOrCreate/FileOrCreate).
- anything else (nfs, csi, ...): an empty directory; nothing to mount it from.

Missing non-optional secrets, configmaps, keys or unbound claims raise
`VolumeError`, which the kubelet reports as a FailedMount event while the pod
stays ContainerCreating, and retries, as the real one does. With
`write=False` (pause runtime) only those checks run and nothing is written.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from kubesim.node.container_env import (
    EnvError,
    expand,
    field_ref_value,
    resource_field_value,
    secret_data,
)
from kubesim.node.runtime import Mount

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


class VolumeError(Exception):
    """A volume cannot be set up yet; the message goes into the FailedMount event."""


@dataclass
class VolumeSources:
    """How the kubelet reads what volumes refer to (all in the pod's namespace)."""

    get_secret: Callable[[str], Mapping | None]
    get_configmap: Callable[[str], Mapping | None]
    get_pvc: Callable[[str], Mapping | None]
    get_pv: Callable[[str], Mapping | None]
    # {"token_for": pod -> token, "ca.crt": ...}: how pods reach the API server
    api_access: Mapping | None = None
    node_allocatable: Mapping[str, str] | None = None


def pod_token(api_access: Mapping, pod: Mapping) -> str:
    """The pod's ServiceAccount token (a fixed "token" when no issuer is given)."""
    token_for = api_access.get("token_for")
    if token_for is None:
        return api_access.get("token", "")
    try:
        return token_for(pod)
    except Exception as error:  # the account is gone: the kubelet's FailedMount
        raise VolumeError(f"failed to fetch token: {error}") from None


def _write(path: str, content: bytes, mode: int) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(content)
    os.chmod(path, mode)


def _key_files(
    kind: str,
    name: str,
    obj: Mapping | None,
    source: Mapping,
    namespace: str,
) -> list[tuple[str, bytes, int | None]]:
    """(relative path, content, mode) for a secret/configMap source."""
    if obj is None:
        if source.get("optional"):
            return []
        raise VolumeError(f'{kind.lower()} "{name}" not found')
    if kind == "Secret":
        data = {k: base64.b64decode(v) for k, v in secret_data(obj).items()}
    else:
        data = {k: v.encode() for k, v in (obj.get("data") or {}).items()}
        data.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
    items = source.get("items")
    if not items:
        return [(key, value, None) for key, value in data.items()]
    files = []
    for item in items:
        key = item.get("key")
        if key not in data:
            if source.get("optional"):
                continue
            raise VolumeError(
                f"configmap references non-existent config key: {key}"
                if kind == "ConfigMap"
                else f"references non-existent secret key: {key}"
            )
        files.append((item.get("path") or key, data[key], item.get("mode")))
    return files


def _downward_files(pod: Mapping, items, sources: VolumeSources):
    files = []
    for item in items or []:
        try:
            if "fieldRef" in item:
                value = field_ref_value(pod, item["fieldRef"]["fieldPath"])
            else:
                ref = item.get("resourceFieldRef") or {}
                value = resource_field_value(
                    pod, ref.get("containerName") or "", ref, sources.node_allocatable or {}
                )
        except EnvError as error:
            raise VolumeError(str(error)) from None
        files.append((item["path"], value.encode(), item.get("mode")))
    return files


def volume_files(pod: Mapping, volume: Mapping, sources: VolumeSources):
    """Files of a key-based volume, or None for directory-based volumes."""
    namespace = pod["metadata"].get("namespace", "")
    if "secret" in volume:
        src = volume["secret"]
        name = src.get("secretName", "")
        return _key_files("Secret", name, sources.get_secret(name), src, namespace)
    if "configMap" in volume:
        src = volume["configMap"]
        name = src.get("name", "")
        return _key_files("ConfigMap", name, sources.get_configmap(name), src, namespace)
    if "downwardAPI" in volume:
        return _downward_files(pod, volume["downwardAPI"].get("items"), sources)
    if "projected" in volume:
        files = []
        for src in volume["projected"].get("sources") or []:
            if "secret" in src:
                name = src["secret"].get("name", "")
                files += _key_files(
                    "Secret", name, sources.get_secret(name), src["secret"], namespace
                )
            elif "configMap" in src:
                name = src["configMap"].get("name", "")
                files += _key_files(
                    "ConfigMap", name, sources.get_configmap(name), src["configMap"], namespace
                )
            elif "downwardAPI" in src:
                files += _downward_files(pod, src["downwardAPI"].get("items"), sources)
            elif "serviceAccountToken" in src:
                token = pod_token(sources.api_access or {}, pod)
                files.append(
                    (src["serviceAccountToken"].get("path", "token"), token.encode(), None)
                )
        return files
    return None


def pvc_path(pod: Mapping, claim_name: str, sources: VolumeSources) -> str:
    pvc = sources.get_pvc(claim_name)
    if pvc is None:
        raise VolumeError(f'persistentvolumeclaim "{claim_name}" not found')
    volume_name = (pvc.get("spec") or {}).get("volumeName")
    if not volume_name or (pvc.get("status") or {}).get("phase") != "Bound":
        raise VolumeError(f'persistentvolumeclaim "{claim_name}" is not bound')
    pv = sources.get_pv(volume_name)
    if pv is None:
        raise VolumeError(f'persistentvolume "{volume_name}" not found')
    spec = pv.get("spec") or {}
    path = (spec.get("hostPath") or {}).get("path") or (spec.get("local") or {}).get("path")
    if not path:
        raise VolumeError(
            f'persistentvolume "{volume_name}" has no hostPath or local path kubesim can use'
        )
    return path


def materialize(
    pod: Mapping, pod_dir: str | None, sources: VolumeSources, write: bool = True
) -> dict[str, str]:
    """Volume name -> host path. Raises VolumeError while something is missing."""
    paths: dict[str, str] = {}
    base = os.path.join(pod_dir or "", "volumes")
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        name = volume["name"]
        target = os.path.join(base, name)
        files = volume_files(pod, volume, sources)
        if files is not None:
            default_mode = None
            for key in ("secret", "configMap", "downwardAPI", "projected"):
                if key in volume:
                    default_mode = volume[key].get("defaultMode")
            if write:
                os.makedirs(target, exist_ok=True)
                for rel, content, mode in files:
                    _write(os.path.join(target, rel), content, mode or default_mode or 0o644)
            paths[name] = target
        elif "persistentVolumeClaim" in volume:
            path = pvc_path(pod, volume["persistentVolumeClaim"].get("claimName", ""), sources)
            if write:
                os.makedirs(path, exist_ok=True)
            paths[name] = path
        elif "hostPath" in volume:
            host = volume["hostPath"]
            path, kind = host.get("path", ""), host.get("type") or ""
            if write:
                if kind == "DirectoryOrCreate":
                    os.makedirs(path, exist_ok=True)
                elif kind == "FileOrCreate" and not os.path.exists(path):
                    _write(path, b"", 0o644)
                elif kind in ("Directory", "File", "Socket") and not os.path.exists(path):
                    raise VolumeError(f"hostPath type check failed: {path} is not a {kind.lower()}")
            paths[name] = path
        else:  # emptyDir and kinds nothing can back here
            if write:
                os.makedirs(target, exist_ok=True)
                os.chmod(target, 0o777)
            paths[name] = target
    return paths


def container_mounts(
    pod: Mapping,
    container: Mapping,
    volume_paths: Mapping[str, str],
    env: Mapping[str, str],
    pod_dir: str | None,
    api_access: Mapping | None,
) -> list[Mount]:
    mounts = []
    for mount in container.get("volumeMounts") or []:
        source = volume_paths.get(mount["name"])
        if source is None:
            raise VolumeError(f"volume {mount['name']!r} is mounted but not defined in the pod")
        sub_path = mount.get("subPath") or (
            expand(mount["subPathExpr"], env) if mount.get("subPathExpr") else ""
        )
        if sub_path:
            source = os.path.join(source, sub_path)
            if not os.path.exists(source):
                os.makedirs(source, exist_ok=True)
        mounts.append(Mount(source, mount["mountPath"], bool(mount.get("readOnly"))))
    automount = (pod.get("spec") or {}).get("automountServiceAccountToken")
    if automount is None and api_access:
        # unset on the pod: the ServiceAccount's own setting decides (default true)
        automount = api_access.get("automount_for", lambda _pod: True)(pod)
    if (
        api_access
        and automount
        and pod_dir
        and not any(m.target.rstrip("/") == SERVICE_ACCOUNT_DIR for m in mounts)
    ):
        # what the ServiceAccount admission plugin's projected volume would give
        directory = os.path.join(pod_dir, "volumes", "kube-api-access")
        namespace = pod["metadata"].get("namespace", "")
        _write(os.path.join(directory, "token"), pod_token(api_access, pod).encode(), 0o644)
        _write(os.path.join(directory, "ca.crt"), api_access.get("ca.crt", "").encode(), 0o644)
        _write(os.path.join(directory, "namespace"), namespace.encode(), 0o644)
        mounts.append(Mount(directory, SERVICE_ACCOUNT_DIR, True))
    return mounts
