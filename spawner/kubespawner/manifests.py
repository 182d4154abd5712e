"""Turning the spawner's trait values into manifests: names, labels,
environment, and the Pod / PVC / Namespace / Service / Secret objects.

A mixin for KubeSpawnerConfig; the pure builders live in ``builders``.
"""

from collections.abc import Mapping

import jupyterhub
from kubernetes_asyncio import client as k8s_client
from kubernetes_asyncio.client.exceptions import OpenApiException

from . import builders, models, slugs
from ._version import __version__
from .expansion import NameParts, expand, render, render_name, template_fields
from .utils import format_template, maybe_await, resolve_callable

USERNAME_LABEL = "hub.jupyter.org/username"
SERVERNAME_LABEL = "hub.jupyter.org/servername"
USERNAME_ANNOTATION = "hub.jupyter.org/username"
SERVERNAME_ANNOTATION = "hub.jupyter.org/servername"
KUBESPAWNER_VERSION_ANNOTATION = "hub.jupyter.org/kubespawner-version"
JUPYTERHUB_VERSION_ANNOTATION = "hub.jupyter.org/jupyterhub-version"
COMPONENT_LABEL = "component"
APP_COMPONENT_LABEL = "app.kubernetes.io/component"


def _list_items(value) -> list:
    """A list trait's items as dicts: a dict form gives its values in key
    order (as upstream), kubernetes models become their JSON."""
    if isinstance(value, Mapping):
        value = [value[key] for key in sorted(value)]
    return [
        models.to_dict(item) if hasattr(item, "attribute_map") else item for item in value or []
    ]


class ManifestsMixin:
    """Names, labels, env and manifests from the traits of KubeSpawnerConfig."""

    # --- names ---------------------------------------------------------
    def _name_parts(self, **extra) -> NameParts:
        return NameParts(
            username=self.user.name,
            servername=getattr(self, "name", "") or "",
            userid=getattr(self.user, "id", None),
            hubnamespace=self.hub_namespace or self.namespace,
            namespace=self.namespace,
            **extra,
        )

    def _template_fields(self, slug_scheme=None, **extra) -> dict:
        parts = self._name_parts(
            pod_name=self.pod_name or None, pvc_name=self.pvc_name or None, **extra
        )
        return template_fields(parts, slug_scheme or self.slug_scheme)

    def _expand_user_properties(self, template: str, slug_scheme=None) -> str:
        """Expand the template fields in one string."""
        return render(template, self._template_fields(slug_scheme))

    def _expand_all(self, value, slug_scheme=None):
        """Expand template fields in every string of a nested structure."""
        return expand(value, self._template_fields(slug_scheme))

    def update_names(self, *, keep_pvc_name: bool = False) -> None:
        """(Re)compute namespace, pod, PVC, Secret and DNS names from the
        templates and the current slug scheme. ``keep_pvc_name`` keeps a PVC
        name restored from state (``remember_pvc_name``)."""
        scheme = self.slug_scheme
        if self.enable_user_namespaces:
            fields = template_fields(self._name_parts(), scheme)
            self.namespace = render_name(self.user_namespace_template, fields, scheme)
        fields = template_fields(self._name_parts(), scheme)
        self.pod_name = render_name(self.pod_name_template, fields, scheme)
        if not (keep_pvc_name and self.pvc_name):
            fields = template_fields(self._name_parts(pod_name=self.pod_name), scheme)
            self.pvc_name = render_name(self.pvc_name_template, fields, scheme)
        fields = template_fields(
            self._name_parts(pod_name=self.pod_name, pvc_name=self.pvc_name), scheme
        )
        self.secret_name = render_name(self.secret_name_template, fields, scheme)
        self.dns_name = format_template(self.dns_name_template, {**fields, "name": self.pod_name})

    # --- labels ------------------------------------------------------
    def _identity_labels(self) -> dict:
        """Labels that identify this server's objects (used as selectors)."""
        return {
            COMPONENT_LABEL: self.component_label,
            APP_COMPONENT_LABEL: self.component_label,
            USERNAME_LABEL: self._label_value(self.user.name),
            SERVERNAME_LABEL: self._label_value(getattr(self, "name", "") or ""),
        }

    @staticmethod
    def _label_value(raw: str) -> str:
        # upstream's label values, whatever the slug scheme
        return slugs.label_value_slug(raw)

    def _build_labels(self, extra: dict | None = None) -> dict:
        labels = dict(self.common_labels)
        labels.update(self._expand_all(extra or {}))
        labels.update(self._identity_labels())
        return labels

    def _build_annotations(self, extra: dict | None = None) -> dict:
        # upstream's: raw names (servername only when set), the versions
        annotations = {USERNAME_ANNOTATION: self.user.name}
        if getattr(self, "name", ""):
            annotations[SERVERNAME_ANNOTATION] = self.name
        annotations[KUBESPAWNER_VERSION_ANNOTATION] = __version__
        annotations[JUPYTERHUB_VERSION_ANNOTATION] = jupyterhub.__version__
        annotations.update(self._expand_all(extra or {}))
        return annotations

    # --- environment ---------------------------------------------------
    def get_env(self) -> dict:
        """Spawner.get_env, with the image named and template fields
        expanded in ``environment`` values.

        Values may be strings or dicts (``valueFrom`` sources); callables in
        ``environment`` have already been called by JupyterHub.
        """
        env = super().get_env()
        # the image the server runs, as upstream tells it (SPEC: older name)
        env["JUPYTER_IMAGE_SPEC"] = env["JUPYTER_IMAGE"] = self.image
        fields = self._template_fields()
        for key in self.environment:
            if key in env:
                env[key] = expand(env[key], fields)
        return env

    # --- manifests -----------------------------------------------------
    async def _resolve(self, value):
        return await resolve_callable(value, self)

    # --- upstream's surface: the same manifests as kubernetes models -------
    # Subclasses written for KubeSpawner call super() and set attributes
    # (``pod.spec.priority_class_name = ...``); the spawner itself works on
    # the JSON dicts of build_*_manifest and converts only when a subclass
    # overrides one of these (see spawner._pod_manifest_for_start).

    async def get_pod_manifest(self) -> k8s_client.V1Pod:
        """The pod for this server, after ``modify_pod_hook``, as a V1Pod."""
        return models.to_upstream_model(await self.build_pod_manifest(), "V1Pod")

    def get_pvc_manifest(self) -> k8s_client.V1PersistentVolumeClaim:
        """This server's claim as a V1PersistentVolumeClaim."""
        return models.to_upstream_model(self.build_pvc_manifest(), "V1PersistentVolumeClaim")

    def get_service_manifest(self, owner_reference, port=None) -> k8s_client.V1Service:
        """The Service in front of the pod as a V1Service (``port``: upstream's
        argument, default ``self.port``)."""
        manifest = self.build_service_manifest(models.to_dict(owner_reference), port)
        return models.to_upstream_model(manifest, "V1Service")

    def get_secret_manifest(self, owner_reference) -> k8s_client.V1Secret:
        """The internal-SSL Secret as a V1Secret."""
        manifest = self.build_secret_manifest(models.to_dict(owner_reference))
        return models.to_upstream_model(manifest, "V1Secret")

    # --- our manifests: the API's JSON ---------------------------------------

    async def build_pod_manifest(self) -> dict:
        """The pod manifest (a dict of the API's JSON) for this server, after
        ``modify_pod_hook``."""
        uid = await self._resolve(self.uid)
        gid = await self._resolve(self.gid)
        fs_gid = await self._resolve(self.fs_gid)
        supplemental_gids = await self._resolve(self.supplemental_gids)
        container_sc = await self._resolve(self.container_security_context)
        pod_sc = await self._resolve(self.pod_security_context)

        cmd = None
        if self.cmd:
            cmd = list(self.cmd) + list(self.get_args())

        ssl_secret = self.secret_name if getattr(self, "internal_ssl", False) else None
        pod = builders.make_pod(
            name=self.pod_name,
            cmd=cmd,
            port=self.port,
            image=self.image,
            image_pull_policy=self.image_pull_policy or None,
            image_pull_secrets=self.image_pull_secrets,
            node_selector=self.node_selector,
            run_as_uid=uid,
            run_as_gid=gid,
            fs_gid=fs_gid,
            supplemental_gids=supplemental_gids,
            run_privileged=self.privileged,
            allow_privilege_escalation=self.allow_privilege_escalation,
            container_security_context=container_sc,
            pod_security_context=pod_sc,
            fs_group_change_policy=self.fs_group_change_policy,
            env=self.get_env(),
            working_dir=self._expand_all(self.working_dir),
            volumes=self._expand_all(self.volumes),
            volume_mounts=self._expand_all(self.volume_mounts),
            labels=self._build_labels(self.extra_labels),
            annotations=self._build_annotations(self.extra_annotations),
            cpu_limit=self.cpu_limit,
            cpu_guarantee=self.cpu_guarantee,
            mem_limit=self.mem_limit,
            mem_guarantee=self.mem_guarantee,
            extra_resource_limits=self.extra_resource_limits,
            extra_resource_guarantees=self.extra_resource_guarantees,
            lifecycle_hooks=self.lifecycle_hooks,
            init_containers=self._expand_all(_list_items(self.init_containers)),
            extra_containers=self._expand_all(_list_items(self.extra_containers)),
            extra_container_config=self.extra_container_config,
            containers_inherit_security_context=self.containers_inherit_security_context,
            extra_pod_config=self._expand_all(self.extra_pod_config),  # as upstream
            service_account=self._expand_all(self.service_account),
            automount_service_account_token=self.automount_service_account_token,
            tolerations=_list_items(self.tolerations),
            node_affinity_required=_list_items(self.node_affinity_required),
            node_affinity_preferred=_list_items(self.node_affinity_preferred),
            pod_affinity_required=_list_items(self.pod_affinity_required),
            pod_affinity_preferred=_list_items(self.pod_affinity_preferred),
            pod_anti_affinity_required=_list_items(self.pod_anti_affinity_required),
            pod_anti_affinity_preferred=_list_items(self.pod_anti_affinity_preferred),
            priority_class_name=self.priority_class_name,
            scheduler_name=self.scheduler_name,
            namespace=self.namespace,
            ssl_secret_name=ssl_secret,
            ssl_secret_mount_path=self.secret_mount_path,
        )
        if self.modify_pod_hook:
            pod = await self._run_modify_pod_hook(pod)
        return pod

    async def _run_modify_pod_hook(self, pod: dict) -> dict:
        """Call ``modify_pod_hook`` with the pod as a ``V1Pod`` model (the
        reference's "Pod object": hooks written for the original KubeSpawner
        edit it by attribute); it returns that model or a manifest dict."""
        try:
            model = models.to_upstream_model(pod, "V1Pod")
        except (TypeError, ValueError, OpenApiException) as error:
            raise ValueError(
                f"KubeSpawner.modify_pod_hook: the pod manifest could not be made into a "
                f"V1Pod for the hook ({error}); check extra_pod_config, extra_containers "
                "and init_containers"
            ) from error
        dropped = models.dropped_fields(pod, models.to_dict(model))
        if dropped:
            self.log.warning(
                "KubeSpawner.modify_pod_hook: this kubernetes_asyncio's V1Pod has no field "
                "for %s, so the pod is created without it. Upgrade kubernetes_asyncio, or "
                "have the hook return a manifest dict that includes it.",
                ", ".join(dropped),
            )
        result = await maybe_await(self.modify_pod_hook(self, model))
        if isinstance(result, k8s_client.V1Pod | Mapping):
            return models.to_dict(result)
        raise TypeError(
            f"KubeSpawner.modify_pod_hook returned {type(result).__name__} "
            f"({str(result)[:80]!r}); it must return the pod it was given (a "
            "kubernetes_asyncio V1Pod), modified, or a pod manifest dict. "
            "End the hook with `return pod`."
        )

    def build_pvc_manifest(self) -> dict:
        """The PVC manifest for this server's storage."""
        labels = self._build_labels(self.storage_extra_labels)
        # the PVC outlives pods and may be shared by a user's servers
        labels.pop(SERVERNAME_LABEL, None)
        labels[COMPONENT_LABEL] = "singleuser-storage"
        annotations = self._build_annotations(self.storage_extra_annotations)
        annotations.pop(SERVERNAME_ANNOTATION, None)
        return builders.make_pvc(
            name=self.pvc_name,
            storage_class=self.storage_class,
            access_modes=self.storage_access_modes,
            storage=self.storage_capacity,
            labels=labels,
            annotations=annotations,
            selector=self._expand_all(self.storage_selector),
            namespace=self.namespace,
        )

    def get_namespace_manifest(self) -> dict:
        """The manifest of this user's namespace (``enable_user_namespaces``)."""
        labels = dict(self.common_labels)
        labels.update(self._expand_all(self.user_namespace_labels))
        return builders.make_namespace(
            self.namespace,
            labels=labels,
            annotations=self._expand_all(self.user_namespace_annotations),
        )

    def build_service_manifest(self, owner_reference: dict, port=None) -> dict:
        """The Service in front of the pod (named like the pod), owned by it."""
        return builders.make_service(
            name=self.pod_name,
            port=port or self.port,
            # the pod's labels, as upstream (extra_labels included)
            selector=self._build_labels(self.extra_labels),
            labels=self._build_labels(self.extra_labels),
            annotations=self._build_annotations(self.extra_annotations),
            owner_references=[owner_reference],
            namespace=self.namespace,
        )

    # internal SSL: Secret keys, and the file names the server finds them under
    SSL_FILES = {"keyfile": "ssl.key", "certfile": "ssl.crt", "cafile": "notebooks-ca_trust.crt"}

    async def move_certs(self, paths: dict) -> dict:
        """Remember the hub-side certificate files (put into the Secret by
        ``build_secret_manifest``) and return where the server will find them."""
        self._hub_cert_paths = dict(paths)
        mount = self.secret_mount_path.rstrip("/")
        return {key: f"{mount}/{name}" for key, name in self.SSL_FILES.items()}

    def build_secret_manifest(self, owner_reference: dict, cert_paths: dict | None = None) -> dict:
        """The Secret with the server's internal-SSL key, certificate and CA
        bundle, owned by the pod. ``cert_paths`` are hub-side files
        (default: the ones given to ``move_certs``)."""
        paths = cert_paths or getattr(self, "_hub_cert_paths", None)
        if not paths:
            raise RuntimeError(
                "build_secret_manifest: no certificate paths (move_certs not called)"
            )
        data = {}
        for key, name in self.SSL_FILES.items():
            with open(paths[key], "rb") as f:
                data[name] = f.read()
        return builders.make_secret(
            name=self.secret_name,
            data=data,
            # as upstream: the pod's extra labels and annotations too
            labels=self._build_labels(self.extra_labels),
            annotations=self._build_annotations(self.extra_annotations),
            owner_references=[owner_reference],
            namespace=self.namespace,
        )
