"""Which nodes can run a DaemonSet's pods: pure functions on API-shaped dicts.

The rules follow Kubernetes' DaemonSet controller: a node must match the
pod's nodeSelector and required node affinity, and every NoSchedule /
NoExecute taint must be tolerated (DaemonSet pods tolerate the node
condition taints automatically). On top of that a node that is cordoned or
not Ready is not *waited for*: a pod there may never become ready, and no
user pod will be scheduled there either, so pulling images there is moot.
"""

from __future__ import annotations

from dataclasses import dataclass

# Tolerations the DaemonSet controller adds to every DaemonSet pod.
DAEMONSET_TOLERATIONS = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)
BLOCKING_EFFECTS = ("NoSchedule", "NoExecute")


@dataclass(frozen=True)
class Verdict:
    """Whether to wait for a node, and if not, why (for the log)."""

    wait: bool
    reason: str = ""


def toleration_matches(toleration: dict, taint: dict) -> bool:
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if (toleration.get("operator") or "Equal") == "Exists":
        return not key or key == taint.get("key")
    return key == taint.get("key") and (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated_taint(tolerations: list[dict], taints: list[dict]) -> dict | None:
    """The first NoSchedule/NoExecute taint no toleration matches, or None."""
    for taint in taints:
        if taint.get("effect") not in BLOCKING_EFFECTS:
            continue
        if not any(toleration_matches(t, taint) for t in tolerations):
            return taint
    return None


def requirement_matches(requirement: dict, values_by_key: dict) -> bool:
    """One NodeSelectorRequirement (In, NotIn, Exists, DoesNotExist, Gt, Lt)."""
    key, operator = requirement.get("key"), requirement.get("operator")
    values = requirement.get("values") or []
    present = key in values_by_key
    value = values_by_key.get(key)
    if operator == "In":
        return present and value in values
    if operator == "NotIn":
        return not present or value not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt"):
        try:
            mine, theirs = int(value), int(values[0])
        except (TypeError, ValueError, IndexError):
            return False
        return mine > theirs if operator == "Gt" else mine < theirs
    return False  # an operator the API server would have rejected


def term_matches(term: dict, node: dict) -> bool:
    """A NodeSelectorTerm: all its expressions and fields match (an empty term matches nothing)."""
    expressions = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not expressions and not fields:
        return False
    labels = node.get("metadata", {}).get("labels") or {}
    node_fields = {"metadata.name": node.get("metadata", {}).get("name")}
    return all(requirement_matches(r, labels) for r in expressions) and all(
        requirement_matches(r, node_fields) for r in fields
    )


def node_condition(node: dict, kind: str) -> str:
    for condition in node.get("status", {}).get("conditions") or []:
        if condition.get("type") == kind:
            return condition.get("status", "Unknown")
    return "Unknown"


def should_wait_for(pod_spec: dict, node: dict) -> Verdict:
    """Should the awaiter wait for a ready pod (of this spec) on this node?"""
    # The node's state first: it explains a skip better than the taints it implies.
    if node_condition(node, "Ready") != "True":
        return Verdict(False, "not Ready")
    if node.get("spec", {}).get("unschedulable"):
        return Verdict(False, "cordoned (unschedulable)")
    labels = node.get("metadata", {}).get("labels") or {}
    for key, value in (pod_spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return Verdict(False, f"nodeSelector {key}={value} does not match")
    required = (
        (pod_spec.get("affinity") or {})
        .get("nodeAffinity", {})
        .get("requiredDuringSchedulingIgnoredDuringExecution")
    )
    if required is not None:
        terms = required.get("nodeSelectorTerms") or []
        if not any(term_matches(term, node) for term in terms):
            return Verdict(False, "required node affinity does not match")
    tolerations = list(pod_spec.get("tolerations") or []) + list(DAEMONSET_TOLERATIONS)
    taint = untolerated_taint(tolerations, node.get("spec", {}).get("taints") or [])
    if taint is not None:
        shown = taint.get("key", "") + (f"={taint['value']}" if taint.get("value") else "")
        return Verdict(False, f"taint {shown}:{taint.get('effect')} is not tolerated")
    return Verdict(True)


def pod_is_ready(pod: dict) -> bool:
    if pod.get("metadata", {}).get("deletionTimestamp"):
        return False
    for condition in pod.get("status", {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False


def label_selector(selector: dict) -> str:
    """A LabelSelector (matchLabels + matchExpressions) as the query-string syntax."""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = ",".join(expression.get("values") or [])
        if operator == "In":
            parts.append(f"{key} in ({values})")
        elif operator == "NotIn":
            parts.append(f"{key} notin ({values})")
        elif operator == "Exists":
            parts.append(key)
        elif operator == "DoesNotExist":
            parts.append(f"!{key}")
        else:
            raise ValueError(f"label selector operator {operator!r} of key {key!r} is unknown")
    return ",".join(parts)
