"""A locally run pod's filesystem: each volume made a directory, each mount
a symlink at `<pod fs>/<mountPath>`, so a container path P is found at
`fs_root / P` on this machine."""

import shutil
from pathlib import Path

from .podenv import PodFacts

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


class VolumeError(ValueError):
    pass


def host_path(fs_root: Path, container_path: str) -> Path:
    return fs_root / container_path.strip("/")


def _fresh_dir(path: Path) -> Path:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def _write_keys(target: Path, data: dict[str, str], items: list | None, mode: int) -> None:
    chosen = {i["key"]: i["path"] for i in items} if items else {k: k for k in data}
    for key, rel in chosen.items():
        if key not in data:
            raise VolumeError(f"key {key!r} listed in a volume's items does not exist")
        file = target / rel
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(data[key])
        file.chmod(mode)


def _keyed_source(kind: str, ref: dict, facts: PodFacts, volume: str) -> dict[str, str] | None:
    name = ref.get("name") or ref.get("secretName")
    store = facts.secrets if kind == "secret" else facts.configmaps
    if name not in store:
        if ref.get("optional"):
            return None
        raise VolumeError(f"volume {volume!r}: {kind} {name!r} does not exist")
    return store[name]


def prepare_volume(volume: dict, pod_dir: Path, facts: PodFacts, claim_dir) -> Path:
    """The directory that holds `volume`'s content. ConfigMap, Secret and
    emptyDir volumes are made fresh; a PVC's directory (from `claim_dir`)
    keeps its data."""
    name = volume["name"]
    if "persistentVolumeClaim" in volume:
        path = claim_dir(volume["persistentVolumeClaim"]["claimName"])
        path.mkdir(parents=True, exist_ok=True)
        return path
    if "hostPath" in volume:
        return Path(volume["hostPath"]["path"])
    target = _fresh_dir(pod_dir / "volumes" / name)
    if "emptyDir" in volume:
        return target
    if "configMap" in volume or "secret" in volume:
        kind = "configMap" if "configMap" in volume else "secret"
        ref = volume[kind]
        data = _keyed_source(kind, ref, facts, name)
        if data is not None:
            _write_keys(target, data, ref.get("items"), 0o644 if kind == "configMap" else 0o600)
        return target
    if "projected" in volume:
        for source in volume["projected"].get("sources", []):
            for kind in ("configMap", "secret"):
                if kind in source:
                    data = _keyed_source(kind, source[kind], facts, name)
                    if data is not None:
                        _write_keys(target, data, source[kind].get("items"), 0o644)
        return target
    kinds = sorted(set(volume) - {"name"})
    raise VolumeError(
        f"volume {name!r} is of type {kinds}, which a local process cannot mount; "
        "use configMap, secret, emptyDir, projected, hostPath or persistentVolumeClaim"
    )


def mount_all(pod_spec: dict, container: dict, fs_root: Path, facts: PodFacts, claim_dir) -> None:
    """Make every volumeMount of `container` visible under `fs_root`."""
    volumes = {v["name"]: v for v in pod_spec.get("volumes") or []}
    prepared: dict[str, Path] = {}
    pod_dir = fs_root.parent
    for mount in container.get("volumeMounts") or []:
        vname = mount["name"]
        if vname not in volumes:
            raise VolumeError(
                f"volumeMount {mount['mountPath']!r} names volume {vname!r}, which the pod does not have"
            )
        if vname not in prepared:
            prepared[vname] = prepare_volume(volumes[vname], pod_dir, facts, claim_dir)
        source = prepared[vname] / mount["subPath"] if mount.get("subPath") else prepared[vname]
        if mount.get("subPath") and not source.exists():
            source.mkdir(parents=True)  # the kubelet makes a missing subPath a directory
        target = host_path(fs_root, mount["mountPath"])
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.exists():
            shutil.rmtree(target)
        target.symlink_to(source.resolve())


def link_image_files(fs_root: Path, files: dict[str, Path]) -> None:
    """Put the files an image would contain (container path -> repository
    file) into the pod's filesystem."""
    for container_path, source in files.items():
        target = host_path(fs_root, container_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.exists():
            target.unlink()
        target.symlink_to(source.resolve())


def write_service_account(directory: Path, token: str, ca_pem: str, namespace: str) -> Path:
    """What Kubernetes mounts at /var/run/secrets/kubernetes.io/serviceaccount."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in (("token", token), ("ca.crt", ca_pem), ("namespace", namespace)):
        (directory / name).write_text(text)
        (directory / name).chmod(0o600)
    return directory
