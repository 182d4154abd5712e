"""Build what the hub pod sees from a rendered chart, and load the hub config.

render() runs real `helm template`; HubPod picks the hub's Secret, ConfigMap
and Deployment env out of the manifests; materialise() writes them under a
Z2JH_CONFIG_ROOT laid out as in the pod; load_hub_config() loads
jupyterhub_config.py with traitlets' PyFileConfigLoader, the loader
JupyterHub's own `load_config_file` uses.
"""

import base64
import contextlib
import copy
import functools
import logging
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from traitlets.config.loader import PyFileConfigLoader

from localdeploy.paths import HUB_CONFIG_DIR, load_shipped_module  # noqa: F401 (the suites' loader)
from testsupport import helm

REPO = Path(__file__).resolve().parents[2]
HUB_CONFIG = HUB_CONFIG_DIR  # the hub configuration the chart ships (chart/files/hub)

CONFIG_ROOT = "/usr/local/etc/jupyterhub"
CHART = REPO / "chart"
HELM = REPO / ".bin" / "helm"
VALUES = Path(__file__).resolve().parent / "values"

RELEASE = "jhub"
NAMESPACE = "jhub-ns"

# Variables the config reads that a test must not inherit from the outside.
_HUB_ENV_PATTERN = re.compile(
    r".*_SERVICE_(HOST|PORT)(_.*)?$|Z2JH_CONFIG_ROOT|POD_NAMESPACE|HELM_RELEASE_NAME|"
    r"CONFIGPROXY_AUTH_TOKEN|MYSQL_PWD|PGPASSWORD|JUPYTERHUB_CRYPT_KEY|JPY_COOKIE_SECRET"
)


def render(values_files=(), set_values=(), release=RELEASE, namespace=NAMESPACE):
    """`helm template` the chart (`set_values`: --set items, helm's own API
    version); returns the list of manifests, a copy the caller may change
    (testsupport.helm caches the render), and raises RuntimeError with
    helm's message."""
    rendered = helm.render(
        values_files, release=release, namespace=namespace, sets=set_values, kube_version=None
    )
    return copy.deepcopy(list(rendered.docs))


def _find(manifests, kind, name):
    for doc in manifests:
        if doc.get("kind") == kind and doc["metadata"]["name"] == name:
            return doc
    return None


def _secret_data(secret):
    data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    data.update(secret.get("stringData") or {})
    return data


@dataclass
class HubPod:
    """What the hub container gets: files for the config root, and env."""

    secret: dict
    config: dict
    env: dict
    existing_secret: dict = field(default_factory=dict)
    # {path under the config root: text}: what the chart's volumes mount there
    mounted: dict = field(default_factory=dict)

    @property
    def values(self):
        return yaml.safe_load(self.secret["values.yaml"])


def service_env(manifests, host_for):
    """The *_SERVICE_HOST/PORT variables Kubernetes injects for each Service."""
    env = {}
    for doc in manifests:
        if doc.get("kind") != "Service":
            continue
        prefix = doc["metadata"]["name"].upper().replace("-", "_")
        ports = doc["spec"].get("ports") or []
        env[f"{prefix}_SERVICE_HOST"] = host_for(doc["metadata"]["name"])
        if ports:
            env[f"{prefix}_SERVICE_PORT"] = str(ports[0]["port"])
            for port in ports:
                if port.get("name"):
                    env[f"{prefix}_SERVICE_PORT_{port['name'].upper().replace('-', '_')}"] = str(
                        port["port"]
                    )
    return env


def _cluster_ip(name, _ips={}):  # noqa: B006 - a stable fake ClusterIP per Service
    return _ips.setdefault(name, f"10.96.0.{len(_ips) + 10}")


def hub_pod(manifests, namespace=NAMESPACE, host_for=_cluster_ip):
    """The hub Secret, ConfigMap and container env from rendered manifests."""
    secret = _find(manifests, "Secret", _hub_name(manifests))
    if secret is None:
        raise LookupError("the rendered chart has no hub Secret")
    configmap = _find(manifests, "ConfigMap", _hub_name(manifests)) or {}
    deployment = _find(manifests, "Deployment", _hub_name(manifests))
    secrets = {
        d["metadata"]["name"]: _secret_data(d) for d in manifests if d.get("kind") == "Secret"
    }
    configmaps = {
        d["metadata"]["name"]: d.get("data") or {}
        for d in manifests
        if d.get("kind") == "ConfigMap"
    }
    env = service_env(manifests, host_for)
    container = next(
        c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "hub"
    )
    for item in container.get("env") or []:
        env[item["name"]] = _env_value(item, namespace, secrets, configmaps)
    pod_spec = deployment["spec"]["template"]["spec"]
    return HubPod(
        secret=_secret_data(secret),
        config=configmap.get("data") or {},
        env=env,
        mounted=mounted_files(pod_spec, container, secrets, configmaps),
    )


def _volume_files(volume, secrets, configmaps):
    """{path in the volume: text} of a Secret or ConfigMap volume, as the
    kubelet writes it (only `items`, at their paths, when given)."""
    if "configMap" in volume:
        data = configmaps[volume["configMap"]["name"]]
        items = volume["configMap"].get("items")
    elif "secret" in volume:
        data = secrets.get(volume["secret"]["secretName"], {})
        items = volume["secret"].get("items")
    else:
        return None
    if not items:
        return dict(data)
    return {item["path"]: data[item["key"]] for item in items}


def mounted_files(pod_spec, container, secrets, configmaps, root=CONFIG_ROOT):
    """What the hub container sees under `root` from the chart's Secret and
    ConfigMap volumes (subPath included): {relative path: text}."""
    volumes = {v["name"]: v for v in pod_spec.get("volumes") or []}
    files = {}
    for mount in container.get("volumeMounts") or []:
        target = mount["mountPath"].rstrip("/")
        if not target.startswith(root + "/"):
            continue
        content = _volume_files(volumes[mount["name"]], secrets, configmaps)
        if content is None:
            continue
        sub = mount.get("subPath", "")
        where = target[len(root) + 1 :]
        for path, text in content.items():
            if sub and path == sub:
                files[where] = text
            elif not sub or path.startswith(sub + "/"):
                inner = path[len(sub) + 1 :] if sub else path
                files[f"{where}/{inner}"] = text
    return files


def _hub_name(manifests):
    for doc in manifests:
        if doc.get("kind") == "Deployment" and (
            doc["metadata"].get("labels", {}).get("component") == "hub"
            or doc["metadata"]["name"].endswith("hub")
        ):
            return doc["metadata"]["name"]
    return "hub"


def _env_value(item, namespace, secrets, configmaps):
    if "value" in item:
        return str(item["value"])
    source = item.get("valueFrom") or {}
    if "fieldRef" in source:
        path = source["fieldRef"]["fieldPath"]
        return {
            "metadata.namespace": namespace,
            "metadata.name": "hub-0",
            "status.podIP": "10.0.0.5",
        }[path]
    for ref_kind, store in (("secretKeyRef", secrets), ("configMapKeyRef", configmaps)):
        if ref_kind in source:
            ref = source[ref_kind]
            return store.get(ref["name"], {}).get(ref["key"], "")
    return ""


def materialise(
    pod, root, existing_values=None, existing_files=None, config_d=None, image_files=None
):
    """Lay out Z2JH_CONFIG_ROOT as the hub pod has it: the image's own files
    (`image_files`, {path: text}; none by default, which shows that the
    chart's mounts carry every file the hub needs), then what the rendered
    Deployment mounts there, over them."""
    root = Path(root)
    for files in (image_files or {}, pod.mounted):
        for path, text in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text)
    if existing_values is not None or existing_files:
        (root / "existing-secret").mkdir(parents=True, exist_ok=True)
        if existing_values is not None:
            text = yaml.safe_dump(existing_values)
            (root / "existing-secret" / "values.yaml").write_text(text)
        for key, text in (existing_files or {}).items():
            (root / "existing-secret" / key).write_text(text)
    if config_d:
        (root / "jupyterhub_config.d").mkdir(parents=True, exist_ok=True)
        for name, text in config_d.items():
            (root / "jupyterhub_config.d" / name).write_text(text)
    return root


@contextlib.contextmanager
def hub_environment(env):
    """os.environ as in the hub pod, restored afterwards."""
    saved = dict(os.environ)
    saved_path = list(sys.path)
    for key in list(os.environ):
        if _HUB_ENV_PATTERN.fullmatch(key):
            del os.environ[key]
    os.environ.update(env)
    _forget_hub_modules()
    try:
        yield
    finally:
        # loading the config installs hubconf's JupyterHub patches into this process's
        # JupyterHub: the other tests get JupyterHub's own methods back
        if "hubconf" in sys.modules:
            for patch in sys.modules["hubconf"].JUPYTERHUB_PATCHES:
                patch.restore()
        os.environ.clear()
        os.environ.update(saved)
        sys.path[:] = saved_path
        _forget_hub_modules()


def _forget_hub_modules():
    """Each load imports z2jh and hubconf afresh from its own config root."""
    for name in list(sys.modules):
        if name == "z2jh" or name == "hubconf" or name.startswith("hubconf."):
            del sys.modules[name]


def load_hub_config(root, env):
    """Load root/jupyterhub_config.py as JupyterHub does; returns the Config."""
    env = {**env, "Z2JH_CONFIG_ROOT": str(root)}
    with hub_environment(env):
        loader = PyFileConfigLoader(
            "jupyterhub_config.py", path=str(root), log=logging.getLogger("JupyterHub")
        )
        return loader.load_config()


@contextlib.contextmanager
def raises_config_error(pattern):
    """Expect the hub config to stop on a bad value (SystemExit with one line),
    or on users' code (z2jh.ConfigError), with a message matching `pattern`.

    Each load imports z2jh afresh, so match on the class name, not identity.
    """
    try:
        yield
    except SystemExit as e:
        message = str(e.code)
        assert message.startswith("Hub configuration error: "), message
        assert re.search(pattern, message), f"{pattern!r} not in {message!r}"
    except ValueError as e:
        assert type(e).__name__ == "ConfigError", repr(e)
        assert e.__cause__ is not None, "bad values should exit with one line"
        assert re.search(pattern, str(e)), f"{pattern!r} not in {str(e)!r}"
    else:
        raise AssertionError(f"no ConfigError matching {pattern!r}")


@functools.cache
def _resolve_authenticator(name):
    from jupyterhub.app import JupyterHub
    from traitlets.config import Config

    return JupyterHub(
        config=Config({"JupyterHub": {"authenticator_class": name}})
    ).authenticator_class


def authenticator_class(config):
    """The class JupyterHub loads for c.JupyterHub.authenticator_class
    (entry point names resolved as JupyterHub does; memoised, as that scans
    every installed package's metadata)."""
    name = config.JupyterHub.get("authenticator_class", "default")
    return _resolve_authenticator(name)


def unknown_traits(config):
    """{section: [names]} of settings no class of that name has as a trait."""
    from jupyterhub.app import JupyterHub
    from jupyterhub.crypto import CryptKeeper
    from jupyterhub.proxy import ConfigurableHTTPProxy
    from jupyterhub.spawner import Spawner

    from kubespawner import KubeSpawner

    classes = {
        cls.__name__: cls
        for cls in (JupyterHub, Spawner, KubeSpawner, ConfigurableHTTPProxy, CryptKeeper)
    }
    for cls in authenticator_class(config).mro():
        if cls.__name__.endswith("Authenticator"):
            classes[cls.__name__] = cls
    unknown = {}
    for section in config:
        if section not in classes:
            unknown[section] = ["(no such class)"]
            continue
        names = sorted(set(config[section]) - set(classes[section].class_traits(config=True)))
        if names:
            unknown[section] = names
    return unknown
