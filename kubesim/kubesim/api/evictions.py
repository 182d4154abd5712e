"""PodDisruptionBudgets as the eviction API applies them."""

from __future__ import annotations

import math
from typing import Any

from kubesim.model.errors import ApiError
from kubesim.model.selectors import selector_from_label_selector

Obj = dict[str, Any]


def _ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def _count(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        share = int(value[:-1]) * total / 100
        return math.ceil(share) if round_up else math.floor(share)
    return int(value)


def disruptions_allowed(pdb: Obj, pods: list[Obj]) -> int:
    """currentHealthy - desiredHealthy for the pods the budget selects."""
    spec = pdb.get("spec") or {}
    healthy = sum(1 for p in pods if _ready(p))
    if spec.get("minAvailable") is not None:
        desired = _count(spec["minAvailable"], len(pods), round_up=True)
    elif spec.get("maxUnavailable") is not None:
        desired = len(pods) - _count(spec["maxUnavailable"], len(pods), round_up=True)
    else:
        return healthy
    return max(healthy - desired, 0)


def check_eviction(store, pod: Obj) -> None:
    """429 TooManyRequests when evicting `pod` would break a budget that selects it."""
    namespace = pod["metadata"]["namespace"]
    labels = pod["metadata"].get("labels") or {}
    if not _ready(pod) or pod["metadata"].get("deletionTimestamp"):
        return  # unhealthy or terminating pods may always be evicted
    for pdb in store.list("poddisruptionbudgets", namespace)[0]:
        match = selector_from_label_selector((pdb.get("spec") or {}).get("selector"))
        if match is None or not match(labels):
            continue
        selected = [
            p
            for p in store.list("pods", namespace)[0]
            if match(p["metadata"].get("labels") or {})
            and not p["metadata"].get("deletionTimestamp")
        ]
        if disruptions_allowed(pdb, selected) < 1:
            raise ApiError(
                429,
                "TooManyRequests",
                "Cannot evict pod as it would violate the pod's disruption budget.",
                {
                    "causes": [
                        {
                            "reason": "DisruptionBudget",
                            "message": f"The disruption budget {pdb['metadata']['name']} needs "
                            f"{len(selected) - disruptions_allowed(pdb, selected)} healthy pods and "
                            f"has {sum(1 for p in selected if _ready(p))} currently",
                        }
                    ]
                },
            )
