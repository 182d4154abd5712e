"""Kubernetes resource quantities ("500m", "1Gi", "1G", "1e3") as exact numbers.

The scheduler compares requests with node allocatable in integer units the way
the real one does: cpu in millicores, everything else in whole units (bytes for
memory), rounding fractional values up.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:\d+\.?\d*|\.\d+))"
    r"(?:(?P<exp>[eE][+-]?\d+)|(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$"
)


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity."""


def parse_quantity(value: str | int | float) -> Fraction:
    """Parse a quantity into an exact number of base units (cores, bytes, ...)."""
    if isinstance(value, bool):
        raise QuantityError(f"quantity {value!r} is a boolean; use a number or a string like '1Gi'")
    if isinstance(value, int | float):
        return Fraction(str(value))
    match = _QUANTITY.match(str(value).strip())
    if not match:
        raise QuantityError(
            f"quantity {value!r} is not valid; expected a number with an optional suffix "
            "(n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei) or exponent (e.g. 1e3)"
        )
    number = Fraction(match["number"])
    if match["exp"]:
        return number * Fraction(10) ** int(match["exp"][1:])
    suffix = match["suffix"] or ""
    return number * (_BINARY[suffix] if suffix in _BINARY else _DECIMAL[suffix])


def milli_value(value: str | int | float) -> int:
    """The quantity in thousandths, rounded up (cpu "250m" -> 250)."""
    return math.ceil(parse_quantity(value) * 1000)


def int_value(value: str | int | float) -> int:
    """The quantity in whole units, rounded up (memory "1Ki" -> 1024)."""
    return math.ceil(parse_quantity(value))


def resource_units(resource: str, value: str | int | float) -> int:
    """Integer units the scheduler accounts in: millicores for cpu, whole units otherwise."""
    return milli_value(value) if resource == "cpu" else int_value(value)
