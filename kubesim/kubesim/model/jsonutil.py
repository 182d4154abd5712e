"""Helpers for JSON-shaped data (dicts, lists, scalars) shared by the store's modules."""

from __future__ import annotations

from typing import Any


def _clone_py(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clone_py(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone_py(v) for v in value]
    return value


try:
    import orjson

    # types orjson would quietly turn into strings or dicts raise instead
    # (and so take the Python walk): a clone must keep every value's type
    _EXACT = (
        orjson.OPT_PASSTHROUGH_DATETIME
        | orjson.OPT_PASSTHROUGH_DATACLASS
        | orjson.OPT_PASSTHROUGH_SUBCLASS
    )

    def clone(value: Any) -> Any:
        """Deep copy of JSON-shaped data (dicts, lists, scalars).

        An orjson round trip is about 2.5x faster than walking the object in
        Python (~5x faster than deepcopy), and cloning is what the store does
        most under a burst of pods. What orjson cannot encode losslessly
        (integers beyond 64 bits, non-string keys, non-JSON types) takes
        the Python walk, which copies it as it is; a tuple comes back a list,
        as it would from the API.
        """
        if not isinstance(value, dict | list):
            return value
        try:
            return orjson.loads(orjson.dumps(value, option=_EXACT))
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            return _clone_py(value)

except ImportError:  # orjson is an optional speed-up
    clone = _clone_py
