"""What every workload controller reads and writes on the objects it owns."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]


def template_hash(template: Obj) -> str:
    """A short stable hash of a pod template, in the alphabet the real controllers use."""
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
    return "".join(c for c in digest if c in "bcdfghjklmnpqrstvwxz2456789")[:10]


def owner_reference(obj: Obj, kind: str, api_version: str) -> Obj:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def controller_of(obj: Obj) -> Obj | None:
    return next(
        (r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")), None
    )


def pod_ready(pod: Obj) -> bool:
    return ready_since(pod) is not None


def ready_since(pod: Obj) -> float | None:
    """When the pod's Ready condition last became True (epoch seconds), or None."""
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready" and condition.get("status") == "True":
            stamp = condition.get("lastTransitionTime")
            if not stamp:
                return 0.0
            return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    return None


def available_in(pod: Obj, min_ready_seconds: int, now: float) -> float | None:
    """Seconds until the pod counts as available (0: it is), None if it is not Ready.

    A pod is available once it has been Ready for minReadySeconds (podutil.IsPodAvailable).
    """
    since = ready_since(pod)
    if since is None:
        return None
    return max(since + min_ready_seconds - now, 0.0) if min_ready_seconds else 0.0


def scaled_value(value: Any, total: int, round_up: bool, field: str) -> int:
    """An IntOrString like "25%" or 2 against `total` (intstr.GetScaledValueFromIntOrPercent)."""
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.endswith("%") or not text[:-1].isdigit():
        raise ValueError(f"{field}: {value!r} is neither an integer nor a percentage like '25%'")
    share = int(text[:-1]) * total
    return -(-share // 100) if round_up else share // 100
