"""Read the chart's values and resource names from the files mounted in the hub pod.

`jupyterhub_config.py` uses this module, and so may users' `hub.extraConfig`
(`from z2jh import get_config`). Everything lives under one root directory,
`/usr/local/etc/jupyterhub` in the image, overridden by `Z2JH_CONFIG_ROOT`:

    config/resource-names.yaml   ConfigMap `hub`: short name -> rendered name
    secret/values.yaml           Secret `hub`: the chart's values
    secret/<dotted.key>          Secret `hub`: one file per generated secret
    existing-secret/...          `hub.existingSecret`, same layout, wins
    jupyterhub_config.d/*.py     extra config files, loaded in sorted order
"""

import functools
import os
from collections.abc import Mapping
from pathlib import Path

import yaml

DEFAULT_ROOT = "/usr/local/etc/jupyterhub"
# libyaml's loader when PyYAML has it: the values file is large.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MISSING = object()

__all__ = [
    "ConfigError",
    "config_root",
    "get_config",
    "get_name",
    "get_name_env",
    "get_secret_value",
    "set_config_if_not_none",
]


class ConfigError(ValueError):
    """The mounted configuration is missing, malformed, or has a bad value.

    The message names the file and the key; we raise it without the chained
    parser traceback so the hub log shows what to fix, not where it broke.
    """


class _BadValue(ConfigError):
    """A value of the right file is wrong; its message names the key already."""


def config_root():
    return Path(os.environ.get("Z2JH_CONFIG_ROOT") or DEFAULT_ROOT)


def _load_yaml(path, purpose):
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path} is missing; it should hold {purpose}") from None
    except OSError as e:
        raise ConfigError(
            f"{path} cannot be read ({e.strerror}); it should hold {purpose}"
        ) from None
    try:
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        problem = getattr(e, "problem", None) or e
        raise ConfigError(f"{path} is not valid YAML{line}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path} must hold a mapping, not a {type(data).__name__}")
    return data


def _merge(base, override):
    """Deep-merge two mappings; `override` wins, mappings merge recursively."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@functools.cache
def _values(root):
    values = _load_yaml(root / "secret" / "values.yaml", "the chart's values (Secret `hub`)")
    existing = root / "existing-secret" / "values.yaml"
    if existing.exists():
        values = _merge(values, _load_yaml(existing, "values from hub.existingSecret"))
    # The seed guide's `hub.extraConfigMap` is read as `custom.*`; today's
    # top-level `custom` wins where both set a key. (A `hub` that is not a
    # mapping is jupyterhub_config.py's to report.)
    hub = values.get("hub")
    legacy = hub.get("extraConfigMap") if isinstance(hub, Mapping) else None
    if legacy is not None and not isinstance(legacy, Mapping):
        raise _BadValue(f"hub.extraConfigMap must be a mapping, not {legacy!r}")
    if legacy:
        custom = values.get("custom")
        if custom is not None and not isinstance(custom, Mapping):
            raise _BadValue(
                f"custom must be a mapping (hub.extraConfigMap merges into it), not {custom!r}"
            )
        values = dict(values)
        values["custom"] = _merge(legacy, custom or {})
    return values


@functools.cache
def _resource_names(root):
    return _load_yaml(
        root / "config" / "resource-names.yaml", "the rendered resource names (ConfigMap `hub`)"
    )


def values():
    """All values as one mapping (hub.existingSecret merged over the chart's)."""
    return _values(config_root())


def get_config(key, default=None):
    """Value at a dotted key like `singleuser.memory.limit`, or `default` if unset.

    A key whose value is null counts as unset.
    """
    try:
        value = values()
    except _BadValue:
        raise
    except ConfigError as e:
        raise ConfigError(f"{e} (reading {key})") from None
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return default
        value = value[part]
    return default if value is None else value


def set_config_if_not_none(parent, name, key):
    """Set `parent.name` from the value at `key`, unless that value is unset."""
    value = get_config(key)
    if value is not None:
        setattr(parent, name, value)


def get_secret_value(key, default=_MISSING):
    """A secret by its dotted key, from hub.existingSecret first, then Secret `hub`."""
    root = config_root()
    for source in ("existing-secret", "secret"):
        path = root / source / key
        try:
            return path.read_text()
        except FileNotFoundError:
            continue
        except OSError as e:
            raise ConfigError(
                f"{path} cannot be read ({e.strerror}); it should hold the secret {key}"
            ) from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path} is not UTF-8 text; the secret {key} must be text") from None
    if default is not _MISSING:
        return default
    raise ConfigError(
        f"secret {key!r} is in neither {root / 'existing-secret'} nor {root / 'secret'}"
    )


def get_name(name):
    """The rendered name of a resource, by the short name the chart uses for it."""
    try:
        names = _resource_names(config_root())
    except ConfigError as e:
        raise ConfigError(f"{e} (reading the name of {name!r})") from None
    if name not in names:
        known = ", ".join(sorted(names)) or "none"
        raise ConfigError(
            f"{config_root() / 'config' / 'resource-names.yaml'} has no name for {name!r} "
            f"(it knows: {known})"
        )
    return names[name]


def get_name_env(name, suffix=""):
    """A variable Kubernetes injects for a Service, e.g. get_name_env("hub", "_SERVICE_PORT").

    The variable is named after the rendered Service name, upper-cased with
    `-` turned into `_` (Service `proxy-api` -> PROXY_API_SERVICE_PORT).
    """
    env_key = (get_name(name) + suffix).upper().replace("-", "_")
    if env_key not in os.environ:
        raise ConfigError(
            f"environment variable {env_key} (for Service {get_name(name)!r}) is not set; "
            "Kubernetes sets it for Services that exist when the pod starts"
        )
    return os.environ[env_key]
