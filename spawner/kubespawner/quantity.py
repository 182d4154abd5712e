"""Kubernetes resource quantities ("10Gi", "1.5G", "500M") as numbers, to
compare a configured claim size with the one a claim has."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_SUFFIXES = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
    "m": Decimal("0.001"),
}
# the API's quantity grammar: a signed decimal number, then a binary or
# decimal SI suffix or a decimal exponent (e.g. 1e9)
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|([kMGTPE]i?|Ki|m)?)$")


def parse_quantity(value: str | int | float) -> Decimal:
    """The number of units in ``value``; ValueError if it is no quantity."""
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if not match or (match.group(3) or "") not in _SUFFIXES:
        raise ValueError(f"{value!r} is not a Kubernetes quantity (e.g. '10Gi', '500M')")
    number, exponent, suffix = match.groups()
    try:
        amount = Decimal(number)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        raise ValueError(f"{value!r} is not a Kubernetes quantity") from None
    if exponent:
        return amount * Decimal(10) ** int(exponent[1:])
    return amount * _SUFFIXES[suffix or ""]
