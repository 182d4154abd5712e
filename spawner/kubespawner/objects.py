"""Upstream KubeSpawner 7.1.0's ``kubespawner.objects``: ``make_pod``,
``make_pvc``, ``make_ingress``, ``make_owner_reference``, ``make_secret``,
``make_service`` and ``make_namespace`` with its signatures, returning
kubernetes_asyncio models (``V1Pod``, ...) for users' code that calls them.

A thin layer: the manifests come from our dict builders (``builders``,
``ingress``); here the arguments are mapped onto them and the result is
given upstream's shape (the empty lists and maps upstream always sets, the
fields it leaves out, the values it passes through unconverted).
"""

from __future__ import annotations

from collections.abc import Mapping

from kubernetes_asyncio.client import (
    V1Namespace,
    V1OwnerReference,
    V1Pod,
    V1ResourceRequirements,
    V1Secret,
    V1Service,
)

from . import builders, ingress, models
from .utils import update_k8s_model


def _json(value):
    """Arguments may hold kubernetes models (a V1Container in
    init_containers): the builders take the API's JSON."""
    return models.to_dict(value) if value is not None else None


def _camel_case_only(context: Mapping | None, what: str) -> dict:
    for key in context or {}:
        if "_" in key:
            raise ValueError(f"{what}'s keys should have k8s camelCase names, got '{key}'")
    return dict(context or {})


def _resources(limit_cpu, limit_mem, extra_limits, guarantee_cpu, guarantee_mem, extra_guarantees):
    """Upstream passes the values through as given (cpu_limit=2 stays the
    number 2), where our builder writes quantity strings."""
    limits, requests = {}, {}
    for target, cpu, mem, extra in (
        (limits, limit_cpu, limit_mem, extra_limits),
        (requests, guarantee_cpu, guarantee_mem, extra_guarantees),
    ):
        if cpu:
            target["cpu"] = cpu
        if mem:
            target["memory"] = mem
        target.update(extra or {})
    return V1ResourceRequirements(limits=limits, requests=requests)


def make_pod(
    name,
    cmd,
    port,
    image,
    image_pull_policy=None,
    image_pull_secrets=None,
    node_selector=None,
    uid=None,
    gid=None,
    fs_gid=None,
    supplemental_gids=None,
    privileged=False,
    allow_privilege_escalation=False,
    container_security_context=None,
    pod_security_context=None,
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
    automount_service_account_token=None,
    extra_container_config=None,
    extra_pod_config=None,
    extra_containers=None,
    scheduler_name=None,
    tolerations=None,
    node_affinity_preferred=None,
    node_affinity_required=None,
    pod_affinity_preferred=None,
    pod_affinity_required=None,
    pod_anti_affinity_preferred=None,
    pod_anti_affinity_required=None,
    priority_class_name=None,
    ssl_secret_name=None,
    ssl_secret_mount_path=None,
    logger=None,
) -> V1Pod:
    """The user's pod as a V1Pod, with upstream's arguments: ``uid``, ``gid``
    and ``privileged`` are the container's security context;
    ``extra_container_config`` / ``extra_pod_config`` replace whole fields of
    the container / pod spec (logged to ``logger`` when they override one);
    the internal-SSL secret is mounted only when both ``ssl_secret_name``
    and ``ssl_secret_mount_path`` are given."""
    env = {key: _json(value) for key, value in (env or {}).items()}
    ssl = bool(ssl_secret_name and ssl_secret_mount_path)
    if ssl:
        env["JUPYTERHUB_SSL_KEYFILE"] = ssl_secret_mount_path + "ssl.key"
        env["JUPYTERHUB_SSL_CERTFILE"] = ssl_secret_mount_path + "ssl.crt"
        env["JUPYTERHUB_SSL_CLIENT_CA"] = ssl_secret_mount_path + "notebooks-ca_trust.crt"
    manifest = builders.make_pod(
        name=name,
        cmd=cmd,
        port=port,
        image=image,
        image_pull_policy=image_pull_policy,
        image_pull_secrets=_json(image_pull_secrets),
        node_selector=node_selector,
        run_as_uid=uid,
        run_as_gid=gid,
        fs_gid=fs_gid,
        supplemental_gids=supplemental_gids,
        run_privileged=privileged,
        allow_privilege_escalation=allow_privilege_escalation,
        container_security_context=_camel_case_only(
            container_security_context, "container_security_context"
        ),
        pod_security_context=_camel_case_only(pod_security_context, "pod_security_context"),
        # upstream orders each level of $(VAR) dependencies by key
        env=dict(sorted(env.items())),
        working_dir=working_dir,
        volumes=_json(volumes),
        volume_mounts=_json(volume_mounts),
        labels=labels,
        annotations=annotations,
        lifecycle_hooks=_json(lifecycle_hooks),
        init_containers=_json(init_containers),
        service_account=service_account,
        automount_service_account_token=automount_service_account_token,
        extra_containers=_json(extra_containers),
        tolerations=_json(tolerations),
        node_affinity_required=_json(node_affinity_required),
        node_affinity_preferred=_json(node_affinity_preferred),
        pod_affinity_required=_json(pod_affinity_required),
        pod_affinity_preferred=_json(pod_affinity_preferred),
        pod_anti_affinity_required=_json(pod_anti_affinity_required),
        pod_anti_affinity_preferred=_json(pod_anti_affinity_preferred),
        priority_class_name=priority_class_name,
        scheduler_name=scheduler_name,
        ssl_secret_name=ssl_secret_name if ssl else None,
        ssl_secret_mount_path=ssl_secret_mount_path,
    )
    spec = manifest["spec"]
    spec.setdefault("volumes", [])
    for volume in spec["volumes"]:
        if volume["name"] == builders.SSL_VOLUME:
            volume["secret"]["defaultMode"] = 0o777  # upstream's mode for the certificates
    if automount_service_account_token is None and service_account is not None:
        del spec["automountServiceAccountToken"]  # upstream leaves it to the account
    notebook = spec["containers"][0]
    notebook.setdefault("volumeMounts", [])
    notebook.pop("resources", None)

    pod = models.to_upstream_model(manifest, "V1Pod")
    container = pod.spec.containers[0]
    container.resources = _resources(
        cpu_limit,
        mem_limit,
        extra_resource_limits,
        cpu_guarantee,
        mem_guarantee,
        extra_resource_guarantees,
    )
    if extra_container_config:
        pod.spec.containers[0] = update_k8s_model(
            target=container,
            changes=extra_container_config,
            logger=logger,
            target_name="notebook_container",
            changes_name="extra_container_config",
        )
    if extra_pod_config:
        pod.spec = update_k8s_model(
            target=pod.spec,
            changes=extra_pod_config,
            logger=logger,
            target_name="pod.spec",
            changes_name="extra_pod_config",
        )
    return pod


def make_pvc(name, storage_class, access_modes, selector, storage, labels=None, annotations=None):
    """The user's claim as a V1PersistentVolumeClaim; ``storage`` None
    still asks for ``{"storage": None}`` and ``selector`` is used as given,
    as upstream."""
    manifest = builders.make_pvc(
        name, storage_class, access_modes, storage, labels=labels, annotations=annotations
    )
    if storage_class is not None:
        # upstream's annotation wins over one given in ``annotations``
        manifest["metadata"]["annotations"]["volume.beta.kubernetes.io/storage-class"] = (
            storage_class
        )
    pvc = models.to_upstream_model(manifest, "V1PersistentVolumeClaim")
    pvc.spec.resources = V1ResourceRequirements(requests={"storage": storage})
    if selector:
        pvc.spec.selector = selector
    return pvc


def make_ingress(
    name,
    routespec,
    target,
    data,
    namespace,
    common_labels=None,
    ingress_extra_labels=None,
    ingress_extra_annotations=None,
    ingress_class_name=None,
    ingress_specifications=None,
    reuse_existing_services=False,
):
    """(V1Endpoints or None, V1Service or None, V1Ingress) routing
    ``routespec`` to ``target``. As upstream, the objects name neither their
    namespace nor their apiVersion (the API call does)."""
    manifests = ingress.route_manifests(
        name,
        routespec,
        target,
        data,
        namespace,
        common_labels,
        ingress_extra_labels,
        ingress_extra_annotations,
        ingress_class_name,
        ingress_specifications,
        reuse_existing_services,
    )
    result = []
    for manifest, kind in zip(manifests, ("V1Endpoints", "V1Service", "V1Ingress"), strict=True):
        if manifest is None:
            result.append(None)
            continue
        manifest = {**manifest, "metadata": dict(manifest["metadata"])}
        manifest.pop("apiVersion")
        manifest["metadata"].pop("namespace", None)
        model = models.to_model(manifest, kind)
        if kind == "V1Service":
            # upstream spells out the other service type's field as empty
            if model.spec.type == "ClusterIP":
                model.spec.external_name = ""
            else:
                model.spec.cluster_ip = ""
        result.append(model)
    return tuple(result)


def make_owner_reference(name, uid) -> V1OwnerReference:
    """An ownerReference to the pod ``name`` (garbage-collects what it owns)."""
    return models.to_model(builders.make_owner_reference(name, uid), "V1OwnerReference")


def make_secret(
    name, username, cert_paths, hub_ca, owner_references, labels=None, annotations=None
) -> V1Secret:
    """The internal-SSL Secret from the files ``cert_paths`` (keyfile,
    certfile, cafile) names; the server's CA bundle is ``cafile`` followed by
    the hub's CA ``hub_ca``. ``username`` is unused, as upstream."""
    with open(cert_paths["cafile"]) as ca_file, open(hub_ca) as hub_ca_file:
        bundle = ca_file.read().strip("\n") + "\n" + hub_ca_file.read()
    data = {"notebooks-ca_trust.crt": bundle}
    for key, file_name in (("keyfile", "ssl.key"), ("certfile", "ssl.crt")):
        with open(cert_paths[key]) as f:
            data[file_name] = f.read()
    manifest = builders.make_secret(
        name,
        data,
        labels=labels,
        annotations=annotations,
        owner_references=_json(owner_references),
    )
    del manifest["type"]  # upstream leaves it to the API's default (Opaque)
    secret = models.to_model(manifest, "V1Secret")
    # upstream's key order: key, certificate, CA bundle
    secret.data = {
        key: secret.data[key] for key in ("ssl.key", "ssl.crt", "notebooks-ca_trust.crt")
    }
    return secret


def make_service(
    name, port, selector, owner_references, labels=None, annotations=None
) -> V1Service:
    """The ClusterIP Service in front of the pod, as upstream: no apiVersion
    (the API call gives it) and the port's protocol left to the API (TCP)."""
    manifest = builders.make_service(
        name,
        port,
        selector,
        labels=labels,
        annotations=annotations,
        owner_references=_json(owner_references),
    )
    del manifest["apiVersion"]
    for service_port in manifest["spec"]["ports"]:
        del service_port["protocol"]
    return models.to_model(manifest, "V1Service")


def make_namespace(name, labels=None, annotations=None) -> V1Namespace:
    """A V1Namespace of just its metadata, as upstream."""
    manifest = builders.make_namespace(name, labels, annotations)
    return V1Namespace(metadata=models.to_model(manifest["metadata"], "V1ObjectMeta"))


__all__ = [
    "make_ingress",
    "make_namespace",
    "make_owner_reference",
    "make_pod",
    "make_pvc",
    "make_secret",
    "make_service",
]
