"""singleuser.*, scheduling.* and imagePullSecrets as KubeSpawner settings:
plain keys from one table (SINGLEUSER_TRAITS), code only where a key is not
a plain mapping; each value checked by KubeSpawner's own trait."""

import ipaddress
import logging
import os

from z2jh import get_name

from . import profiles as profile_check
from .storage import configure_storage
from .traits import set_spawner, spawner_traits
from .values import ConfigError, choice, get_value, typed

log = logging.getLogger("JupyterHub")

NODE_PURPOSE_LABEL = "hub.jupyter.org/node-purpose"


# The plain mappings: values key -> KubeSpawner trait, with the value's types.
SINGLEUSER_TRAITS = [
    ("singleuser.startTimeout", "start_timeout", int),
    ("singleuser.uid", "uid", int),
    ("singleuser.fsGid", "fs_gid", int),
    ("singleuser.allowPrivilegeEscalation", "allow_privilege_escalation", bool),
    # (the chart's defaults: non-root, no capabilities, seccomp RuntimeDefault)
    ("singleuser.containerSecurityContext", "container_security_context", dict),
    ("singleuser.podSecurityContext", "pod_security_context", dict),
    ("singleuser.serviceAccountName", "service_account", str),
    ("singleuser.podNameTemplate", "pod_name_template", str),
    ("singleuser.events", "events_enabled", bool),
    ("singleuser.extraAnnotations", "extra_annotations", dict),
    ("singleuser.nodeSelector", "node_selector", dict),
    ("singleuser.lifecycleHooks", "lifecycle_hooks", dict),
    ("singleuser.extraContainers", "extra_containers", list),
    ("singleuser.extraPodConfig", "extra_pod_config", dict),
    ("singleuser.extraResource.limits", "extra_resource_limits", dict),
    ("singleuser.extraResource.guarantees", "extra_resource_guarantees", dict),
    ("singleuser.cpu.limit", "cpu_limit", (int, float)),
    ("singleuser.cpu.guarantee", "cpu_guarantee", (int, float)),
    ("singleuser.memory.limit", "mem_limit", (str, int)),
    ("singleuser.memory.guarantee", "mem_guarantee", (str, int)),
    ("singleuser.image.pullPolicy", "image_pull_policy", str),
]


def common_labels():
    """Labels on everything the spawner creates; the chart's NetworkPolicies
    and PodDisruptionBudgets find user pods by name/instance."""
    name = typed("nameOverride", str) or typed("Chart.Name", str) or "jupyterhub"
    labels = {
        "app": name,
        "heritage": "jupyterhub",
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/managed-by": "kubespawner",
    }
    release = typed("Release.Name", str) or os.environ.get("HELM_RELEASE_NAME")
    if release:
        labels["release"] = release
        labels["app.kubernetes.io/instance"] = release
    return labels


def configure_spawner_basics(c):
    c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
    c.KubeSpawner.namespace = os.environ.get("POD_NAMESPACE") or "default"
    c.KubeSpawner.common_labels = common_labels()

    # z2jh sets these two on c.Spawner (all other chart values on
    # c.KubeSpawner), so hub.extraConfig's `c.Spawner.default_url = ...`
    # wins and its `c.Spawner.mem_limit = ...` loses, as there.
    # singleuser.cmd: null (unset) leaves the spawner's default, the image's CMD.
    cmd = typed("singleuser.cmd", (str, list))
    if cmd is not None:
        set_spawner(c, "cmd", cmd, "singleuser.cmd", section="Spawner")
    default_url = typed("singleuser.defaultUrl", str)
    if default_url is not None:
        set_spawner(c, "default_url", default_url, "singleuser.defaultUrl", section="Spawner")

    for key, trait, types in SINGLEUSER_TRAITS:
        value = typed(key, types)
        # pullPolicy "" (z2jh's schema allows it) means unset, as in a pod.
        if value not in (None, {}, [], ""):
            set_spawner(c, trait, value, key)

    # Users' init containers and sidecars (profile overrides too) get the
    # notebook's hardened securityContext fields they do not set themselves.
    c.KubeSpawner.containers_inherit_security_context = True

    # Pods only (not PVCs): the component label the chart's policies select.
    labels = {"app.kubernetes.io/component": "singleuser-server"}
    labels.update(typed("singleuser.extraLabels", dict, {}))
    set_spawner(c, "extra_labels", labels, "singleuser.extraLabels")
    env = singleuser_environment()
    set_spawner(c, "environment", env, "singleuser.extraEnv")
    # On Spawner, so hub.extraConfig can add to it under either name.
    c.Spawner.environment = Environment(env)
    del c.KubeSpawner["environment"]
    profiles = typed("singleuser.profileList", list)
    if profiles:
        set_spawner(c, "profile_list", profiles, "singleuser.profileList")


class Environment(dict):
    """The user pods' environment. `+=` merges, as in the seed guide's
    hub.extraConfig example `c.Spawner.environment += {...}`."""

    def __iadd__(self, other):
        self.update(other)
        return self


def singleuser_environment():
    """singleuser.extraEnv as a dict; values are strings or EnvVar-like dicts
    (valueFrom). A list of EnvVar objects is accepted too."""
    env = get_value("singleuser.extraEnv", {})
    if isinstance(env, list):
        out = {}
        for i, item in enumerate(env):
            if not isinstance(item, dict) or "name" not in item:
                raise ConfigError(f"singleuser.extraEnv[{i}] must be a mapping with a name")
            rest = {k: v for k, v in item.items() if k != "name"}
            out[item["name"]] = rest.get("value", "") if list(rest) == ["value"] else rest
        return out
    if not isinstance(env, dict):
        raise ConfigError(f"singleuser.extraEnv must be a mapping or a list, not {env!r}")
    return {
        name: value if isinstance(value, dict) else ("" if value is None else str(value))
        for name, value in env.items()
    }


def image_reference(name, tag):
    """name:tag, or name@sha256:... when the tag is a digest (as the chart's
    "jupyterhub.image" writes it)."""
    if tag in (None, ""):
        return name
    tag = str(tag)
    return f"{name}@{tag}" if tag.startswith("sha256:") else f"{name}:{tag}"


def configure_image(c, network_tools):
    name = typed("singleuser.image.name", str)
    tag = typed("singleuser.image.tag", (str, int, float))
    if name:
        set_spawner(c, "image", image_reference(name, tag), "singleuser.image")
    # Pull secrets: the chart's own (imagePullSecret.create), the global
    # list, then the singleuser image's own; entries are names or {name: ...}.
    secrets = []
    create = typed("imagePullSecret.create", bool, False)
    inject = typed("imagePullSecret.automaticReferenceInjection", bool, True)
    if create and inject:
        secrets.append(get_name("image-pull-secret"))
    keys = ["imagePullSecrets", "singleuser.image.pullSecrets"]
    if network_tools:
        # user pods pull the network-tools image for the init container too
        keys.append("singleuser.networkTools.image.pullSecrets")
    for key in keys:
        for i, entry in enumerate(typed(key, list, [])):
            secret = entry.get("name") if isinstance(entry, dict) else entry
            if not isinstance(secret, str) or not secret:
                raise ConfigError(f"{key}[{i}] must be a Secret name, not {entry!r}")
            if secret not in secrets:
                secrets.append(secret)
    if secrets:
        set_spawner(c, "image_pull_secrets", secrets, "singleuser.image.pullSecrets")


def configure_scheduling(c):
    """Tolerations, affinities, the user-scheduler and the priority class."""
    tolerations = typed("scheduling.userPods.tolerations", list, []) + typed(
        "singleuser.extraTolerations", list, []
    )
    if tolerations:
        set_spawner(c, "tolerations", tolerations, "singleuser.extraTolerations")

    node_required = list(typed("singleuser.extraNodeAffinity.required", list, []))
    node_preferred = list(typed("singleuser.extraNodeAffinity.preferred", list, []))
    purpose = choice(
        "scheduling.userPods.nodeAffinity.matchNodePurpose",
        ["ignore", "prefer", "require"],
        "prefer",
    )
    # Nodes labelled hub.jupyter.org/node-purpose=user are meant for user pods.
    user_nodes = {
        "matchExpressions": [{"key": NODE_PURPOSE_LABEL, "operator": "In", "values": ["user"]}]
    }
    if purpose == "prefer":
        node_preferred.append({"weight": 100, "preference": user_nodes})
    elif purpose == "require":
        node_required.append(user_nodes)
    for trait, value, key in [
        ("node_affinity_required", node_required, "singleuser.extraNodeAffinity.required"),
        ("node_affinity_preferred", node_preferred, "singleuser.extraNodeAffinity.preferred"),
    ]:
        if value:
            set_spawner(c, trait, value, key)

    pod_preferred = list(typed("singleuser.extraPodAffinity.preferred", list, []))
    for key, trait, value in [
        ("singleuser.extraPodAffinity.required", "pod_affinity_required", None),
        ("singleuser.extraPodAffinity.preferred", "pod_affinity_preferred", pod_preferred),
        ("singleuser.extraPodAntiAffinity.required", "pod_anti_affinity_required", None),
        ("singleuser.extraPodAntiAffinity.preferred", "pod_anti_affinity_preferred", None),
    ]:
        value = value if value is not None else typed(key, list, [])
        if value:
            set_spawner(c, trait, value, key)

    if typed("scheduling.userScheduler.enabled", bool, False):
        set_spawner(c, "scheduler_name", get_name("user-scheduler"), "scheduling.userScheduler")
    if typed("scheduling.podPriority.enabled", bool, False):
        set_spawner(c, "priority_class_name", priority_class_name(), "scheduling.podPriority")


def priority_class_name():
    # PriorityClasses are cluster-scoped, so the chart prefixes their names.
    return get_name("default-priority")


def network_tools_init_container():
    """The init container that blocks the cloud metadata server with iptables,
    so user code cannot read the node's cloud credentials."""
    block = typed("singleuser.cloudMetadata.blockWithIptables", bool, True)
    if not block:
        return None
    ip = typed("singleuser.cloudMetadata.ip", str, "169.254.169.254")
    try:
        version = ipaddress.ip_address(ip).version
    except ValueError:
        raise ConfigError(
            f"singleuser.cloudMetadata.ip must be an IP address, not {ip!r}"
        ) from None
    name = typed("singleuser.networkTools.image.name", str)
    if not name:
        raise ConfigError(
            "singleuser.networkTools.image.name must be set to block the cloud metadata server"
        )
    tag = typed("singleuser.networkTools.image.tag", (str, int, float))
    container = {
        "name": "block-cloud-metadata",
        "image": image_reference(name, tag),
        # (e.g. AWS's IPv6 endpoint fd00:ec2::254 needs ip6tables)
        "command": [
            "ip6tables" if version == 6 else "iptables",
            "--append",
            "OUTPUT",
            "--protocol",
            "tcp",
        ]
        + ["--destination", ip, "--destination-port", "80", "--jump", "DROP"],
        # iptables needs root and NET_ADMIN (NET_RAW for its netlink socket),
        # nothing more.
        "securityContext": {
            "runAsUser": 0,
            "runAsNonRoot": False,
            "privileged": False,
            "allowPrivilegeEscalation": False,
            "capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]},
        },
    }
    pull_policy = choice(
        "singleuser.networkTools.image.pullPolicy", [None, "Always", "IfNotPresent", "Never"], None
    )
    if pull_policy:
        container["imagePullPolicy"] = pull_policy
    resources = typed("singleuser.networkTools.resources", dict)
    if resources:
        container["resources"] = resources
    return container


def configure_init_containers(c, blocker):
    containers = []
    if blocker:
        containers.append(blocker)
    containers += typed("singleuser.initContainers", list, [])
    if containers:
        set_spawner(c, "init_containers", containers, "singleuser.initContainers")


def configure_spawner(c):
    configure_spawner_basics(c)
    blocker = network_tools_init_container()
    configure_image(c, network_tools=blocker is not None)
    configure_scheduling(c)
    configure_init_containers(c, blocker)
    configure_storage(c)


def _profile_error(message):
    """What a user sees when a callable profile_list returns a mistake: the
    spawner's own 500 for an unknown override key, with our message."""
    from kubespawner.user_options import invalid_user_options

    return invalid_user_options(message, status=500)


def check_profile_list(c):
    """The final KubeSpawner.profile_list, whichever escape hatch set it: a
    list is checked now, a callable's result each time it is called."""
    if "profile_list" not in c.KubeSpawner:
        return
    profiles = c.KubeSpawner.profile_list
    where = "KubeSpawner.profile_list"
    if profiles == get_value("singleuser.profileList"):
        where = "singleuser.profileList"
    level = get_value("podSecurity.level", "privileged")
    configured = c.KubeSpawner.get("container_security_context")
    configured = configured if isinstance(configured, dict) else {}
    if callable(profiles):
        c.KubeSpawner.profile_list = profile_check.checked_callable(
            profiles, where, _profile_error, spawner_traits(), level, configured
        )
        return
    found = profile_check.problems(profiles, where, spawner_traits(), level)
    if found:
        raise ConfigError("; ".join(found))
    c.KubeSpawner.profile_list = profile_check.with_root_allowed(profiles, configured)
