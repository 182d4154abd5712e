"""Scheduling predicates as pure functions on pod and node dicts.

They follow the default kube-scheduler filter plugins, in the order it runs
them (NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodePorts,
NodeResourcesFit): a node is rejected by the first plugin that fails, and the
reasons of all rejected nodes are aggregated into the FailedScheduling message
exactly like the real FitError ("0/3 nodes are available: 1 Too many pods,
2 Insufficient memory.").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from kubesim.model.quantities import QuantityError, parse_quantity, resource_units

# The order the real NodeResourcesFit plugin reports insufficient resources in.
_BASE_RESOURCES = ("cpu", "memory", "ephemeral-storage")
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
FILTER_EFFECTS = ("NoSchedule", "NoExecute")


# ---------------------------------------------------------------- resources


def container_requests(container: Mapping) -> dict[str, int]:
    """Effective requests of one container: requests, else limits (API defaulting)."""
    resources = container.get("resources") or {}
    merged = dict(resources.get("limits") or {})
    merged.update(resources.get("requests") or {})
    return {name: resource_units(name, value) for name, value in merged.items()}


def pod_requests(pod: Mapping) -> dict[str, int]:
    """What a pod asks of a node, like the scheduler computes it.

    max(sum of app containers, largest init container) + overhead, plus one
    "pods" slot.
    """
    spec = pod.get("spec") or {}
    total: Counter[str] = Counter()
    for container in spec.get("containers") or []:
        total.update(container_requests(container))
    for container in spec.get("initContainers") or []:
        for name, value in container_requests(container).items():
            total[name] = max(total[name], value)
    for name, value in (spec.get("overhead") or {}).items():
        total[name] += resource_units(name, value)
    result = {name: value for name, value in total.items() if value}
    result["pods"] = 1
    return result


def node_allocatable(node: Mapping) -> dict[str, int]:
    status = node.get("status") or {}
    allocatable = status.get("allocatable") or status.get("capacity") or {}
    return {name: resource_units(name, value) for name, value in allocatable.items()}


def insufficient_resources(
    requests: Mapping[str, int], allocatable: Mapping[str, int], used: Mapping[str, int]
) -> list[str]:
    """NodeResourcesFit reasons, in the order the real plugin reports them."""
    reasons = []
    if used.get("pods", 0) + 1 > allocatable.get("pods", 0):
        reasons.append("Too many pods")
    extended = sorted(name for name in requests if name not in _BASE_RESOURCES and name != "pods")
    for name in (*_BASE_RESOURCES, *extended):
        wanted = requests.get(name, 0)
        if wanted and used.get(name, 0) + wanted > allocatable.get(name, 0):
            reasons.append(f"Insufficient {name}")
    return reasons


# ------------------------------------------------------------ node affinity


def _requirement_matches(requirement: Mapping, value: str | None, present: bool) -> bool:
    operator = requirement.get("operator")
    values = requirement.get("values") or []
    if operator == "In":
        return present and value in values
    if operator == "NotIn":
        return not present or value not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt"):
        if not present or len(values) != 1:
            return False
        try:
            have, bound = int(value), int(values[0])
        except (TypeError, ValueError):
            return False
        return have > bound if operator == "Gt" else have < bound
    return False


def node_selector_term_matches(term: Mapping, node: Mapping) -> bool:
    """One nodeSelectorTerm: all matchExpressions and matchFields must hold.

    A term with no requirements at all matches nothing, as in Kubernetes.
    """
    expressions = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not expressions and not fields:
        return False
    labels = (node.get("metadata") or {}).get("labels") or {}
    for requirement in expressions:
        key = requirement.get("key")
        if not _requirement_matches(requirement, labels.get(key), key in labels):
            return False
    node_fields = {"metadata.name": (node.get("metadata") or {}).get("name")}
    for requirement in fields:
        key = requirement.get("key")
        if not _requirement_matches(requirement, node_fields.get(key), key in node_fields):
            return False
    return True


def node_matches_selector_and_affinity(pod: Mapping, node: Mapping) -> bool:
    spec = pod.get("spec") or {}
    labels = (node.get("metadata") or {}).get("labels") or {}
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (
        ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        )
    ) or None
    if required is None:
        return True
    terms = required.get("nodeSelectorTerms") or []
    return any(node_selector_term_matches(term, node) for term in terms)


# ------------------------------------------------------ taints/tolerations


def toleration_tolerates(toleration: Mapping, taint: Mapping) -> bool:
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return not key or key == taint.get("key")
    if operator == "Equal":
        return key == taint.get("key") and (toleration.get("value") or "") == (
            taint.get("value") or ""
        )
    return False


def first_untolerated_taint(
    tolerations: Iterable[Mapping], taints: Iterable[Mapping], effects=FILTER_EFFECTS
) -> Mapping | None:
    tolerations = list(tolerations)
    for taint in taints:
        if taint.get("effect") not in effects:
            continue
        if not any(toleration_tolerates(t, taint) for t in tolerations):
            return taint
    return None


# ----------------------------------------------------------------- filters


def host_ports(pod: Mapping) -> set[tuple[str, str, int]]:
    ports = set()
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                ports.add(
                    (
                        port.get("hostIP") or "0.0.0.0",
                        port.get("protocol") or "TCP",
                        port["hostPort"],
                    )
                )
    return ports


def _ports_conflict(wanted: set, used: set) -> bool:
    for ip, protocol, port in wanted:
        for used_ip, used_protocol, used_port in used:
            if port == used_port and protocol == used_protocol:
                if "0.0.0.0" in (ip, used_ip) or ip == used_ip:
                    return True
    return False


def filter_reasons(
    pod: Mapping,
    node: Mapping,
    used: Mapping[str, int],
    used_ports: set | None = None,
    requests: Mapping[str, int] | None = None,
    allocatable: Mapping[str, int] | None = None,
) -> list[str]:
    """Why `node` cannot take `pod` (empty list: it can).

    `used` is what the pods already on the node request (see pod_requests),
    including their "pods" count.
    """
    spec = pod.get("spec") or {}
    node_spec = node.get("spec") or {}
    tolerations = spec.get("tolerations") or []
    if node_spec.get("unschedulable") and not any(
        toleration_tolerates(t, UNSCHEDULABLE_TAINT) for t in tolerations
    ):
        return ["node(s) were unschedulable"]
    wanted_node = spec.get("nodeName")
    if wanted_node and wanted_node != (node.get("metadata") or {}).get("name"):
        return ["node(s) didn't match the requested node name"]
    taint = first_untolerated_taint(tolerations, node_spec.get("taints") or [])
    if taint is not None:
        key, value = taint.get("key"), taint.get("value") or ""
        return [f"node(s) had untolerated taint {{{key}: {value}}}"]
    if not node_matches_selector_and_affinity(pod, node):
        return ["node(s) didn't match Pod's node affinity/selector"]
    if used_ports and _ports_conflict(host_ports(pod), used_ports):
        return ["node(s) didn't have free ports for the requested pod ports"]
    if requests is None:
        requests = pod_requests(pod)
    if allocatable is None:
        allocatable = node_allocatable(node)
    return insufficient_resources(requests, allocatable, used)


def fit_error_message(num_nodes: int, reasons_by_node: Mapping[str, list[str]]) -> str:
    """The FailedScheduling message, aggregated and sorted like kube-scheduler's FitError."""
    histogram = Counter(reason for reasons in reasons_by_node.values() for reason in reasons)
    parts = sorted(f"{count} {reason}" for reason, count in histogram.items())
    message = f"0/{num_nodes} nodes are available:"
    if parts:
        message += " " + ", ".join(parts) + "."
    return message


def prefilter_error_message(num_nodes: int, reason: str) -> str:
    """A failure before any node is considered (e.g. an unbound PVC)."""
    return f"0/{num_nodes} nodes are available: {reason}."


def least_allocated_score(
    requests: Mapping[str, int], allocatable: Mapping[str, int], used: Mapping[str, int]
) -> float:
    """Free share of cpu and memory after placing the pod (higher: emptier node)."""
    scores = []
    for name in ("cpu", "memory"):
        capacity = allocatable.get(name, 0)
        if capacity:
            scores.append((capacity - used.get(name, 0) - requests.get(name, 0)) / capacity)
    return sum(scores) / len(scores) if scores else 0.0


def validate_quantity(key: str, value) -> None:
    """Raise a clear error for a bad node capacity setting."""
    try:
        parse_quantity(value)
    except QuantityError as error:
        raise ValueError(f"{key}={value!r} is not a Kubernetes quantity: {error}") from None
