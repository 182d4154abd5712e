"""Pure functions building Kubernetes objects as plain dicts.

Every function here returns exactly the JSON the Kubernetes API accepts
(camelCase keys); nothing here talks to the API or reads the spawner. The
spawner works on these dicts; ``objects`` is upstream KubeSpawner's
model-returning surface over them, for users' code.
"""

import base64
import copy
import re
from collections.abc import Mapping
from typing import Any

from .utils import camelize_keys, recursive_update

NOTEBOOK_CONTAINER = "notebook"
PORT_NAME = "notebook-port"
SSL_VOLUME = "jupyterhub-internal-certs"


def _as_list(value, what: str, name_from_key: bool = False) -> list:
    """Volumes and mounts may be given as a list, or as a dict whose values are
    the items (so profiles can override one entry by key); dict values come in
    key order."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        items = []
        for key in sorted(value):
            item = dict(value[key])
            if name_from_key:
                item.setdefault("name", key)
            items.append(item)
        return items
    if isinstance(value, list | tuple):
        return [dict(v) for v in value]
    raise TypeError(f"{what} must be a list or a dict, got {type(value).__name__}: {value!r}")


def _image_pull_secrets(value) -> list[dict]:
    """A secret name, a list of names, or a list of {"name": ...} dicts."""
    if not value:
        return []
    if isinstance(value, str):
        value = [value]
    out = []
    for item in value:
        if isinstance(item, str):
            out.append({"name": item})
        elif isinstance(item, Mapping) and "name" in item:
            out.append(dict(item))
        else:
            raise TypeError(
                f"image_pull_secrets entries must be secret names or {{'name': ...}} dicts, got {item!r}"
            )
    return out


_VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def _env_entry(name: str, value) -> dict:
    if isinstance(value, Mapping):
        value = dict(value)
        # an entry's own name wins over its key (as upstream)
        name = value.pop("name", None) or name
        if "value" in value or "valueFrom" in value or "value_from" in value:
            entry = camelize_keys(value)
        else:
            # just the source, e.g. {"secretKeyRef": {...}}
            entry = {"valueFrom": camelize_keys(value)}
        return {"name": name, **entry}
    return {"name": name, "value": "" if value is None else str(value)}


def make_env(env: Mapping[str, Any]) -> list[dict]:
    """Environment as the container's ``env`` list.

    Values may be strings (anything else is str()-ed) or dicts: either a full
    EnvVar (``{"valueFrom": {...}}``) or just the source
    (``{"secretKeyRef": {...}}``). Kubernetes only expands ``$(VAR)`` for
    variables defined *earlier* in the list, so variables come in levels:
    first those referencing no other, then those referencing only the first
    level, and so on (the given order within a level, as upstream, which
    gives its keys sorted; cycles last, in the given order).
    """
    entries = {}
    for key, value in env.items():
        entry = _env_entry(key, value)
        entries[entry["name"]] = entry
    deps = {}
    for name, entry in entries.items():
        refs = set(_VAR_REF.findall(entry.get("value", "")))
        deps[name] = {r for r in refs if r in entries and r != name}
    ordered: list[str] = []
    remaining = list(entries)
    while remaining:
        placed = set(ordered)
        level = [name for name in remaining if deps[name] <= placed]
        if not level:
            # a cycle: keep the rest in the given order, nothing can help them
            level = remaining
        ordered.extend(level)
        remaining = [name for name in remaining if name not in level]
    return [entries[name] for name in ordered]


def make_resources(
    cpu_limit=None,
    cpu_guarantee=None,
    mem_limit=None,
    mem_guarantee=None,
    extra_resource_limits=None,
    extra_resource_guarantees=None,
) -> dict:
    """Container resources. Memory arrives in bytes (JupyterHub's
    ByteSpecification already turned K/M/G/T into bytes) or as a Kubernetes
    quantity string; CPU as a float number of cores."""
    limits: dict[str, str] = {}
    requests: dict[str, str] = {}
    if cpu_limit is not None:
        limits["cpu"] = _quantity(cpu_limit)
    if cpu_guarantee is not None:
        requests["cpu"] = _quantity(cpu_guarantee)
    if mem_limit:
        limits["memory"] = _quantity(mem_limit)
    if mem_guarantee:
        requests["memory"] = _quantity(mem_guarantee)
    for name, value in (extra_resource_limits or {}).items():
        limits[name] = _quantity(value)
    for name, value in (extra_resource_guarantees or {}).items():
        requests[name] = _quantity(value)
    resources = {}
    if limits:
        resources["limits"] = limits
    if requests:
        resources["requests"] = requests
    return resources


def _quantity(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def make_affinity(
    node_affinity_required=None,
    node_affinity_preferred=None,
    pod_affinity_required=None,
    pod_affinity_preferred=None,
    pod_anti_affinity_required=None,
    pod_anti_affinity_preferred=None,
) -> dict:
    """The pod's ``affinity`` from lists of terms.

    node_affinity_required: NodeSelectorTerms; node_affinity_preferred:
    PreferredSchedulingTerms; pod_(anti_)affinity_required: PodAffinityTerms;
    pod_(anti_)affinity_preferred: WeightedPodAffinityTerms.
    """
    required = "requiredDuringSchedulingIgnoredDuringExecution"
    preferred = "preferredDuringSchedulingIgnoredDuringExecution"
    affinity: dict = {}
    node: dict = {}
    if node_affinity_required:
        node[required] = {"nodeSelectorTerms": camelize_keys(list(node_affinity_required))}
    if node_affinity_preferred:
        node[preferred] = camelize_keys(list(node_affinity_preferred))
    if node:
        affinity["nodeAffinity"] = node
    for key, req, pref in (
        ("podAffinity", pod_affinity_required, pod_affinity_preferred),
        ("podAntiAffinity", pod_anti_affinity_required, pod_anti_affinity_preferred),
    ):
        section = {}
        if req:
            section[required] = camelize_keys(list(req))
        if pref:
            section[preferred] = camelize_keys(list(pref))
        if section:
            affinity[key] = section
    return affinity


def with_security_defaults(container: dict, defaults: dict) -> dict:
    """The container (a camelCase dict) with each securityContext field of
    ``defaults`` that its own securityContext leaves unset; its own win."""
    own = {k: v for k, v in (container.get("securityContext") or {}).items() if v is not None}
    return {**container, "securityContext": {**copy.deepcopy(defaults), **own}}


def make_pod(
    name,
    cmd=None,
    port=8888,
    image_spec=None,
    image_pull_policy=None,
    image_pull_secret=None,
    node_selector=None,
    run_as_uid=None,
    fs_gid=None,
    run_privileged=False,
    env=None,
    working_dir=None,
    volumes=None,
    volume_mounts=None,
    labels=None,
    annotations=None,
    cpu_limit=None,
    cpu_guarantee=None,
    mem_limit=None,
    mem_guarantee=None,
    extra_resource_limits=None,
    extra_resource_guarantees=None,
    lifecycle_hooks=None,
    init_containers=None,
    service_account=None,
    extra_container_config=None,
    extra_pod_config=None,
    extra_containers=None,
    *,
    image=None,
    image_pull_secrets=None,
    run_as_gid=None,
    supplemental_gids=None,
    allow_privilege_escalation=False,
    container_security_context=None,
    pod_security_context=None,
    fs_group_change_policy=None,
    automount_service_account_token=None,
    tolerations=None,
    node_affinity_required=None,
    node_affinity_preferred=None,
    pod_affinity_required=None,
    pod_affinity_preferred=None,
    pod_anti_affinity_required=None,
    pod_anti_affinity_preferred=None,
    priority_class_name=None,
    scheduler_name=None,
    namespace=None,
    ssl_secret_name=None,
    ssl_secret_mount_path="/etc/jupyterhub/ssl/",
    restart_policy="OnFailure",
    containers_inherit_security_context=False,
) -> dict:
    """A Pod running the user's notebook server.

    The first parameters keep the names and order of the documented
    ``make_pod``; ``image`` is the current name of ``image_spec`` and
    ``image_pull_secrets`` (a name or a list) of ``image_pull_secret``.

    ``cmd`` is the full command line (command + args). It goes into the
    container's ``args`` so the image's ENTRYPOINT (e.g. tini) still wraps
    it; None leaves the image's CMD in charge.

    The service account token is mounted only when ``service_account`` is
    set, unless ``automount_service_account_token`` says otherwise.

    ``extra_container_config`` / ``extra_pod_config`` (camelCase or
    snake_case keys) are merged last, over everything else, into the notebook
    container / the pod spec.
    """
    image = image or image_spec
    if not image:
        raise ValueError(f"make_pod({name!r}): an image is required (image= or image_spec=)")

    container: dict = {
        "name": NOTEBOOK_CONTAINER,
        "image": image,
        "ports": [{"name": PORT_NAME, "containerPort": port}],
        "env": make_env(env or {}),
    }
    if image_pull_policy:
        # unset: Kubernetes' own default (Always for :latest)
        container["imagePullPolicy"] = image_pull_policy
    if cmd is not None:
        container["args"] = [str(c) for c in cmd]
    if working_dir:
        container["workingDir"] = working_dir
    resources = make_resources(
        cpu_limit,
        cpu_guarantee,
        mem_limit,
        mem_guarantee,
        extra_resource_limits,
        extra_resource_guarantees,
    )
    if resources:
        container["resources"] = resources
    if lifecycle_hooks:
        container["lifecycle"] = camelize_keys(dict(lifecycle_hooks))

    container_sc: dict = {}
    if run_as_uid is not None:
        container_sc["runAsUser"] = int(run_as_uid)
    if run_as_gid is not None:
        container_sc["runAsGroup"] = int(run_as_gid)
    if run_privileged:
        container_sc["privileged"] = True
    if allow_privilege_escalation is not None:
        container_sc["allowPrivilegeEscalation"] = bool(allow_privilege_escalation)
    recursive_update(container_sc, camelize_keys(dict(container_security_context or {})))
    if container_sc:
        container["securityContext"] = container_sc

    pod_volumes = _as_list(volumes, "volumes", name_from_key=True)
    mounts = _as_list(volume_mounts, "volume_mounts")
    if ssl_secret_name:
        pod_volumes.append({"name": SSL_VOLUME, "secret": {"secretName": ssl_secret_name}})
        mounts.append({"name": SSL_VOLUME, "mountPath": ssl_secret_mount_path})
    if mounts:
        container["volumeMounts"] = camelize_keys(mounts)

    if extra_container_config:
        recursive_update(container, camelize_keys(dict(extra_container_config)))

    spec: dict = {"containers": [container]}
    others = camelize_keys(list(extra_containers or []))
    inits = camelize_keys(list(init_containers or []))
    if containers_inherit_security_context and container_sc:
        # privileged is the notebook's own business, never handed on
        inherited = {k: v for k, v in container_sc.items() if k != "privileged"}
        others = [with_security_defaults(c, inherited) for c in others]
        inits = [with_security_defaults(c, inherited) for c in inits]
    if others:
        spec["containers"].extend(others)
    if inits:
        spec["initContainers"] = inits
    if pod_volumes:
        spec["volumes"] = camelize_keys(pod_volumes)
    if restart_policy:
        spec["restartPolicy"] = restart_policy

    pod_sc: dict = {}
    if fs_gid is not None:
        pod_sc["fsGroup"] = int(fs_gid)
    if supplemental_gids:
        pod_sc["supplementalGroups"] = [int(g) for g in supplemental_gids]
    if fs_group_change_policy:
        pod_sc["fsGroupChangePolicy"] = fs_group_change_policy
    recursive_update(pod_sc, camelize_keys(dict(pod_security_context or {})))
    if pod_sc:
        spec["securityContext"] = pod_sc

    if service_account:
        spec["serviceAccountName"] = service_account
    if automount_service_account_token is None:
        # no API credentials in user pods unless a service account was chosen
        automount_service_account_token = bool(service_account)
    spec["automountServiceAccountToken"] = bool(automount_service_account_token)

    pull_secrets = _image_pull_secrets(image_pull_secrets) + _image_pull_secrets(image_pull_secret)
    if pull_secrets:
        spec["imagePullSecrets"] = pull_secrets
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    if tolerations:
        spec["tolerations"] = camelize_keys(list(tolerations))
    affinity = make_affinity(
        node_affinity_required,
        node_affinity_preferred,
        pod_affinity_required,
        pod_affinity_preferred,
        pod_anti_affinity_required,
        pod_anti_affinity_preferred,
    )
    if affinity:
        spec["affinity"] = affinity
    if priority_class_name:
        spec["priorityClassName"] = priority_class_name
    if scheduler_name:
        spec["schedulerName"] = scheduler_name
    if extra_pod_config:
        recursive_update(spec, camelize_keys(dict(extra_pod_config)))

    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _metadata(name, namespace, labels, annotations),
        "spec": spec,
    }


def _metadata(name, namespace=None, labels=None, annotations=None, owner_references=None) -> dict:
    meta: dict = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    # None drops a key (how a profile removes a configured label)
    meta["labels"] = {str(k): str(v) for k, v in (labels or {}).items() if v is not None}
    meta["annotations"] = {str(k): str(v) for k, v in (annotations or {}).items() if v is not None}
    if owner_references:
        meta["ownerReferences"] = list(owner_references)
    return meta


def make_pvc(
    name,
    storage_class=None,
    access_modes=("ReadWriteOnce",),
    storage=None,
    labels=None,
    annotations=None,
    *,
    selector=None,
    namespace=None,
) -> dict:
    """A PersistentVolumeClaim for the user's storage.

    ``storage_class`` None uses the cluster's default class; "" asks for no
    class at all (bind to a pre-provisioned volume). ``storage`` is a
    Kubernetes quantity ("10Gi"). ``selector`` is a LabelSelector.
    """
    spec: dict = {"accessModes": list(access_modes)}
    if storage:
        # without a size the API refuses the claim; the spawner says so first
        spec["resources"] = {"requests": {"storage": str(storage)}}
    annotations = dict(annotations or {})
    if storage_class is not None:
        spec["storageClassName"] = storage_class
        # read by clusters older than storageClassName
        annotations.setdefault("volume.beta.kubernetes.io/storage-class", storage_class)
    if selector:
        spec["selector"] = camelize_keys(dict(selector))
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _metadata(name, namespace, labels, annotations),
        "spec": spec,
    }


def make_namespace(name, labels=None, annotations=None) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": _metadata(name, None, labels, annotations),
    }


def make_owner_reference(name, uid) -> dict:
    """An ownerReference to a Pod, so Kubernetes garbage-collects the owned
    object (internal-SSL Secret, Service) when the pod goes."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "name": name,
        "uid": uid,
        "blockOwnerDeletion": True,
        "controller": False,
    }


def make_secret(
    name,
    data: Mapping[str, bytes | str],
    labels=None,
    annotations=None,
    owner_references=None,
    namespace=None,
) -> dict:
    """An Opaque Secret; ``data`` values are base64-encoded here."""
    encoded = {}
    for key, value in data.items():
        raw = value.encode() if isinstance(value, str) else bytes(value)
        encoded[key] = base64.b64encode(raw).decode("ascii")
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": _metadata(name, namespace, labels, annotations, owner_references),
        "data": encoded,
    }


def make_service(
    name,
    port,
    selector: Mapping[str, str],
    labels=None,
    annotations=None,
    owner_references=None,
    namespace=None,
) -> dict:
    """A ClusterIP Service in front of the user's pod (a stable DNS name for
    internal SSL certificates and ``services_enabled``)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(name, namespace, labels, annotations, owner_references),
        "spec": {
            "type": "ClusterIP",
            "selector": dict(selector),
            "ports": [{"name": "http", "port": port, "targetPort": port, "protocol": "TCP"}],
        },
    }
