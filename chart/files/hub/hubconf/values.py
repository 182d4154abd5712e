"""Typed access to the chart's values (read by z2jh): a value of the wrong
type, or a section that is not a mapping, stops the hub naming its key."""

from collections.abc import Mapping

from z2jh import ConfigError, get_config

__all__ = ["ConfigError", "as_list", "choice", "get_value", "non_negative_int", "typed"]

_TYPE_NAMES = {
    bool: "true or false",
    int: "whole number",
    float: "number",
    str: "string",
    list: "list",
    dict: "mapping",
}


def get_value(key, default=None):
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


def typed(key, types, default=None):
    """The value at `key`, checked to be one of `types` (or unset)."""
    types = types if isinstance(types, tuple) else (types,)
    value = get_value(key, default)
    # YAML's true/false are ints to Python; only accept them as booleans.
    wrong_bool = isinstance(value, bool) and bool not in types
    if value is not None and (wrong_bool or not isinstance(value, types)):
        # (a float may also be written as a whole number)
        expected = " or ".join(_TYPE_NAMES[t] for t in types if not (t is int and float in types))
        raise ConfigError(f"{key} must be a {expected}, not {value!r}")
    return value


def choice(key, choices, default):
    value = get_value(key, default)
    if value not in choices:
        names = ", ".join(str(choice) for choice in choices if choice is not None)
        raise ConfigError(f"{key} is {value!r}; it must be one of: {names}")
    return value


def non_negative_int(key, default=None):
    value = typed(key, int, default)
    if isinstance(value, bool) or (value is not None and value < 0):
        raise ConfigError(f"{key} must be a whole number >= 0, not {value!r}")
    return value


def as_list(key, value, name_from_key=False):
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
