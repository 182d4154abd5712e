"""Read the chart's values and resource names from the files mounted in the hub pod.

`jupyterhub_config.py` uses this module, and so may users' `hub.extraConfig`
(`from z2jh import get_config`). Everything lives under one root directory,
`/usr/local/etc/jupyterhub` in the image, overridden by `Z2JH_CONFIG_ROOT`:

    config/resource-names.yaml   ConfigMap `hub`: short name -> rendered name
    config/legacy-keys.json      ConfigMap `hub`: the seed-era renames
    secret/values.yaml           Secret `hub`: the chart's values
    secret/<dotted.key>          Secret `hub`: one file per generated secret
    existing-secret/...          `hub.existingSecret`, same layout, wins
    jupyterhub_config.d/*.py     extra config files, loaded in sorted order
"""

import copy
import functools
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

import yaml

DEFAULT_ROOT = "/usr/local/etc/jupyterhub"
# libyaml's loader when PyYAML has it: the values file is large.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MISSING = object()
log = logging.getLogger("JupyterHub")

__all__ = [
    "ConfigError",
    "config_root",
    "get_config",
    "get_name",
    "get_name_env",
    "get_secret_value",
    "legacy_tables",
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
    # The chart's values come translated; hub.existingSecret's never passed
    # through helm, so the merged values get the same translation here.
    return translate_legacy(values, _legacy_tables(root))


@functools.cache
def _legacy_tables(root):
    return _load_yaml(root / "config" / LEGACY_KEYS, LEGACY_PURPOSE)


def legacy_tables():
    """The chart's seed-era tables (files/legacy-keys.json): `keys`, the
    renames; `auth`, the auth.* tables (types, keys, oauthRenamed)."""
    return _legacy_tables(config_root())


# ---------------------------------------------------------------- seed-era keys

LEGACY_KEYS = "legacy-keys.json"
LEGACY_PURPOSE = "the seed-era renames (ConfigMap `hub`, from the chart's files/legacy-keys.json)"


def _legacy_text(value):
    """An old value as the table's map keys and the messages spell it."""
    return json.dumps(value) if isinstance(value, bool | int | float) else str(value)


def _in_use(value):
    return value is not None and not (isinstance(value, Mapping) and not value)


def _parent(tree, parts, make):
    """The mapping holding parts[-1] (made on the way with `make`), or None."""
    for part in parts[:-1]:
        if not isinstance(tree.get(part), Mapping):
            if not make:
                return None
            tree[part] = {}
        tree = tree[part]
    return tree


def _legacy_value(key, how, old, mapping):
    """Today's value from the old one alone (the `and` of `and` comes later)."""
    if how in ("not", "and") and not isinstance(old, bool):
        raise _BadValue(f"{key} must be a true or false, not {old!r}")
    if how in ("mergeOver", "mergeUnder") and not isinstance(old, Mapping):
        raise _BadValue(f"{key} must be a mapping, not {old!r}")
    if how == "map":
        if _legacy_text(old) not in mapping:
            raise _BadValue(f"{key} is {old!r}; it must be one of: {', '.join(mapping)}")
        return mapping[_legacy_text(old)]
    return (not old) if how == "not" else old


def _apply_target(values, key, target, old):
    """Sets today's key of one target; returns its "today:" phrase (or None)."""
    to, how = target["to"], target["how"]
    new = _legacy_value(key, how, old, target.get("map", {}))
    parts = to.split(".")
    parent = _parent(values, parts, make=True)
    today = parent.get(parts[-1])
    if how in ("mergeOver", "mergeUnder"):
        if today is not None and not isinstance(today, Mapping):
            raise _BadValue(f"{to} must be a mapping ({key} merges into it), not {today!r}")
        under, over = (today or {}, new) if how == "mergeOver" else (new, today or {})
        parent[parts[-1]] = _merge(under, over)
        return to
    if new is None:  # a map's null: nothing to set for this value
        return None
    if how == "set" or (how == "default" and not today):
        parent[parts[-1]] = new
    elif how == "and":
        parent[parts[-1]] = today and new  # as Go's `and`: the first false one
    elif how in ("not", "map"):
        parent[parts[-1]] = new
    return f"{to}: {_legacy_text(new)}"


def translate_legacy(values, table):
    """`values` with the table's seed-era keys translated to today's, as the
    chart's "jupyterhub.legacy.apply" does (hows: the table's `hows`). A key
    whose today's spelling only the chart can act on is refused, naming it."""
    values = copy.deepcopy(dict(values))
    for entry in table.get("keys", []):
        key = entry["key"]
        parts = key.split(".")
        parent = _parent(values, parts, make=False)
        if parent is None or parts[-1] not in parent:
            continue
        old = parent.pop(parts[-1])
        if not _in_use(old):
            continue
        if entry["existingSecret"] == "refuse":
            # (the chart's own values never hold one); a bad value says so first
            today = [
                f"{t['to']}: {_legacy_text(_legacy_value(key, t['how'], old, t.get('map', {})))}"
                for t in entry["targets"]
            ]
            raise _BadValue(
                f"{key} (in hub.existingSecret) is not read there: today it is "
                f"{' and '.join(today)}, which the chart acts on; set it in the chart's values"
            )
        today = [_apply_target(values, key, t, old) for t in entry["targets"]]
        log.warning("%s is an old spelling; today: %s", key, " and ".join(filter(None, today)))
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
