"""Pure scheduling predicates: quantities, affinity, taints, resource fit, messages."""

from fractions import Fraction

import pytest

from kubesim.control.predicates import (
    filter_reasons,
    fit_error_message,
    node_matches_selector_and_affinity,
    pod_requests,
    toleration_tolerates,
)
from kubesim.model.quantities import QuantityError, milli_value, parse_quantity, resource_units


@pytest.mark.parametrize(
    "text, expected",
    [
        ("500m", Fraction(1, 2)),
        ("1Gi", 2**30),
        ("1G", 10**9),
        ("1e3", 1000),
        ("1.5", Fraction(3, 2)),
        ("2Ki", 2048),
        ("100n", Fraction(1, 10**7)),
        (2, 2),
        ("+.5", Fraction(1, 2)),
    ],
)
def test_parse_quantity(text, expected):
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("bad", ["", "1.2.3", "1gi", "Gi", "1 Gi", "1e", True])
def test_parse_quantity_rejects(bad):
    with pytest.raises(QuantityError):
        parse_quantity(bad)


def test_units_round_up():
    assert milli_value("0.0001") == 1
    assert resource_units("cpu", "2") == 2000
    assert resource_units("memory", "1.5Ki") == 1536
    assert resource_units("memory", "100m") == 1


def node(name="n1", labels=None, taints=None, cpu="4", memory="16Gi", pods=110, **spec):
    return {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": {"taints": taints or [], **spec},
        "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": str(pods)}},
    }


def pod(**spec):
    spec.setdefault("containers", [{"name": "c", "image": "busybox"}])
    return {"metadata": {"name": "p", "namespace": "default"}, "spec": spec}


def expr(key, operator, *values):
    item = {"key": key, "operator": operator}
    if values:
        item["values"] = list(values)
    return item


def affinity(*terms):
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": list(term)} for term in terms]
            }
        }
    }


def test_pod_requests_use_limits_and_init_max():
    p = pod(
        containers=[
            {"name": "a", "resources": {"requests": {"cpu": "250m"}, "limits": {"memory": "1Gi"}}},
            {"name": "b", "resources": {"requests": {"cpu": "250m", "memory": "1Gi"}}},
        ],
        initContainers=[{"name": "i", "resources": {"requests": {"cpu": "2"}}}],
        overhead={"cpu": "100m"},
    )
    assert pod_requests(p) == {"cpu": 2100, "memory": 2 * 2**30, "pods": 1}


@pytest.mark.parametrize(
    "exprs, matches",
    [
        ([expr("zone", "In", "a", "b")], True),
        ([expr("zone", "In", "b")], False),
        ([expr("zone", "NotIn", "b")], True),
        ([expr("missing", "NotIn", "b")], True),
        ([expr("zone", "Exists")], True),
        ([expr("zone", "DoesNotExist")], False),
        ([expr("missing", "DoesNotExist")], True),
        ([expr("gpus", "Gt", "3")], True),
        ([expr("gpus", "Gt", "4")], False),
        ([expr("gpus", "Lt", "5")], True),
        ([expr("zone", "Gt", "1")], False),
        ([expr("zone", "In", "a"), expr("gpus", "Lt", "2")], False),
    ],
)
def test_required_node_affinity_operators(exprs, matches):
    n = node(labels={"zone": "a", "gpus": "4"})
    assert node_matches_selector_and_affinity(pod(affinity=affinity(exprs)), n) is matches


def test_affinity_terms_are_ored_and_empty_term_matches_nothing():
    n = node(labels={"zone": "a"})
    either = affinity([expr("zone", "In", "x")], [expr("zone", "In", "a")])
    assert node_matches_selector_and_affinity(pod(affinity=either), n)
    empty = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{}]}
        }
    }
    assert not node_matches_selector_and_affinity(pod(affinity=empty), n)
    by_name = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchFields": [expr("metadata.name", "In", "n1")]}]
            }
        }
    }
    assert node_matches_selector_and_affinity(pod(affinity=by_name), n)


def test_node_selector():
    n = node(labels={"disk": "ssd"})
    assert node_matches_selector_and_affinity(pod(nodeSelector={"disk": "ssd"}), n)
    assert not node_matches_selector_and_affinity(pod(nodeSelector={"disk": "hdd"}), n)


@pytest.mark.parametrize(
    "toleration, tolerated",
    [
        ({"key": "gpu", "operator": "Equal", "value": "yes", "effect": "NoSchedule"}, True),
        ({"key": "gpu", "value": "yes"}, True),
        ({"key": "gpu", "value": "no"}, False),
        ({"key": "gpu", "operator": "Exists"}, True),
        ({"operator": "Exists"}, True),
        ({"key": "gpu", "operator": "Exists", "effect": "NoExecute"}, False),
        ({"key": "other", "operator": "Exists"}, False),
    ],
)
def test_tolerations(toleration, tolerated):
    taint = {"key": "gpu", "value": "yes", "effect": "NoSchedule"}
    assert toleration_tolerates(toleration, taint) is tolerated


def test_filter_order_and_reasons():
    tainted = node(taints=[{"key": "dedicated", "value": "hub", "effect": "NoSchedule"}])
    assert filter_reasons(pod(), tainted, {}) == ["node(s) had untolerated taint {dedicated: hub}"]
    soft = node(taints=[{"key": "x", "effect": "PreferNoSchedule"}])
    assert filter_reasons(pod(), soft, {}) == []
    assert filter_reasons(pod(), node(unschedulable=True), {}) == ["node(s) were unschedulable"]
    big = pod(containers=[{"name": "c", "resources": {"requests": {"cpu": "8", "memory": "32Gi"}}}])
    assert filter_reasons(big, node(), {}) == ["Insufficient cpu", "Insufficient memory"]
    assert filter_reasons(pod(), node(pods=2), {"pods": 2}) == ["Too many pods"]
    gpu = pod(containers=[{"name": "c", "resources": {"limits": {"nvidia.com/gpu": "1"}}}])
    assert filter_reasons(gpu, node(), {}) == ["Insufficient nvidia.com/gpu"]
    half = pod(containers=[{"name": "c", "resources": {"requests": {"memory": "8Gi"}}}])
    assert filter_reasons(half, node(), {"memory": 8 * 2**30}) == []
    assert filter_reasons(half, node(), {"memory": 8 * 2**30 + 1}) == ["Insufficient memory"]


def test_fit_error_message_aggregates_and_sorts():
    assert (
        fit_error_message(
            3,
            {
                "a": ["Insufficient memory"],
                "b": ["Insufficient memory"],
                "c": ["Insufficient memory"],
            },
        )
        == "0/3 nodes are available: 3 Insufficient memory."
    )
    message = fit_error_message(
        3,
        {
            "a": ["Insufficient cpu", "Insufficient memory"],
            "b": ["node(s) didn't match Pod's node affinity/selector"],
            "c": ["Insufficient memory"],
        },
    )
    assert message == (
        "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node "
        "affinity/selector, 2 Insufficient memory."
    )
    assert fit_error_message(0, {}) == "0/0 nodes are available:"
