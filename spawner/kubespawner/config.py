"""KubeSpawner's configuration: every trait and the deprecated spellings.
The glue that turns trait values into manifests is in ``manifests`` and
``user_options``; ``KubeSpawnerConfig`` combines them.

``KubeSpawnerConfig`` is a mixin: the spawner is
``class KubeSpawner(KubeSpawnerConfig, jupyterhub.spawner.Spawner)``. It owns
no I/O: everything that talks to Kubernetes lives in the spawner.
"""

import os
import warnings

from jupyterhub.traitlets import Command
from traitlets import (
    Bool,
    Dict,
    Enum,
    Float,
    Integer,
    List,
    TraitType,
    Unicode,
    Union,
    default,
    observe,
    validate,
)
from traitlets.config import LoggingConfigurable

from . import clients, slugs
from .manifests import (  # noqa: F401 (re-exported for the spawner)
    COMPONENT_LABEL,
    SERVERNAME_LABEL,
    USERNAME_LABEL,
    ManifestsMixin,
)
from .traitlets import Callable
from .user_options import UserOptionsMixin, apply_profile_user_options, profile_form

# Names the templates help strings refer to, in one place.
_FIELDS_HELP = """
        Template fields: ``{username}``, ``{servername}``, ``{user_server}``
        (the user's name, the server's name and both together, made safe for
        Kubernetes by ``slug_scheme``), ``{unescaped_username}``,
        ``{unescaped_servername}``, ``{escaped_username}``,
        ``{escaped_servername}``, ``{userid}``, ``{hubnamespace}``,
        ``{namespace}``, and where known ``{pod_name}`` and ``{pvc_name}``."""


class DeprecatedAlias(TraitType):
    """An old trait name that forwards to its current name.

    Setting it (from config or in code) logs a warning naming the new trait and
    sets the new one; reading it returns the new one's value. One class serves
    every alias (``singleuser_*``, ``user_storage_*``, ``image_spec``).
    """

    def __init__(self, new_name: str, version: str, **kwargs):
        self.new_name = new_name
        self.version = version
        super().__init__(
            default_value=None,
            allow_none=True,
            help=f"Deprecated since {version}: use ``{new_name}`` "
            f"(``c.KubeSpawner.{new_name}``), which this name now sets.",
            **kwargs,
        )
        self.tag(config=True)

    def get(self, obj, cls=None):
        return getattr(obj, self.new_name)

    def set(self, obj, value):
        message = (
            f"{type(obj).__name__}.{self.name} is deprecated since {self.version}: use "
            f"{type(obj).__name__}.{self.new_name} instead (it was set to {value!r})"
        )
        obj.log.warning("%s", message)
        # as upstream: a DeprecationWarning too (tests and linters see it)
        warnings.warn(message, DeprecationWarning, stacklevel=3)
        if _configured(obj, self.new_name):
            # both spellings configured: today's name wins, whatever the order
            return
        setattr(obj, self.new_name, value)


def _configured(obj, name: str) -> bool:
    """``name`` is set in the config section of obj's class or a parent."""
    config = getattr(obj, "config", None) or {}
    for cls in type(obj).__mro__:
        section = config.get(cls.__name__) if cls.__name__ in config else None
        if section is not None and name in section:
            return True
    return False


_SINGLEUSER_RENAMED = [
    "extra_annotations",
    "extra_container_config",
    "extra_containers",
    "extra_labels",
    "extra_pod_config",
    "fs_gid",
    "image_pull_policy",
    "image_pull_secrets",
    "init_containers",
    "lifecycle_hooks",
    "node_selector",
    "privileged",
    "service_account",
    "supplemental_gids",
    "uid",
    "working_dir",
]
_USER_STORAGE_RENAMED = ["access_modes", "capacity", "class", "extra_labels", "pvc_ensure"]

DEPRECATED_ALIASES: dict[str, tuple[str, str]] = {
    "image_spec": ("image", "0.10"),
    "singleuser_image_spec": ("image", "0.10"),
    **{f"singleuser_{n}": (n, "0.9") for n in _SINGLEUSER_RENAMED},
    **{f"user_storage_{n}": (f"storage_{n}", "0.9") for n in _USER_STORAGE_RENAMED},
}


# A base class holding one DeprecatedAlias per old name, built from the table.
_Aliases = type(
    "_Aliases",
    (LoggingConfigurable,),
    {
        "__module__": __name__,
        **{old: DeprecatedAlias(new, ver) for old, (new, ver) in DEPRECATED_ALIASES.items()},
    },
)


class KubeSpawnerTraits(_Aliases):
    """Every configurable trait of the Kubernetes spawner."""

    # ------------------------------------------------------------------
    # Overridden Spawner defaults
    # ------------------------------------------------------------------
    ip = Unicode(
        "0.0.0.0",
        help="""
        The IP address (or hostname) the single-user server listens on.

        Defaults to all interfaces: the server is reached from outside its pod.
        """,
    ).tag(config=True)

    port = Integer(
        8888,
        help="""
        The port the single-user server listens on, inside its pod. Every pod
        has its own IP, so all servers can share one port.
        """,
    ).tag(config=True)

    cmd = Command(
        None,
        allow_none=True,
        minlen=0,
        help="""
        The command used for starting the single-user server (then ``args``).

        It is passed as the container's ``args``, so the image's ENTRYPOINT
        still runs it. If set to None, Kubernetes will start the CMD that is
        specified in the Docker image being started (and ``args`` are not used).
        """,
    ).tag(config=True)

    env_keep = List(
        [],
        help="""
        Environment variables of the hub process to pass on to user servers.

        Empty by default: the user's pod runs elsewhere, and the hub's
        environment (e.g. CONFIGPROXY_AUTH_TOKEN) must not leak into it.
        """,
    ).tag(config=True)

    # ------------------------------------------------------------------
    # Kubernetes API
    # ------------------------------------------------------------------
    k8s_api_host = Unicode(
        None,
        allow_none=True,
        help="""
        Full address of the Kubernetes API server (``https://host:port``).
        None: from the in-cluster service account or the kubeconfig.
        """,
    ).tag(config=True)

    k8s_api_ssl_ca_cert = Unicode(
        None,
        allow_none=True,
        help="Path to the CA certificate that signed the Kubernetes API server's certificate.",
    ).tag(config=True)

    k8s_api_verify_ssl = Bool(
        None,
        allow_none=True,
        help="Verify the Kubernetes API server's certificate. None: the client's default (verify).",
    ).tag(config=True)

    k8s_api_request_timeout = Integer(
        3,
        help="""
        Seconds to wait for one Kubernetes API request before giving up on it
        (it may then be retried, within ``k8s_api_request_retry_timeout``).
        """,
    ).tag(config=True)

    k8s_api_request_retry_timeout = Integer(
        30,
        help="""
        Seconds during which a failing Kubernetes API request (5xx, 429,
        timeout) is retried with exponential backoff before the operation fails.
        """,
    ).tag(config=True)

    k8s_api_threadpool_workers = Integer(
        5 * (os.cpu_count() or 1),
        help="""
        Deprecated and ignored: the spawner talks to Kubernetes asynchronously,
        without a thread pool.
        """,
    ).tag(config=True)

    @observe("k8s_api_threadpool_workers")
    def _threadpool_ignored(self, change):
        self.log.warning(
            "KubeSpawner.k8s_api_threadpool_workers is ignored: the Kubernetes client is "
            "asynchronous and uses no threads. Remove it from your config."
        )

    # ------------------------------------------------------------------
    # Namespaces and names
    # ------------------------------------------------------------------
    namespace = Unicode(
        help="""
        Kubernetes namespace to spawn user pods in.

        Defaults to the hub's own namespace: ``$POD_NAMESPACE``, else the
        in-cluster service account's namespace, else ``default``. With
        ``enable_user_namespaces`` this becomes the user's namespace, rendered
        from ``user_namespace_template``.
        """,
    ).tag(config=True)

    @default("namespace")
    def _namespace_default(self):
        return hub_namespace_from_environment()

    enable_user_namespaces = Bool(
        False,
        help="""
        Give each user their own namespace (created if missing, named by
        ``user_namespace_template``). The hub needs cluster-wide permissions
        for namespaces, pods and PVCs.
        """,
    ).tag(config=True)

    user_namespace_template = Unicode(
        "{hubnamespace}-{username}",
        help="Template for each user's namespace, with ``enable_user_namespaces``." + _FIELDS_HELP,
    ).tag(config=True)

    user_namespace_labels = Dict(
        help="Labels for namespaces the spawner creates (templates expanded)." + _FIELDS_HELP,
    ).tag(config=True)

    user_namespace_annotations = Dict(
        help="Annotations for namespaces the spawner creates (templates expanded)." + _FIELDS_HELP,
    ).tag(config=True)

    delete_namespace_on_stop = Bool(
        False,
        help="""
        With ``enable_user_namespaces``, delete the user's namespace when their
        server stops (only when no PVC is kept in it).
        """,
    ).tag(config=True)

    slug_scheme = Enum(
        list(slugs.SLUG_SCHEMES),
        default_value="safe",
        help="""
        How user and server names become Kubernetes names and label values.

        ``safe`` (default): valid names are used as they are; anything else
        is lowercased, reduced to letters, digits and '-', shortened, and
        given a hash suffix, so every name is valid and distinct.

        ``escape``: the older escaping (``-XX`` hex codes), for deployments
        whose existing pods and PVCs were named that way. Servers keep the
        scheme they were started with (it is saved in their state).
        """,
    ).tag(config=True)

    pod_name_template = Unicode(
        "jupyter-{user_server}",
        help="""
        Template for the name of each user's pod. It must be unique within the
        namespace: set something more specific when several hubs share one.
        """
        + _FIELDS_HELP,
    ).tag(config=True)

    pvc_name_template = Unicode(
        "claim-{user_server}",
        help="""
        Template for the name of each user's PVC (``storage_pvc_ensure``). Use
        ``claim-{username}`` to share one claim between a user's servers.
        """
        + _FIELDS_HELP,
    ).tag(config=True)

    dns_name_template = Unicode(
        "{name}.{namespace}.svc.cluster.local",
        help="""
        Template for the DNS name of the user's Service (``services_enabled``
        and internal SSL). ``{name}`` is the Service's name (the pod name),
        ``{namespace}`` its namespace.
        """,
    ).tag(config=True)

    secret_name_template = Unicode(
        "{pod_name}",
        help="Template for the name of the Secret holding internal SSL certificates."
        + _FIELDS_HELP,
    ).tag(config=True)

    secret_mount_path = Unicode(
        "/etc/jupyterhub/ssl/",
        help="Where the internal SSL certificates are mounted in the user's container.",
    ).tag(config=True)

    # ------------------------------------------------------------------
    # Labels and annotations
    # ------------------------------------------------------------------
    component_label = Unicode(
        "singleuser-server",
        help="""
        Value of the ``component`` label on user pods. The spawner's pod watch
        selects on it, so each hub sharing a namespace needs its own.
        """,
    ).tag(config=True)

    common_labels = Dict(
        {
            "app": "jupyterhub",
            "heritage": "jupyterhub",
            "app.kubernetes.io/name": "jupyterhub",
            "app.kubernetes.io/managed-by": "kubespawner",
        },
        help="Labels put on every object the spawner creates (pods, PVCs, Secrets, Services).",
    ).tag(config=True)

    extra_labels = Dict(
        help="""
        Extra labels on user pods (keys and values must be valid label
        keys/values after expansion). Templates are expanded.
        """
        + _FIELDS_HELP,
    ).tag(config=True)

    extra_annotations = Dict(
        help="Extra annotations on user pods (strings). Templates are expanded." + _FIELDS_HELP,
    ).tag(config=True)

    # ------------------------------------------------------------------
    # The pod
    # ------------------------------------------------------------------
    image = Unicode(
        "quay.io/jupyterhub/singleuser:latest",
        help="""
        Container image for user servers (``name:tag``). Pin an immutable tag:
        with ``latest`` every spawn checks the registry, and nodes may run
        different images. Large images may need a longer ``start_timeout``.
        """,
    ).tag(config=True)

    image_pull_policy = Enum(
        ["Always", "IfNotPresent", "Never"],
        default_value=None,
        allow_none=True,
        help="""
        When the kubelet pulls ``image``: Always, IfNotPresent or Never. None
        (the default, as KubeSpawner since 6.2) leaves it to Kubernetes:
        Always for ``:latest`` and untagged images, so a moved tag is pulled
        again, else IfNotPresent.
        """,
    ).tag(config=True)

    image_pull_secrets = Union(
        [List(), Unicode()],
        default_value=[],
        help="""
        Secrets holding registry credentials for pulling ``image``: a list of
        secret names (or ``{"name": ...}`` dicts), or one name as a string.
        A string reads back as ``[{"name": ...}]`` (as upstream).
        """,
    ).tag(config=True)

    @validate("image_pull_secrets")
    def _normalize_image_pull_secrets(self, proposal):
        # one name becomes [{"name": ...}] as upstream; lists stay as given
        value = proposal.value
        if isinstance(value, str):
            return [{"name": value}] if value else []
        return value

    working_dir = Unicode(
        None,
        allow_none=True,
        help="Working directory of the user's server. None: the image's WORKDIR.",
    ).tag(config=True)

    uid = Union([Integer(), Callable()], default_value=None, allow_none=True).tag(config=True)
    uid.help = """
        UID the user's container runs as (securityContext.runAsUser). An int,
        or a callable taking the spawner and returning one (may be async).
        None: the image's USER.
        """

    gid = Union([Integer(), Callable()], default_value=None, allow_none=True).tag(config=True)
    gid.help = """
        Primary GID of the user's container (runAsGroup). An int, or a callable
        taking the spawner (may be async). None: the image's.
        """

    fs_gid = Union([Integer(), Callable()], default_value=None, allow_none=True).tag(config=True)
    fs_gid.help = """
        GID that owns mounted volumes (the pod's fsGroup): volumes that support
        it are chowned to it, made group-writable, and the container runs with
        it as a supplemental group. An int, or a callable taking the spawner
        (may be async).
        """

    supplemental_gids = Union([List(Integer()), Callable()], default_value=[]).tag(config=True)
    supplemental_gids.help = """
        Extra GIDs for the user's processes (supplementalGroups): a list of
        ints, or a callable taking the spawner and returning one (may be async).
        """

    privileged = Bool(
        False,
        help="Run the user's container privileged (full access to the node). Almost never wanted.",
    ).tag(config=True)

    allow_privilege_escalation = Bool(
        False,
        allow_none=True,
        help="""
        Whether processes in the user's container may gain privileges
        (setuid binaries such as sudo). False by default; None leaves it unset.
        """,
    ).tag(config=True)

    container_security_context = Union(
        [Dict(), Callable()],
        default_value={},
        help="""
        Extra securityContext for the user's container (camelCase or
        snake_case keys), merged over the one from ``uid``, ``gid``,
        ``privileged`` and ``allow_privilege_escalation``. A dict or a
        callable taking the spawner (may be async).
        """,
    ).tag(config=True)

    fs_group_change_policy = Enum(
        ["OnRootMismatch", "Always"],
        default_value="OnRootMismatch",
        allow_none=True,
        help="""
        The pod's ``securityContext.fsGroupChangePolicy``: with
        ``OnRootMismatch`` (default) the kubelet changes the ownership and
        permissions of a volume (``fs_gid``) only when its root does not
        match already, instead of walking every file of a large home
        directory at every start (``Always``, Kubernetes' own default).
        None leaves it unset. ``pod_security_context`` and
        ``extra_pod_config`` (z2jh's ``singleuser.extraPodConfig``:
        ``securityContext: {fsGroupChangePolicy: Always}``) override it.
        """,
    ).tag(config=True)

    pod_security_context = Union(
        [Dict(), Callable()],
        default_value={},
        help="""
        Extra securityContext for the pod, merged over the one from ``fs_gid``
        and ``supplemental_gids``. A dict or a callable taking the spawner.
        """,
    ).tag(config=True)

    service_account = Unicode(
        None,
        allow_none=True,
        help="""
        Service account the user's pod runs as; it must exist in the pod's
        namespace. With None (default) no API credentials are mounted. Give it
        only the permissions users should have.
        """,
    ).tag(config=True)

    automount_service_account_token = Bool(
        None,
        allow_none=True,
        help="""
        Mount the service account's API token in the user's pod. None
        (default): only when ``service_account`` is set.
        """,
    ).tag(config=True)

    node_selector = Dict(
        help="""
        Node labels the user's pod must be scheduled on, e.g.
        ``{"disktype": "ssd"}``. Empty: any node.
        """,
    ).tag(config=True)

    tolerations = Union(
        [List(), Dict()],
        help="""
        Tolerations of the user's pod (list of Toleration dicts), letting it run
        on tainted nodes, e.g. ``[{"key": "gpu", "operator": "Exists",
        "effect": "NoSchedule"}]``.
        Also a dict whose values (in key order) are the list, so profiles
        can override one entry by its key; model objects (V1Toleration,
        V1Container) are accepted too.
        """,
    ).tag(config=True)

    node_affinity_required = Union(
        [List(), Dict()],
        help="NodeSelectorTerms the node must match "
        "(nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution). "
        "A dict's values, in key order, are the list (as upstream).",
    ).tag(config=True)

    node_affinity_preferred = Union(
        [List(), Dict()],
        help="PreferredSchedulingTerms (weight + preference) for nodes "
        "(nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution). "
        "A dict's values, in key order, are the list (as upstream).",
    ).tag(config=True)

    pod_affinity_required = Union(
        [List(), Dict()],
        help="PodAffinityTerms: schedule only near pods matching them "
        "(podAffinity.requiredDuringSchedulingIgnoredDuringExecution). "
        "A dict's values, in key order, are the list (as upstream).",
    ).tag(config=True)

    pod_affinity_preferred = Union(
        [List(), Dict()],
        help="WeightedPodAffinityTerms: prefer nodes near matching pods "
        "(podAffinity.preferredDuringSchedulingIgnoredDuringExecution). "
        "A dict's values, in key order, are the list (as upstream).",
    ).tag(config=True)

    pod_anti_affinity_required = Union(
        [List(), Dict()],
        help="PodAffinityTerms: never schedule near pods matching them "
        "(podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution). "
        "A dict's values, in key order, are the list (as upstream).",
    ).tag(config=True)

    pod_anti_affinity_preferred = Union(
        [List(), Dict()],
        help="WeightedPodAffinityTerms: prefer nodes away from matching pods "
        "(podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution). "
        "A dict's values, in key order, are the list (as upstream).",
    ).tag(config=True)

    priority_class_name = Unicode(
        None,
        allow_none=True,
        help="PriorityClass of user pods (e.g. so user placeholders are evicted first).",
    ).tag(config=True)

    scheduler_name = Unicode(
        None,
        allow_none=True,
        help="Scheduler for user pods (e.g. the chart's user-scheduler). None: the default.",
    ).tag(config=True)

    extra_resource_limits = Dict(
        help="""
        Extra resource limits of the user's container, e.g. to limit to 3
        GPUs: ``{"nvidia.com/gpu": "3"}``.
        """,
    ).tag(config=True)

    extra_resource_guarantees = Dict(
        help="""
        Extra resource requests of the user's container, e.g. to request 3
        GPUs: ``{"nvidia.com/gpu": "3"}``.
        """,
    ).tag(config=True)

    lifecycle_hooks = Dict(
        help="""
        Lifecycle hooks of the user's container: ``postStart`` and/or
        ``preStop`` handlers, e.g.
        ``{"postStart": {"exec": {"command": ["/bin/sh", "-c", "echo hi"]}}}``.
        """,
    ).tag(config=True)

    init_containers = Union(
        [List(), Dict()],
        help="""
        Init containers of the user's pod (Container dicts), run before the
        server starts, e.g. to block the cloud metadata endpoint with
        iptables. Templates are expanded.
        Also a dict whose values (in key order) are the list, so profiles
        can override one entry by its key; model objects (V1Toleration,
        V1Container) are accepted too.
        """
        + _FIELDS_HELP,
    ).tag(config=True)

    extra_containers = Union(
        [List(), Dict()],
        help="""
        Containers added to the user's pod next to the notebook server
        (Container dicts, e.g. a cron sidecar). Templates are expanded.
        Also a dict whose values (in key order) are the list, so profiles
        can override one entry by its key; model objects (V1Toleration,
        V1Container) are accepted too.
        """
        + _FIELDS_HELP,
    ).tag(config=True)

    containers_inherit_security_context = Bool(
        False,
        help="""
        Give each of ``init_containers`` and ``extra_containers`` (profile
        overrides of them included) the notebook container's securityContext
        fields it does not set itself (all but ``privileged``: e.g. runAsUser,
        runAsNonRoot, allowPrivilegeEscalation, capabilities,
        seccompProfile), so that a hardened notebook's pod is hardened as a
        whole; a container's own fields win. Off by default, as in the
        original KubeSpawner; the jupyterhub chart turns it on.
        """,
    ).tag(config=True)

    extra_container_config = Dict(
        help="""
        Fields merged into the notebook container last (camelCase or
        snake_case keys), e.g. ``{"envFrom": [{"configMapRef": {"name":
        "special-config"}}]}``.
        """,
    ).tag(config=True)

    extra_pod_config = Dict(
        help="""
        Fields merged into the pod spec last (camelCase or snake_case keys),
        e.g. ``{"dnsPolicy": "ClusterFirstWithHostNet"}``.
        """,
    ).tag(config=True)

    volumes = Union(
        [List(), Dict()],
        default_value=[],
        help="""
        Volumes of the user's pod (Volume dicts with ``name`` and a type such
        as ``persistentVolumeClaim``). A list, or a dict whose values are
        volumes (in key order; the key is the default name), which profiles
        can override entry by entry. Templates are expanded.
        """
        + _FIELDS_HELP,
    ).tag(config=True)

    volume_mounts = Union(
        [List(), Dict()],
        default_value=[],
        help="""
        Mounts in the user's container (dicts with ``name`` of a volume and
        ``mountPath``). A list, or a dict whose values are mounts (in key
        order). Templates are expanded.
        """
        + _FIELDS_HELP,
    ).tag(config=True)

    modify_pod_hook = Callable(
        None,
        allow_none=True,
        help="""
        Callable ``(spawner, pod) -> pod`` called before the pod is created;
        may be async. ``pod`` is a kubernetes_asyncio ``V1Pod`` model object,
        as in the original KubeSpawner, so its hooks keep working, e.g.
        ``pod.spec.containers[0].env.append(V1EnvVar(name="X", value="1"))``
        or ``pod.metadata.labels["team"] = "a"``. Return the pod (modified),
        or a pod manifest dict (the API's camelCase JSON, e.g. from
        ``kubespawner.models.to_dict(pod)``) to use instead; anything else,
        None included, fails the spawn with an error.
        """,
    ).tag(config=True)

    after_pod_created_hook = Callable(
        None,
        allow_none=True,
        help="""
        Callable ``(spawner, pod)`` called after the pod was created (e.g. to
        create companion objects owned by it); may be async. ``pod`` is the
        pod as the API server returned it, a dict of its JSON
        (``pod["metadata"]["uid"]`` for an owner reference).
        """,
    ).tag(config=True)

    delete_stopped_pods = Bool(
        True,
        help="""
        Delete a user's pod once its server has stopped on its own (so the hub
        sees it as stopped). False keeps it for debugging; the hub then still
        treats the server as stopped.
        """,
    ).tag(config=True)

    delete_grace_period = Integer(
        1,
        help="""
        Seconds the user's server gets to shut down when its pod is deleted
        (``stop(now=True)`` uses 0).
        """,
    ).tag(config=True)

    # ------------------------------------------------------------------
    # Storage
    # ------------------------------------------------------------------
    storage_pvc_ensure = Bool(
        False,
        help="""
        Make sure a PVC named by ``pvc_name_template`` exists before the pod
        starts (creating it from the ``storage_*`` settings). Mount it with
        ``volumes``/``volume_mounts`` (``{pvc_name}``).
        """,
    ).tag(config=True)

    storage_class = Unicode(
        None,
        allow_none=True,
        help="""
        StorageClass of created PVCs. None: the cluster's default class; "":
        no class (bind to a pre-provisioned volume).
        """,
    ).tag(config=True)

    storage_capacity = Unicode(
        None,
        allow_none=True,
        help="""
        Size requested by created PVCs, a Kubernetes quantity such as
        ``10Gi`` (E, P, T, G, M, K or Ei, Pi, Ti, Gi, Mi, Ki suffixes).
        """,
    ).tag(config=True)

    storage_access_modes = List(
        ["ReadWriteOnce"],
        help="Access modes of created PVCs: ReadWriteOnce, ReadOnlyMany, ReadWriteMany.",
    ).tag(config=True)

    storage_selector = Dict(
        help="LabelSelector limiting which PersistentVolumes created PVCs may bind to.",
    ).tag(config=True)

    storage_extra_labels = Dict(
        help="Extra labels on created PVCs (set at creation only). Templates are expanded."
        + _FIELDS_HELP,
    ).tag(config=True)

    storage_extra_annotations = Dict(
        help="Extra annotations on created PVCs (set at creation only). Templates are expanded."
        + _FIELDS_HELP,
    ).tag(config=True)

    delete_pvc = Bool(
        True,
        help="""
        Delete the user's PVC when the user is deleted (``delete_forever``).
        A PVC shared between a user's named servers is not deleted with one
        of them.
        """,
    ).tag(config=True)

    remember_pvc_name = Bool(
        True,
        help="""
        Keep using the PVC name a server first got (it is saved in its state),
        even if ``pvc_name_template`` changes later, so users keep their data.
        """,
    ).tag(config=True)

    handle_legacy_names = Bool(
        True,
        help="""
        Find the claims of servers started before KubeSpawner 7 (z2jh 3):
        when a server's saved state has no PVC name and no claim exists under
        today's name, look for the user's claim under the ``escape`` scheme's
        name (today's ``pvc_name_template``, z2jh 3's
        ``claim-{username}{servername}`` and KubeSpawner 6's
        ``claim-{username}--{servername}``), use it and keep its name in
        state. A claim annotated with another user or server is never taken.
        Needs ``remember_pvc_name``; costs one GET per name tried, once per
        such server. Safe to disable if no claims predate KubeSpawner 7.
        """,
    ).tag(config=True)

    # ------------------------------------------------------------------
    # Networking
    # ------------------------------------------------------------------
    services_enabled = Bool(
        False,
        help="""
        Create a Service in front of each user pod (owned by the pod) and
        reach the server through its DNS name instead of the pod IP. Always
        done with internal SSL.
        """,
    ).tag(config=True)

    pod_connect_ip = Unicode(
        None,
        allow_none=True,
        help="""
        Template for the host the hub connects to instead of the pod IP, e.g.
        ``jupyter-{username}--{servername}.svc-name.ns.svc.cluster.local``.
        """
        + _FIELDS_HELP,
    ).tag(config=True)

    get_pod_url = Callable(
        None,
        allow_none=True,
        help="""
        Callable ``(spawner, pod) -> url`` giving the URL the hub should use for
        the server, overriding the pod IP / Service / ``pod_connect_ip`` logic.
        """,
    ).tag(config=True)

    hub_connect_ip = Unicode(
        None,
        allow_none=True,
        help="""
        Deprecated: use ``JupyterHub.hub_connect_ip`` or
        ``Spawner.hub_connect_url``. As upstream, setting it sets the hub's
        ``connect_ip`` (``hub.connect_ip``), which the hub API URL given to
        servers is made from unless ``JupyterHub.hub_connect_url`` is set.
        """,
    ).tag(config=True)

    hub_connect_port = Integer(
        0,
        help="""
        Deprecated: use ``JupyterHub.hub_connect_port`` or
        ``Spawner.hub_connect_url``. As upstream, setting it sets the hub's
        ``connect_port`` (0: the hub's port).
        """,
    ).tag(config=True)

    @observe("hub_connect_ip", "hub_connect_port")
    def _hub_connect_deprecated(self, change):
        replacement = change.name  # JupyterHub's trait has the same name
        message = (
            f"KubeSpawner.{change.name} is deprecated: use JupyterHub.{replacement} "
            "(or Spawner.hub_connect_url)"
        )
        self.log.warning(message)
        warnings.warn(message, DeprecationWarning, stacklevel=2)
        if getattr(self, "hub", None) is not None:
            setattr(self.hub, change.name.split("_", 1)[1], change.new)

    # ------------------------------------------------------------------
    # Events and progress
    # ------------------------------------------------------------------
    events_enabled = Bool(
        True,
        help="""
        Watch Kubernetes events of user pods and show them as spawn progress
        messages. Needs permission to list/watch events.
        """,
    ).tag(config=True)

    slow_spawn_message = Unicode(
        "Your server is taking longer than usual to start "
        "(waiting for {elapsed:.0f} seconds); it may be pulling a large image "
        "or waiting for a node to become available.",
        help="""
        Progress message shown while a spawn is slow; ``{elapsed}`` is the
        number of seconds since the spawn started. Empty: no such message.
        """,
    ).tag(config=True)

    slow_spawn_threshold = Float(
        30,
        help="Seconds after which a spawn counts as slow and ``slow_spawn_message`` is shown.",
    ).tag(config=True)

    slow_spawn_message_frequency = Float(
        30,
        help="Seconds between repetitions of ``slow_spawn_message`` while the spawn stays slow.",
    ).tag(config=True)

    # ------------------------------------------------------------------
    # Profiles and the options form
    # ------------------------------------------------------------------
    profile_list = Union(
        [List(), Dict(), Callable()],
        default_value=[],
        help="""
        Server profiles users choose from before their server starts. A list
        of profiles, a dict of them keyed by slug, or a callable taking the
        spawner and returning either (may be async).

        Each profile: ``display_name``; ``description``; ``slug`` (derived
        from display_name if missing); ``default: True`` for the preselected
        one (else the first); ``kubespawner_override``: trait values to set
        (a value may be a callable taking the spawner; dict values are merged
        recursively into the configured ones); ``profile_options``: a dict of
        options, each with ``display_name``, ``choices`` (a dict keyed by
        slug of ``{display_name, default, kubespawner_override}``) and/or
        ``unlisted_choice`` (``{enabled, display_name,
        display_name_in_choices, validation_regex, validation_message,
        kubespawner_override}``: free text, ``{value}`` in its overrides
        becomes the text).

        Through the REST API, pass ``{"profile": slug, "<option>": choice,
        "<option>--unlisted-choice": text}`` as user_options.
        """,
    ).tag(config=True)

    profile_form_template = Unicode(
        "",
        help="""
        Jinja template source for the profile form, replacing the built-in
        one (which it may extend: ``{% extends "form.html" %}``). Context:
        ``profiles``, ``selected``, ``chosen``, ``defaults``.
        """,
    ).tag(config=True)

    additional_profile_form_template_paths = List(
        help="""
        Directories searched (before the built-in one) for the form template
        ``form.html`` and anything ``profile_form_template`` includes.
        """,
    ).tag(config=True)

    @default("options_form")
    def _options_form_default(self):
        if not self.profile_list:
            return ""
        return profile_form

    @default("options_from_form")
    def _options_from_form_default(self):
        return self.profile_options_from_form

    @default("apply_user_options")
    def _apply_user_options_default(self):
        return apply_profile_user_options

    # ------------------------------------------------------------------
    # Runtime attributes (not configuration)
    # ------------------------------------------------------------------
    pod_name = Unicode(help="Name of this server's pod (set from the template or saved state).")
    pvc_name = Unicode(help="Name of this server's PVC.")
    dns_name = Unicode(help="DNS name of this server's Service.")
    secret_name = Unicode(help="Name of this server's internal-SSL Secret.")
    hub_namespace = Unicode(help="The hub's namespace ({hubnamespace}).")


class KubeSpawnerConfig(ManifestsMixin, UserOptionsMixin, KubeSpawnerTraits):
    """Configuration of the Kubernetes spawner and the manifests it implies.

    A mixin: ``class KubeSpawner(KubeSpawnerConfig, Spawner)``. It owns no
    I/O; everything that talks to Kubernetes lives in the spawner.
    """

    def __init__(self, *args, **kwargs):
        # upstream's test-suite switch: a stand-in user and hub
        if kwargs.pop("_mock", False):
            kwargs.setdefault("user", _MockUser())
            kwargs.setdefault("hub", _MockHub())
        super().__init__(*args, **kwargs)
        self._profile_snapshot = {}
        self._applied_user_options = None
        if getattr(self, "user", None) is not None:
            self.hub_namespace = self.namespace
            self.update_names()


def hub_namespace_from_environment() -> str:
    """The hub's namespace: $POD_NAMESPACE, the service account's, or 'default'."""
    return os.environ.get("POD_NAMESPACE") or clients.in_cluster_namespace("default")


class _MockUser:
    """The user of a ``KubeSpawner(_mock=True)`` (upstream's test switch)."""

    name = "mock@name"
    id = "mock_id"
    url = "mock_url"
    escaped_name = "mock%40name"


class _MockHub:
    public_host = "mock_public_host"
    url = "mock_url"
    base_url = "mock_base_url"
    api_url = "mock_api_url"
