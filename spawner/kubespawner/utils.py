"""General helpers that do not depend on the spawner: dict merging, format
expansion through nested structures, key case conversion, and awaiting values
that may or may not be awaitable."""

import copy
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


# ---- kubernetes model helpers (upstream's utils surface) ----------------------


def _get_k8s_model_attribute(model_type, key: str) -> str:
    """The python attribute of ``model_type`` for an API field name
    (``nodeSelector``) or an attribute name (``node_selector``)."""
    if key in model_type.attribute_map:
        return key
    for attribute, field in model_type.attribute_map.items():
        if field == key:
            return attribute
    raise ValueError(
        f"{model_type.__name__} has no field {key!r}; its fields are "
        f"{', '.join(sorted(model_type.attribute_map.values()))}"
    )


def _model_fields(model_type, value) -> dict:
    if isinstance(value, model_type):
        return {a: getattr(value, a) for a in model_type.attribute_map}
    if isinstance(value, Mapping):
        return {_get_k8s_model_attribute(model_type, k): v for k, v in value.items()}
    raise AttributeError(
        f"expected a dict or a {model_type.__name__}, got {type(value).__name__}: {value!r}"
    )


def get_k8s_model(model_type, model_dict):
    """A ``model_type`` (e.g. V1Toleration) from a dict (camelCase or
    snake_case keys; nested values are passed as they are) or from a model
    of that type (a copy is returned either way)."""
    value = copy.deepcopy(model_dict)
    if isinstance(value, model_type):
        return value
    return model_type(**_model_fields(model_type, value))


def update_k8s_model(target, changes, logger=None, target_name=None, changes_name=None):
    """Set the fields of model ``target`` (e.g. a V1PodSpec) from ``changes``,
    a dict (every key it has) or a model of the same type (its set fields).
    With ``logger`` and ``changes_name``, an overridden value is logged."""
    if not hasattr(target, "attribute_map"):
        raise AttributeError(
            f"update_k8s_model: target must be a kubernetes model (e.g. V1PodSpec), "
            f"got {type(target).__name__}"
        )
    model_type = type(target)
    is_model = isinstance(changes, model_type)
    for attribute, value in _model_fields(model_type, copy.deepcopy(changes)).items():
        if is_model and not value:
            continue  # a model's unset fields are not changes
        current = getattr(target, attribute)
        if current and logger and changes_name:
            # one preformatted message: loggers written for upstream take one argument
            logger.info(
                f"'{target_name}.{attribute}' current value: '{current}' is overridden "
                f"with '{value}', which is the value of '{changes_name}.{attribute}'."
            )
        setattr(target, attribute, value)
    return target
