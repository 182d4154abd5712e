# JupyterHub configuration of the hub pod: turns the chart's values (mounted
# from the Secret `hub`, see z2jh.py) into traitlets config on `c`.
#
# One function per area, applied in this order: hub and proxy, database and
# secrets, spawner, authentication, services and roles; then the escape
# hatches, each later one winning: hub.config, jupyterhub_config.d/*.py,
# hub.extraConfig. A bad value stops the hub with a message naming its key.
import copy
import ipaddress
import logging
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from traitlets import HasTraits
from traitlets.config import Config

# z2jh.py sits next to this file (in the image both are under the config root).
sys.path.insert(0, str(Path(__file__).resolve().parent))

import profile_check  # noqa: E402

from z2jh import (  # noqa: E402
    ConfigError,
    config_root,
    get_config,
    get_name,
    get_name_env,
    get_secret_value,
)

log = logging.getLogger("JupyterHub")

HUB_CONTAINER_PORT = 8081
NODE_PURPOSE_LABEL = "hub.jupyter.org/node-purpose"


# ---------------------------------------------------------------- helpers


_TYPE_NAMES = {
    bool: "true or false",
    int: "whole number",
    float: "number",
    str: "string",
    list: "list",
    dict: "mapping",
}


def _get(key, default=None):
    """get_config, but a section on the way that is set to something other
    than a mapping is an error: `singleuser: 5` must not quietly mean the
    defaults."""
    parts = key.split(".")
    for i in range(1, len(parts)):
        parent = ".".join(parts[:i])
        value = get_config(parent)
        if value is not None and not isinstance(value, Mapping):
            raise ConfigError(f"{parent} must be a mapping, not {value!r}")
    return get_config(key, default)


def _typed(key, types, default=None):
    """The value at `key`, checked to be one of `types` (or unset)."""
    types = types if isinstance(types, tuple) else (types,)
    value = _get(key, default)
    # YAML's true/false are ints to Python; only accept them as booleans.
    wrong_bool = isinstance(value, bool) and bool not in types
    if value is not None and (wrong_bool or not isinstance(value, types)):
        # (a float may also be written as a whole number)
        expected = " or ".join(_TYPE_NAMES[t] for t in types if not (t is int and float in types))
        raise ConfigError(f"{key} must be a {expected}, not {value!r}")
    return value


def _choice(key, choices, default):
    value = _get(key, default)
    if value not in choices:
        names = ", ".join(str(choice) for choice in choices if choice is not None)
        raise ConfigError(f"{key} is {value!r}; it must be one of: {names}")
    return value


def _non_negative_int(key, default=None):
    value = _typed(key, int, default)
    if isinstance(value, bool) or (value is not None and value < 0):
        raise ConfigError(f"{key} must be a whole number >= 0, not {value!r}")
    return value


def _url_host(host):
    """Bracket IPv6 addresses for use in a URL."""
    try:
        return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        return host


def _is_loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _as_list(key, value, name_from_key=False):
    """Lists stay lists; a dict (mergeable across values files) becomes its values
    in key order. For volumes the dict key is the default `name`."""
    if value is None:
        return []
    if isinstance(value, list):
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise ConfigError(f"{key}[{i}] must be a mapping, not {item!r}")
        return list(value)
    if isinstance(value, dict):
        items = []
        for k in sorted(value):
            item = value[k]
            if not isinstance(item, dict):
                raise ConfigError(f"{key}.{k} must be a mapping, not {item!r}")
            if name_from_key:
                item = {"name": k, **item}
            items.append(item)
        return items
    raise ConfigError(f"{key} must be a list or a mapping, not {value!r}")


_SPAWNER_TRAITS = None


def _spawner_traits():
    """KubeSpawner's traits, to check values before the hub spawns anything."""
    global _SPAWNER_TRAITS
    if _SPAWNER_TRAITS is None:
        try:
            from kubespawner import KubeSpawner
        except Exception as e:  # the hub reports a broken spawner itself, later
            log.warning("Cannot import kubespawner to check singleuser values: %s", e)
            _SPAWNER_TRAITS = {}
        else:
            _SPAWNER_TRAITS = KubeSpawner.class_traits(config=True)
    return _SPAWNER_TRAITS


def _set_spawner(c, trait, value, key, section="KubeSpawner"):
    """Set c.<section>.<trait> (KubeSpawner, or Spawner where z2jh sets it
    there), validated by KubeSpawner's trait, naming `key` on error."""
    traits = _spawner_traits()
    if trait in traits:
        # A throwaway object holding a copy of the trait runs its validation
        # without a spawner instance.
        holder = type("TraitCheck", (HasTraits,), {"value": copy.copy(traits[trait])})()
        try:
            holder.value = value
        except Exception as e:
            raise ConfigError(
                f"{key}: {value!r} is not valid for KubeSpawner.{trait}: {e}"
            ) from None
    setattr(c[section], trait, value)


# ---------------------------------------------------------------- hub


def service_url(name):
    """http://host:port of a Service, from the variables Kubernetes injects."""
    host = get_name_env(name, "_SERVICE_HOST")
    port = get_name_env(name, "_SERVICE_PORT")
    return host, port, f"http://{_url_host(host)}:{port}"


def hub_bind(c):
    """Where the hub listens, and the URL its own services use to reach it.

    In a pod the hub listens on every interface on its container port. A pod
    whose own address (POD_IP) is on loopback runs on kubesim's process
    runtime, where pods share this machine's network: the hub listens on
    exactly that address (every interface would take the port from every
    other pod). When only the hub Service's variables point at loopback (a
    hub run without any pod network) it listens exactly there instead.
    """
    host, port, connect_url = service_url("hub")
    pod_ip = os.environ.get("POD_IP", "")
    if _is_loopback(pod_ip):
        bind_host, bind_port = pod_ip, HUB_CONTAINER_PORT
    elif _is_loopback(host):
        bind_host, bind_port = host, int(port)
    else:
        bind_host, bind_port = "", HUB_CONTAINER_PORT
    c.JupyterHub.hub_bind_url = f"http://{_url_host(bind_host)}:{bind_port}"
    # User pods and the proxy reach the hub through its Service.
    c.JupyterHub.hub_connect_url = connect_url
    local = bind_host or "127.0.0.1"
    return f"http://{_url_host(local)}:{bind_port}"


def configure_hub(c):
    c.JupyterHub.base_url = _typed("hub.baseUrl", str, "/")
    # User servers outlive hub restarts: the hub finds them again from its
    # database and the spawner's state.
    c.JupyterHub.cleanup_servers = False
    c.JupyterHub.last_activity_interval = 60
    # Send users to the progress page at once instead of waiting.
    c.JupyterHub.tornado_settings = {"slow_spawn_timeout": 0}

    for key, section, trait in [
        ("hub.concurrentSpawnLimit", c.JupyterHub, "concurrent_spawn_limit"),
        ("hub.activeServerLimit", c.JupyterHub, "active_server_limit"),
        # a Spawner setting since JupyterHub 5
        ("hub.consecutiveFailureLimit", c.Spawner, "consecutive_failure_limit"),
        ("hub.namedServerLimitPerUser", c.JupyterHub, "named_server_limit_per_user"),
    ]:
        value = _non_negative_int(key)
        if value is not None:
            setattr(section, trait, value)
    for key, trait in [
        ("hub.allowNamedServers", "allow_named_servers"),
        ("hub.redirectToServer", "redirect_to_server"),
        ("hub.shutdownOnLogout", "shutdown_on_logout"),
        ("hub.authenticatePrometheus", "authenticate_prometheus"),
    ]:
        value = _typed(key, bool)
        if value is not None:
            setattr(c.JupyterHub, trait, value)
    paths = _typed("hub.templatePaths", list)
    if paths:
        c.JupyterHub.template_paths = paths
    template_vars = _typed("hub.templateVars", dict)
    if template_vars:
        c.JupyterHub.template_vars = template_vars

    if _typed("debug.enabled", bool, False):
        c.JupyterHub.log_level = "DEBUG"
        c.Spawner.debug = True


def configure_proxy(c):
    # The proxy runs in its own pod; the hub only talks to its API.
    c.ConfigurableHTTPProxy.should_start = False
    c.ConfigurableHTTPProxy.api_url = service_url("proxy-api")[2]
    token = get_secret_value("hub.config.ConfigurableHTTPProxy.auth_token", None)
    token = token or os.environ.get("CONFIGPROXY_AUTH_TOKEN")
    if not token:
        raise ConfigError(
            "no proxy auth token: the Secret has no key hub.config.ConfigurableHTTPProxy.auth_token "
            "and CONFIGPROXY_AUTH_TOKEN is unset (set proxy.secretToken or let the chart generate it)"
        )
    c.ConfigurableHTTPProxy.auth_token = token.strip()


# ---------------------------------------------------------------- database and secrets

_DB_SCHEMES = {
    "mysql": ("mysql",),
    "postgres": ("postgresql", "postgres"),
}


# SQLAlchemy drivers (and their modules) the image may ship, preferred
# first, for URLs that name none.
_DEFAULT_DRIVERS = {
    "postgresql": [("psycopg2", "psycopg2"), ("psycopg", "psycopg")],
    "mysql": [("pymysql", "pymysql"), ("mysqldb", "MySQLdb")],
}


def _installed_driver(scheme):
    import importlib.util

    for driver, module in _DEFAULT_DRIVERS[scheme]:
        if importlib.util.find_spec(module):
            return driver
    return _DEFAULT_DRIVERS[scheme][0][0]


def database_url():
    db_type = _choice(
        "hub.db.type", ["sqlite-pvc", "sqlite-memory", "mysql", "postgres", "other"], "sqlite-pvc"
    )
    url = _typed("hub.db.url", str)
    if db_type == "sqlite-memory":
        return db_type, "sqlite://"
    if db_type == "sqlite-pvc":
        # Relative to the working directory /srv/jupyterhub, the hub-db-dir
        # PVC. hub.db.url is ignored here, as z2jh does.
        if url:
            log.warning("hub.db.url is ignored with hub.db.type sqlite-pvc (the hub-db-dir claim)")
        return db_type, "sqlite:///jupyterhub.sqlite"
    if not url:
        raise ConfigError(f"hub.db.url must be set when hub.db.type is {db_type!r}")
    scheme = url.split(":", 1)[0]
    dialect = scheme.split("+", 1)[0]
    if db_type in _DB_SCHEMES and dialect not in _DB_SCHEMES[db_type]:
        raise ConfigError(
            f"hub.db.url starts with {scheme}://, which does not match hub.db.type {db_type!r} "
            f"(expected {_DB_SCHEMES[db_type][0]}://...)"
        )
    if dialect == "postgres":
        # The seed guide's spelling; SQLAlchemy only knows `postgresql`.
        log.warning("hub.db.url: 'postgres://' is an old spelling; use 'postgresql://'")
        url = "postgresql" + url[len("postgres") :]
        scheme = "postgresql" + scheme[len("postgres") :]
    if scheme in _DEFAULT_DRIVERS:
        # Without a driver SQLAlchemy picks one the image may not have.
        url = f"{scheme}+{_installed_driver(scheme)}" + url[len(scheme) :]
    return db_type, url


def configure_database(c):
    db_type, url = database_url()
    c.JupyterHub.db_url = url
    # The Deployment passes hub.db.password as MYSQL_PWD / PGPASSWORD. libpq
    # reads PGPASSWORD itself; the MySQL driver needs it handed over.
    if db_type in ("mysql", "other") and url.startswith("mysql") and os.environ.get("MYSQL_PWD"):
        c.JupyterHub.db_kwargs = {"connect_args": {"password": os.environ["MYSQL_PWD"]}}
    upgrade = _typed("hub.db.upgrade", bool)
    if upgrade is None and db_type == "sqlite-pvc":
        # As z2jh (and the Deployment's --upgrade-db): JupyterHub copies the
        # sqlite file to a timestamped backup before upgrading it.
        upgrade = True
    if upgrade is not None:
        c.JupyterHub.upgrade_db = upgrade


def configure_secrets(c):
    # checked even when the Secret has one (a number when YAML read an
    # all-digit hex string unquoted: say so)
    given = _typed("hub.cookieSecret", str)
    where = "hub.config.JupyterHub.cookie_secret"
    cookie_secret = get_secret_value(where, None)
    if not cookie_secret and given:
        cookie_secret, where = given, "hub.cookieSecret"
    if cookie_secret:
        try:
            c.JupyterHub.cookie_secret = bytes.fromhex(cookie_secret.strip())
        except ValueError:
            raise ConfigError(
                # (the value is a secret: not in the log)
                f"{where} must be a hex string; make one with openssl rand -hex 32"
            ) from None
    # The chart's Secret lists the given keys first (the first encrypts),
    # then the earlier ones (to decrypt older auth state); it already holds
    # auth.state.cryptoKey. A hub.existingSecret's keys may not: then the
    # legacy key goes first, as the chart would put it. Each key once.
    keys = get_secret_value("hub.config.CryptKeeper.keys", None)
    keys = [k.strip() for k in (keys or "").replace("\n", ";").split(";") if k.strip()]
    legacy_key = _typed("auth.state.cryptoKey", str)
    if legacy_key:
        log.warning(
            "auth.state.cryptoKey is an old spelling; today: hub.config.CryptKeeper.keys: [<the key>]"
        )
        if legacy_key.strip() not in keys:
            keys.insert(0, legacy_key.strip())
    keys = list(dict.fromkeys(keys))
    if keys:
        c.CryptKeeper.keys = keys


# ---------------------------------------------------------------- spawner


def common_labels():
    """Labels on everything the spawner creates; the chart's NetworkPolicies
    and PodDisruptionBudgets find user pods by name/instance."""
    name = _typed("nameOverride", str) or _typed("Chart.Name", str) or "jupyterhub"
    labels = {
        "app": name,
        "heritage": "jupyterhub",
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/managed-by": "kubespawner",
    }
    release = _typed("Release.Name", str) or os.environ.get("HELM_RELEASE_NAME")
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
    cmd = _typed("singleuser.cmd", (str, list))
    if cmd is not None:
        _set_spawner(c, "cmd", cmd, "singleuser.cmd", section="Spawner")
    default_url = _typed("singleuser.defaultUrl", str)
    if default_url is not None:
        _set_spawner(c, "default_url", default_url, "singleuser.defaultUrl", section="Spawner")

    for key, trait, types in [
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
    ]:
        value = _typed(key, types)
        # pullPolicy "" (z2jh's schema allows it) means unset, as in a pod.
        if value not in (None, {}, [], ""):
            _set_spawner(c, trait, value, key)

    # Pods only (not PVCs): the component label the chart's policies select.
    labels = {"app.kubernetes.io/component": "singleuser-server"}
    labels.update(_typed("singleuser.extraLabels", dict, {}))
    _set_spawner(c, "extra_labels", labels, "singleuser.extraLabels")
    env = singleuser_environment()
    _set_spawner(c, "environment", env, "singleuser.extraEnv")
    # On Spawner, so hub.extraConfig can add to it under either name.
    c.Spawner.environment = Environment(env)
    del c.KubeSpawner["environment"]
    profiles = _typed("singleuser.profileList", list)
    if profiles:
        _set_spawner(c, "profile_list", profiles, "singleuser.profileList")


class Environment(dict):
    """The user pods' environment. `+=` merges, as in the seed guide's
    hub.extraConfig example `c.Spawner.environment += {...}`."""

    def __iadd__(self, other):
        self.update(other)
        return self


def singleuser_environment():
    """singleuser.extraEnv as a dict; values are strings or EnvVar-like dicts
    (valueFrom). A list of EnvVar objects is accepted too."""
    env = _get("singleuser.extraEnv", {})
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
    name = _typed("singleuser.image.name", str)
    tag = _typed("singleuser.image.tag", (str, int, float))
    if name:
        _set_spawner(c, "image", image_reference(name, tag), "singleuser.image")
    # Pull secrets: the chart's own (imagePullSecret.create), the global
    # list, then the singleuser image's own; entries are names or {name: ...}.
    secrets = []
    create = _typed("imagePullSecret.create", bool, False)
    inject = _typed("imagePullSecret.automaticReferenceInjection", bool, True)
    if create and inject:
        secrets.append(get_name("image-pull-secret"))
    keys = ["imagePullSecrets", "singleuser.image.pullSecrets"]
    if network_tools:
        # user pods pull the network-tools image for the init container too
        keys.append("singleuser.networkTools.image.pullSecrets")
    for key in keys:
        for i, entry in enumerate(_typed(key, list, [])):
            secret = entry.get("name") if isinstance(entry, dict) else entry
            if not isinstance(secret, str) or not secret:
                raise ConfigError(f"{key}[{i}] must be a Secret name, not {entry!r}")
            if secret not in secrets:
                secrets.append(secret)
    if secrets:
        _set_spawner(c, "image_pull_secrets", secrets, "singleuser.image.pullSecrets")


def configure_scheduling(c):
    """Tolerations, affinities, the user-scheduler and the priority class."""
    tolerations = _typed("scheduling.userPods.tolerations", list, []) + _typed(
        "singleuser.extraTolerations", list, []
    )
    if tolerations:
        _set_spawner(c, "tolerations", tolerations, "singleuser.extraTolerations")

    node_required = list(_typed("singleuser.extraNodeAffinity.required", list, []))
    node_preferred = list(_typed("singleuser.extraNodeAffinity.preferred", list, []))
    purpose = _choice(
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
            _set_spawner(c, trait, value, key)

    pod_preferred = list(_typed("singleuser.extraPodAffinity.preferred", list, []))
    strategy = _get("singleuser.schedulerStrategy")
    if strategy is not None:
        strategy = _choice("singleuser.schedulerStrategy", ["pack", "spread"], None)
        log.warning(
            "singleuser.schedulerStrategy is an old spelling; today: "
            "scheduling.userScheduler.enabled: %s",
            "true" if strategy == "pack" else "false",
        )
        if strategy == "pack":
            # Prefer nodes already running user pods.
            pod_preferred.append(
                {
                    "weight": 100,
                    "podAffinityTerm": {
                        "labelSelector": {
                            "matchExpressions": [
                                {
                                    "key": "component",
                                    "operator": "In",
                                    "values": ["singleuser-server"],
                                }
                            ]
                        },
                        "topologyKey": "kubernetes.io/hostname",
                    },
                }
            )
    for key, trait, value in [
        ("singleuser.extraPodAffinity.required", "pod_affinity_required", None),
        ("singleuser.extraPodAffinity.preferred", "pod_affinity_preferred", pod_preferred),
        ("singleuser.extraPodAntiAffinity.required", "pod_anti_affinity_required", None),
        ("singleuser.extraPodAntiAffinity.preferred", "pod_anti_affinity_preferred", None),
    ]:
        value = value if value is not None else _typed(key, list, [])
        if value:
            _set_spawner(c, trait, value, key)

    # The user-scheduler packs pods; the seed's `spread` asks for the default
    # scheduler. (`pack` only uses it where the chart deploys it.)
    if _typed("scheduling.userScheduler.enabled", bool, False) and strategy != "spread":
        _set_spawner(c, "scheduler_name", get_name("user-scheduler"), "scheduling.userScheduler")
    if _typed("scheduling.podPriority.enabled", bool, False):
        _set_spawner(c, "priority_class_name", priority_class_name(), "scheduling.podPriority")


def priority_class_name():
    # PriorityClasses are cluster-scoped, so the chart prefixes their names.
    return get_name("default-priority")


def network_tools_init_container():
    """The init container that blocks the cloud metadata server with iptables,
    so user code cannot read the node's cloud credentials."""
    enabled = _typed("singleuser.cloudMetadata.enabled", bool)
    if enabled is not None:
        # Seed-era meaning: enabled = users may reach the metadata server.
        log.warning(
            "singleuser.cloudMetadata.enabled is an old spelling; today: "
            "singleuser.cloudMetadata.blockWithIptables: %s",
            "false" if enabled else "true",
        )
        block = not enabled
    else:
        block = _typed("singleuser.cloudMetadata.blockWithIptables", bool, True)
    if not block:
        return None
    ip = _typed("singleuser.cloudMetadata.ip", str, "169.254.169.254")
    try:
        version = ipaddress.ip_address(ip).version
    except ValueError:
        raise ConfigError(
            f"singleuser.cloudMetadata.ip must be an IP address, not {ip!r}"
        ) from None
    name = _typed("singleuser.networkTools.image.name", str)
    if not name:
        raise ConfigError(
            "singleuser.networkTools.image.name must be set to block the cloud metadata server"
        )
    tag = _typed("singleuser.networkTools.image.tag", (str, int, float))
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
    pull_policy = _choice(
        "singleuser.networkTools.image.pullPolicy", [None, "Always", "IfNotPresent", "Never"], None
    )
    if pull_policy:
        container["imagePullPolicy"] = pull_policy
    resources = _typed("singleuser.networkTools.resources", dict)
    if resources:
        container["resources"] = resources
    return container


def configure_init_containers(c, blocker):
    containers = []
    if blocker:
        containers.append(blocker)
    containers += _typed("singleuser.initContainers", list, [])
    if containers:
        _set_spawner(c, "init_containers", containers, "singleuser.initContainers")


def storage_volumes():
    """Volumes and mounts for the user's home (singleuser.storage.type), and
    the spawner's PVC settings as {trait: (value, values key)}."""
    storage_type = _choice("singleuser.storage.type", ["dynamic", "static", "none"], "dynamic")
    home = _typed("singleuser.storage.homeMountPath", str, "/home/jovyan")
    settings = {}
    volumes, mounts = [], []
    if storage_type == "dynamic":
        volume_name = _typed(
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
            value = _typed(key, types)
            if value not in (None, {}, []):
                settings[trait] = (value, key)
        volumes.append({"name": volume_name, "persistentVolumeClaim": {"claimName": "{pvc_name}"}})
        mount = {"name": volume_name, "mountPath": home}
        sub_path = _typed("singleuser.storage.dynamic.subPath", str)
        if sub_path:
            mount["subPath"] = sub_path
        mounts.append(mount)
    elif storage_type == "static":
        claim = _typed("singleuser.storage.static.pvcName", str)
        if not claim:
            raise ConfigError(
                "singleuser.storage.static.pvcName must name a PVC when storage.type is static"
            )
        # One shared claim; each user gets their own folder of it.
        volumes.append({"name": "home", "persistentVolumeClaim": {"claimName": claim}})
        mount = {"name": "home", "mountPath": home}
        sub_path = _typed("singleuser.storage.static.subPath", str, "{username}")
        if sub_path:
            mount["subPath"] = sub_path
        mounts.append(mount)
    return settings, volumes, mounts


def extra_files_volume():
    """singleuser.extraFiles: each file is a key of the Secret `singleuser`
    that the chart renders, mounted at its own path."""
    files = _typed("singleuser.extraFiles", dict, {})
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
        _set_spawner(c, trait, value, key)
    file_volumes, file_mounts = extra_files_volume()
    volumes += file_volumes
    mounts += file_mounts
    volumes += _as_list(
        "singleuser.storage.extraVolumes", _get("singleuser.storage.extraVolumes"), True
    )
    mounts += _as_list(
        "singleuser.storage.extraVolumeMounts", _get("singleuser.storage.extraVolumeMounts")
    )
    if volumes:
        _set_spawner(c, "volumes", volumes, "singleuser.storage.extraVolumes")
    if mounts:
        _set_spawner(c, "volume_mounts", mounts, "singleuser.storage.extraVolumeMounts")


def configure_spawner(c):
    configure_spawner_basics(c)
    blocker = network_tools_init_container()
    configure_image(c, network_tools=blocker is not None)
    configure_scheduling(c)
    configure_init_containers(c, blocker)
    configure_storage(c)


# ---------------------------------------------------------------- authentication

# Seed-era auth.type -> (its name for JupyterHub.authenticator_class today,
# the class). The chart's "jupyterhub.authTypes" (chart/templates/
# _helpers-warnings.tpl) is the same table and refuses any other type at
# render time; tests/hubconfig/test_auth.py checks that the two agree.
_LEGACY_AUTHENTICATORS = {
    "github": ("github", "oauthenticator.github.GitHubOAuthenticator"),
    "google": ("google", "oauthenticator.google.GoogleOAuthenticator"),
    "cilogon": ("cilogon", "oauthenticator.cilogon.CILogonOAuthenticator"),
    "globus": ("globus", "oauthenticator.globus.GlobusOAuthenticator"),
    "gitlab": ("gitlab", "oauthenticator.gitlab.GitLabOAuthenticator"),
    "azuread": ("azuread", "oauthenticator.azuread.AzureAdOAuthenticator"),
    "generic": ("generic-oauth", "oauthenticator.generic.GenericOAuthenticator"),
    "dummy": ("dummy", "jupyterhub.auth.DummyAuthenticator"),
}
# auth.<type>.<key> -> trait, for every key the chart's schema admits (the
# chart's "jupyterhub.authKeys"). Other keys (only possible through
# hub.existingSecret) fall back to their snake_case spelling.
_LEGACY_AUTH_KEYS = {
    "clientId": "client_id",
    "clientSecret": "client_secret",
    "callbackUrl": "oauth_callback_url",
    "org_whitelist": "allowed_organizations",
    "orgWhitelist": "allowed_organizations",
    "hostedDomain": "hosted_domain",
    "loginService": "login_service",
    "identityProvider": "identity_provider",
    "gitlabUrl": "gitlab_url",
    "gitlabGroupWhitelist": "allowed_gitlab_groups",
    "gitlabProjectIdWhitelist": "allowed_project_ids",
    "tenantId": "tenant_id",
    "usernameClaim": "username_claim",
    "authorizeUrl": "authorize_url",
    "tokenUrl": "token_url",
    "userdataUrl": "userdata_url",
    "userdataParams": "userdata_params",
    "extraParams": "token_params",
    "usernameKey": "username_claim",
    "password": "password",
}
# Traits oauthenticator renamed, applied to auth.custom.config of its classes
# (the chart's "jupyterhub.oauthRenamed").
_OAUTH_RENAMED = {
    "username_key": "username_claim",
    "extra_params": "token_params",
    "tls_verify": "validate_server_cert",
}
_ADMIN_ACCESS_FALSE = (
    "auth.admin.access: false no longer restricts admins: JupyterHub's admin role can always "
    "reach users' servers; define a narrower role in hub.loadRoles instead"
)


def _snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _import_class(dotted, key):
    module, _, name = dotted.rpartition(".")
    try:
        mod = __import__(module, fromlist=[name])
        return getattr(mod, name)
    except (ImportError, AttributeError, ValueError) as e:
        raise ConfigError(f"{key}: cannot import {dotted!r}: {e}") from None


def _legacy_section(auth):
    """The auth.* section holding the authenticator's settings: auth.<type>,
    or auth.github for the seed guide's CILogon example."""
    auth_type = auth.get("type")
    if auth_type == "cilogon" and auth.get("cilogon") is None and auth.get("github") is not None:
        return "github"
    return auth_type


def legacy_auth_config():
    """Translate the seed guide's auth.* keys into hub.config form.

    Returns a dict {Section: {trait: value}} (empty without auth.*). Each key
    in use is logged with its current spelling, as NOTES.txt shows it.
    """
    auth = _typed("auth", dict, {})
    out = {}

    def put(section, trait, value, key, shown=None):
        out.setdefault(section, {})[trait] = value
        today = f"hub.config.{section}.{trait}" + (f": {shown}" if shown else "")
        log.warning("%s is an old spelling; today: %s", key, today)

    # A provider section another type would read is ignored by this one: refuse it.
    read = _legacy_section(auth)
    for section in sorted([*_LEGACY_AUTHENTICATORS, "custom"]):
        if auth.get(section) is not None and section != read:
            raise ConfigError(
                f"auth.{section} is only read with auth.type: {section} "
                f"(auth.type is {auth.get('type') or 'not set'})"
            )
    if auth.get("type") == "custom":
        _legacy_custom_authenticator(put)
    elif auth.get("type") is not None:
        _legacy_authenticator(auth, put)
    _legacy_auth_common(auth, put)
    return out


def _legacy_custom_authenticator(put):
    """auth.type custom: auth.custom.className and its auth.custom.config."""
    class_name = _typed("auth.custom.className", str)
    if not class_name:
        raise ConfigError("auth.custom.className must name the authenticator class")
    stray = sorted(set(_typed("auth.custom", dict, {})) - {"className", "config"})
    if stray:
        # The seed guide's OpenID Connect example: settings beside className.
        keys = ", ".join(f"auth.custom.{k}" for k in stray)
        raise ConfigError(f"{keys}: not read; the settings go under auth.custom.config")
    cls = _import_class(class_name, "auth.custom.className")
    section, traits = cls.__name__, cls.class_traits(config=True)
    oauth = class_name.startswith("oauthenticator.")
    put("JupyterHub", "authenticator_class", class_name, "auth.type", class_name)
    for name, value in _typed("auth.custom.config", dict, {}).items():
        key = f"auth.custom.config.{name}"
        if oauth and name == "userdata_method":
            # Removed from oauthenticator, which always uses GET.
            if str(value).upper() != "GET":
                raise ConfigError(
                    f"{key} is {value!r}, but oauthenticator always fetches user data with GET"
                )
            log.warning(
                "%s is no longer a setting (oauthenticator always fetches user data with GET); "
                "remove it",
                key,
            )
            continue
        trait = _OAUTH_RENAMED.get(name, name) if oauth else name
        if trait not in traits:
            raise ConfigError(f"{key} is not a setting of {section}")
        put(section, trait, value, key)


def _legacy_authenticator(auth, put):
    """auth.type github/google/...: the class, and auth.<type>.* as its traits."""
    auth_type = auth["type"]
    if auth_type not in _LEGACY_AUTHENTICATORS:
        known = ", ".join(sorted([*_LEGACY_AUTHENTICATORS, "custom"]))
        raise ConfigError(
            f"auth.type {auth_type!r} is not supported (known: {known}); set "
            "hub.config.JupyterHub.authenticator_class and hub.config.<Class>.* instead"
        )
    name, class_name = _LEGACY_AUTHENTICATORS[auth_type]
    cls = _import_class(class_name, "auth.type")
    section, traits = cls.__name__, cls.class_traits(config=True)
    put("JupyterHub", "authenticator_class", class_name, "auth.type", name)
    block_key = f"auth.{_legacy_section(auth)}"
    block = auth.get(_legacy_section(auth))
    if not isinstance(block or {}, dict):
        raise ConfigError(f"{block_key} must be a mapping, not {block!r}")
    restricted = False
    for name, value in (block or {}).items():
        trait = _LEGACY_AUTH_KEYS.get(name, _snake(name))
        if trait not in traits:
            raise ConfigError(f"{block_key}.{name} is not a setting of {section}")
        if trait == "hosted_domain" and isinstance(value, str):
            value = [value]
        restricted |= trait.startswith("allowed_")
        put(section, trait, value, f"{block_key}.{name}")
    if auth_type != "dummy" and not restricted and not _typed("auth.whitelist.users", list):
        # The seed guide: without a whitelist any account may log in. Today's
        # authenticators refuse everyone unless told.
        put(section, "allow_all", True, f"auth.type: {auth_type} (no whitelist)", "true")


def _legacy_auth_common(auth, put):
    """auth.scopes, auth.whitelist, auth.admin and auth.state."""
    if auth.get("scopes") is not None:
        put("OAuthenticator", "scope", _typed("auth.scopes", list), "auth.scopes")
    for key, section, trait in [
        ("auth.whitelist.users", "Authenticator", "allowed_users"),
        ("auth.admin.users", "Authenticator", "admin_users"),
    ]:
        users = _typed(key, list)
        if users is not None:
            put(section, trait, set(users), key)
    access = _typed("auth.admin.access", bool)
    if access is not None:
        put("JupyterHub", "admin_access", access, "auth.admin.access", str(access).lower())
        if not access:
            log.warning(_ADMIN_ACCESS_FALSE)
    state = _typed("auth.state.enabled", bool)
    if state is not None:
        put("Authenticator", "enable_auth_state", state, "auth.state.enabled", str(state).lower())


# ---------------------------------------------------------------- services and roles


def culler_service(hub_api_base):
    """The idle culler as a hub-managed service with only the scopes it needs.

    Returns (service, role), or (None, None) when cull.enabled is false.
    """
    if not _typed("cull.enabled", bool, True):
        return None, None
    base_url = _typed("hub.baseUrl", str, "/")
    command = [
        sys.executable,
        "-m",
        "jupyterhub_idle_culler",
        f"--url={hub_api_base}{base_url.rstrip('/')}/hub/api",
    ]
    scopes = ["list:users", "read:users:activity", "read:servers", "delete:servers"]
    for key, flag in [
        ("cull.timeout", "timeout"),
        ("cull.every", "cull-every"),
        ("cull.concurrency", "concurrency"),
        ("cull.maxAge", "max-age"),
    ]:
        value = _non_negative_int(key)
        if value is not None:
            command.append(f"--{flag}={value}")
    if _typed("cull.users", bool, False):
        command.append("--cull-users=True")
        scopes.append("admin:users")  # to delete the users it culls
    if not _typed("cull.adminUsers", bool, True):
        command.append("--cull-admin-users=False")
    if _typed("cull.removeNamedServers", bool, False):
        command.append("--remove-named-servers=True")
    service = {"name": "jupyterhub-idle-culler", "command": command}
    role = {
        "name": "jupyterhub-idle-culler",
        "description": "Stop idle servers (the chart's cull.* settings)",
        "scopes": scopes,
        "services": ["jupyterhub-idle-culler"],
    }
    return service, role


def hub_services():
    """hub.services (a dict so values files merge); tokens come from the Secret."""
    services = []
    for name, spec in sorted(_typed("hub.services", dict, {}).items()):
        if not isinstance(spec, dict):
            raise ConfigError(f"hub.services.{name} must be a mapping, not {spec!r}")
        service = {k: v for k, v in spec.items() if k != "apiToken"}
        service.setdefault("name", name)
        token = get_secret_value(f"hub.services.{name}.apiToken", None) or spec.get("apiToken")
        if token:
            service["api_token"] = token.strip()
        services.append(service)
    return services


def hub_roles():
    roles = []
    for name, spec in sorted(_typed("hub.loadRoles", dict, {}).items()):
        if not isinstance(spec, dict):
            raise ConfigError(f"hub.loadRoles.{name} must be a mapping, not {spec!r}")
        roles.append({"name": name, **spec})
    return roles


def configure_services_and_roles(c, hub_api_base):
    services, roles = hub_services(), hub_roles()
    culler, culler_role = culler_service(hub_api_base)
    if culler:
        services.insert(0, culler)
        roles.insert(0, culler_role)
    # Plain lists, so hub.extraConfig can append to them.
    c.JupyterHub.services = services
    c.JupyterHub.load_roles = roles


# ---------------------------------------------------------------- escape hatches

# Secrets are set from the Secret's own keys (hub.existingSecret first), not
# from their copies in values.yaml.
_SECRET_TRAITS = {
    ("JupyterHub", "cookie_secret"),
    ("ConfigurableHTTPProxy", "auth_token"),
    ("CryptKeeper", "keys"),
}


def apply_hub_config(c, legacy_auth):
    """hub.config passes traitlets config through, over the chart's own
    settings. Seed-era auth.* keys, translated, win over it (the chart's
    default authenticator_class must not hide a user's auth.type)."""
    hub_config = _typed("hub.config", dict, {})
    merged = {}
    for section, settings in hub_config.items():
        if not section[:1].isupper():
            raise ConfigError(
                f"hub.config.{section}: sections are class names like JupyterHub or KubeSpawner"
            )
        if not isinstance(settings, dict):
            raise ConfigError(f"hub.config.{section} must be a mapping, not {settings!r}")
        merged[section] = {k: v for k, v in settings.items() if (section, k) not in _SECRET_TRAITS}
    for section, settings in legacy_auth.items():
        for trait, value in settings.items():
            old = merged.get(section, {}).get(trait)
            # (not for the chart's own defaults of these two)
            chart_default = {"authenticator_class": "dummy", "admin_access": True}.get(trait)
            if old is not None and old != value and old != chart_default:
                log.warning("auth.* overrides hub.config.%s.%s (%r)", section, trait, old)
            merged.setdefault(section, {})[trait] = value
    # Services and roles add to the chart's (the culler's), not replace them.
    hub_section = merged.get("JupyterHub", {})
    for trait in ("services", "load_roles"):
        if trait in hub_section:
            extra = hub_section.pop(trait)
            if not isinstance(extra, list):
                raise ConfigError(f"hub.config.JupyterHub.{trait} must be a list, not {extra!r}")
            c.JupyterHub[trait] = [*c.JupyterHub[trait], *extra]
    c.merge(Config(merged))


def run_user_code(code, where, namespace):
    """exec() user code in this file's namespace; an error names where it came from."""
    filename = where if where.endswith(".py") else f"<{where}>"
    try:
        exec(compile(code, filename, "exec"), namespace)
    except Exception as e:
        line = f" (line {e.lineno})" if isinstance(e, SyntaxError) and e.lineno else ""
        tb = e.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == filename:
                line = f" (line {tb.tb_lineno})"
            tb = tb.tb_next
        raise ConfigError(f"{where}{line} failed: {type(e).__name__}: {e}") from e


def load_config_d(namespace):
    """Run jupyterhub_config.d/*.py (e.g. from hub.extraFiles) in name order."""
    folder = config_root() / "jupyterhub_config.d"
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.py")):
        log.info("Loading %s", path)
        run_user_code(path.read_text(), str(path), namespace)


def run_extra_config(namespace):
    """hub.extraConfig: a string, or a dict run in sorted key order."""
    extra = _get("hub.extraConfig", {})
    snippets = {"": extra} if isinstance(extra, str) else extra
    if not isinstance(snippets, dict):
        raise ConfigError(f"hub.extraConfig must be a string or a mapping, not {extra!r}")
    for key in sorted(snippets):
        where = f"hub.extraConfig.{key}" if key else "hub.extraConfig"
        code = snippets[key]
        if not code:
            continue
        if not isinstance(code, str):
            raise ConfigError(f"{where} must be Python code as a string, not {code!r}")
        log.info("Loading %s", where)
        run_user_code(code, where, namespace)


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
    if profiles == _get("singleuser.profileList"):
        where = "singleuser.profileList"
    if callable(profiles):
        c.KubeSpawner.profile_list = profile_check.checked_callable(
            profiles, where, _profile_error, _spawner_traits()
        )
        return
    found = profile_check.problems(profiles, where, _spawner_traits())
    if found:
        raise ConfigError("; ".join(found))


# ---------------------------------------------------------------- apply


def configure(c, namespace):
    hub_api_base = hub_bind(c)
    configure_hub(c)
    configure_proxy(c)
    configure_database(c)
    configure_secrets(c)
    configure_spawner(c)
    configure_services_and_roles(c, hub_api_base)
    apply_hub_config(c, legacy_auth_config())
    load_config_d(namespace)
    run_extra_config(namespace)
    check_profile_list(c)


try:
    configure(c, globals())
except ConfigError as e:
    if e.__cause__ is not None:
        raise  # an error in users' code: its traceback helps them
    # A bad value or file: the one line naming it says everything.
    raise SystemExit(f"Hub configuration error: {e}") from None
