"""Growing a user's claim when ``storage_capacity`` grows: what to ask for.

Kubernetes expands a bound claim in place when its spec asks for more and
its StorageClass says ``allowVolumeExpansion: true`` (the
PersistentVolumeClaimResize admission plugin refuses the PATCH with 403
otherwise); it never shrinks one (422, "field can not be less than previous
value"). So the spawner asks only for more, never for less, and lets the API
server decide whether the class allows it -- the hub needs no read access to
StorageClasses for that.
"""

from __future__ import annotations

from .quantity import parse_quantity

Obj = dict


def requested_size(claim: Obj) -> str | None:
    return (((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage")


def growth_needed(claim: Obj, capacity: str) -> bool:
    """The claim asks for less than ``capacity`` (never True for a shrink)."""
    current = requested_size(claim)
    if current is None:
        return False
    return parse_quantity(capacity) > parse_quantity(current)


def is_bound(claim: Obj) -> bool:
    # only bound claims can be expanded (the admission plugin says so with 403)
    return (claim.get("status") or {}).get("phase") == "Bound"


def growth_patch(capacity: str) -> Obj:
    """A JSON merge patch asking for ``capacity``."""
    return {"spec": {"resources": {"requests": {"storage": capacity}}}}
