"""The user's home volume (singleuser.storage.*), singleuser.extraFiles and
the extra volumes: volumes, mounts and the spawner's claim settings."""

from z2jh import get_name

from .traits import set_spawner
from .values import ConfigError, as_list, choice, get_value, typed


def storage_volumes():
    """Volumes and mounts for the user's home (singleuser.storage.type), and
    the spawner's PVC settings as {trait: (value, values key)}."""
    storage_type = choice("singleuser.storage.type", ["dynamic", "static", "none"], "dynamic")
    home = typed("singleuser.storage.homeMountPath", str, "/home/jovyan")
    settings = {}
    volumes, mounts = [], []
    if storage_type == "dynamic":
        volume_name = typed(
            "singleuser.storage.dynamic.volumeNameTemplate", str, "volume-{user_server}"
        )
        settings["storage_pvc_ensure"] = (True, "singleuser.storage.type")
        for key, trait, types in [
            ("singleuser.storage.dynamic.pvcNameTemplate", "pvc_name_template", str),
            ("singleuser.storage.dynamic.storageClass", "storage_class", str),
            ("singleuser.storage.dynamic.storageAccessModes", "storage_access_modes", list),
            ("singleuser.storage.capacity", "storage_capacity", str),
            ("singleuser.storage.extraLabels", "storage_extra_labels", dict),
        ]:
            value = typed(key, types)
            if value not in (None, {}, []):
                settings[trait] = (value, key)
        volumes.append({"name": volume_name, "persistentVolumeClaim": {"claimName": "{pvc_name}"}})
        mount = {"name": volume_name, "mountPath": home}
        sub_path = typed("singleuser.storage.dynamic.subPath", str)
        if sub_path:
            mount["subPath"] = sub_path
        mounts.append(mount)
    elif storage_type == "static":
        claim = typed("singleuser.storage.static.pvcName", str)
        if not claim:
            raise ConfigError(
                "singleuser.storage.static.pvcName must name a PVC when storage.type is static"
            )
        # One shared claim; each user gets their own folder of it.
        volumes.append({"name": "home", "persistentVolumeClaim": {"claimName": claim}})
        mount = {"name": "home", "mountPath": home}
        sub_path = typed("singleuser.storage.static.subPath", str, "{username}")
        if sub_path:
            mount["subPath"] = sub_path
        mounts.append(mount)
    return settings, volumes, mounts


def extra_files_volume():
    """singleuser.extraFiles: each file is a key of the Secret `singleuser`
    that the chart renders, mounted at its own path."""
    files = typed("singleuser.extraFiles", dict, {})
    if not files:
        return [], []
    items, mounts = [], []
    for key in sorted(files):
        spec = files[key]
        where = f"singleuser.extraFiles.{key}"
        if not isinstance(spec, dict):
            raise ConfigError(f"{where} must be a mapping, not {spec!r}")
        if not spec.get("mountPath") or not isinstance(spec["mountPath"], str):
            raise ConfigError(
                f"{where}.mountPath must be set to where the file appears in the pod, "
                f"not {spec.get('mountPath')!r}"
            )
        item = {"key": key, "path": key}
        if spec.get("mode") is not None:
            item["mode"] = spec["mode"]
        items.append(item)
        mounts.append({"name": "files", "mountPath": spec["mountPath"], "subPath": key})
    volume = {"name": "files", "secret": {"secretName": get_name("singleuser"), "items": items}}
    return [volume], mounts


def configure_storage(c):
    settings, volumes, mounts = storage_volumes()
    for trait, (value, key) in settings.items():
        set_spawner(c, trait, value, key)
    file_volumes, file_mounts = extra_files_volume()
    volumes += file_volumes
    mounts += file_mounts
    volumes += as_list(
        "singleuser.storage.extraVolumes", get_value("singleuser.storage.extraVolumes"), True
    )
    mounts += as_list(
        "singleuser.storage.extraVolumeMounts", get_value("singleuser.storage.extraVolumeMounts")
    )
    if volumes:
        set_spawner(c, "volumes", volumes, "singleuser.storage.extraVolumes")
    if mounts:
        set_spawner(c, "volume_mounts", mounts, "singleuser.storage.extraVolumeMounts")
