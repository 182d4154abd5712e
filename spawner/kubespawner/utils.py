"""General helpers that do not depend on the spawner: dict merging, format
expansion through nested structures, key case conversion, and awaiting values
that may or may not be awaitable."""

import inspect
import re
import string
from collections.abc import Callable, Mapping
from typing import Any


async def maybe_await(value):
    """Return ``value``, awaiting it first if it is awaitable (a hook or a
    config callable may be sync or async)."""
    if inspect.isawaitable(value):
        return await value
    return value


async def resolve_callable(value, *args):
    """Call ``value`` with ``args`` if it is callable (awaiting the result when
    the callable is async); otherwise return it unchanged."""
    if callable(value):
        return await maybe_await(value(*args))
    return value


def recursive_update(target: dict, new: Mapping) -> dict:
    """Merge ``new`` into ``target`` in place, descending into nested dicts.

    A value of None in ``new`` removes that key from ``target``: that is how a
    profile override unsets something the base config set.
    """
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            recursive_update(target[key], value)
        elif value is None:
            target.pop(key, None)
        else:
            target[key] = value
    return target


class _Formatter(string.Formatter):
    """str.format that leaves unknown ``{fields}`` untouched, so templates may
    carry literal braces meant for something else (e.g. shell ``${HOME}``)."""

    def get_value(self, key, args, kwargs):
        if isinstance(key, str) and key not in kwargs:
            raise _Unknown(key)
        return super().get_value(key, args, kwargs)


class _Unknown(KeyError):
    pass


_formatter = _Formatter()


def format_template(template: str, fields: Mapping[str, Any]) -> str:
    """Expand ``{field}`` references in ``template`` from ``fields``.

    An unknown field raises a KeyError naming the field and the known ones,
    which is clearer than str.format's bare ``KeyError: 'x'``.
    """
    try:
        return _formatter.vformat(template, (), fields)
    except _Unknown as e:
        raise KeyError(
            f"unknown template field {{{e.args[0]}}} in {template!r}; "
            f"known fields: {', '.join(sorted('{' + k + '}' for k in fields))}"
        ) from None


_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def lenient_format(template: str, fields: Mapping[str, Any]) -> str:
    """Like format_template, but a string that is not a valid template for
    ``fields`` (JSON, shell ``${VAR}``, unknown names) keeps everything except
    the known ``{field}`` references literal."""
    try:
        return _formatter.vformat(template, (), fields)
    except (KeyError, ValueError, IndexError, AttributeError):
        return _FIELD.sub(
            lambda m: str(fields[m.group(1)]) if m.group(1) in fields else m.group(0), template
        )


def recursive_format(value: Any, fields: Mapping[str, Any]) -> Any:
    """Expand templates in every string inside ``value`` (dict keys and
    values, list items) with lenient_format; other values pass through."""
    if isinstance(value, str):
        return lenient_format(value, fields)
    if isinstance(value, Mapping):
        return {recursive_format(k, fields): recursive_format(v, fields) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [recursive_format(v, fields) for v in value]
    return value


_SNAKE_WORD = re.compile(r"_([a-z0-9])")


def snake_to_camel(name: str) -> str:
    """``dns_policy`` -> ``dnsPolicy``; camelCase input is returned unchanged."""
    return _SNAKE_WORD.sub(lambda m: m.group(1).upper(), name)


def camelize_keys(value: Any, *, preserve: Callable[[str], bool] | None = None) -> Any:
    """Convert snake_case dict keys to camelCase, recursively.

    Keys under maps whose keys are user data (labels, annotations, node
    selectors, resource names, ...) must not be touched; ``_USER_KEYED`` lists
    the field names whose *values* are such maps.
    """
    if isinstance(value, list):
        return [camelize_keys(v) for v in value]
    if not isinstance(value, Mapping):
        return value
    out = {}
    for key, item in value.items():
        new_key = snake_to_camel(key) if isinstance(key, str) else key
        if new_key in _USER_KEYED and isinstance(item, Mapping):
            out[new_key] = dict(item)
        else:
            out[new_key] = camelize_keys(item)
    return out


# Kubernetes fields whose value is a map keyed by user data, not by field names.
_USER_KEYED = frozenset(
    {
        "labels",
        "annotations",
        "nodeSelector",
        "matchLabels",
        "limits",
        "requests",
        "data",
        "stringData",
        "binaryData",
        "overhead",
        "volumeAttributes",
    }
)
