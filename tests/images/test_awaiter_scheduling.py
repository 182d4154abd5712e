"""Which nodes the image-awaiter waits for: the pure scheduling rules."""

from datetime import UTC, datetime, timedelta

import pytest
from k8s_helpers.image_awaiter import assess, target_node
from k8s_helpers.scheduling import (
    label_selector,
    requirement_matches,
    should_wait_for,
    toleration_matches,
)


def node(name="n1", labels=None, taints=None, unschedulable=False, ready="True"):
    return {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"taints": taints or [], "unschedulable": unschedulable},
        "status": {"conditions": [{"type": "Ready", "status": ready}]},
    }


@pytest.mark.parametrize(
    ("toleration", "taint", "expected"),
    [
        (
            {"key": "a", "value": "x", "effect": "NoSchedule"},
            {"key": "a", "value": "x", "effect": "NoSchedule"},
            True,
        ),
        (
            {"key": "a", "value": "y", "effect": "NoSchedule"},
            {"key": "a", "value": "x", "effect": "NoSchedule"},
            False,
        ),
        (
            {"key": "a", "operator": "Exists"},
            {"key": "a", "value": "x", "effect": "NoExecute"},
            True,
        ),
        (
            {"key": "a", "operator": "Exists", "effect": "NoSchedule"},
            {"key": "a", "effect": "NoExecute"},
            False,
        ),
        ({"operator": "Exists"}, {"key": "anything", "effect": "NoSchedule"}, True),
        ({"key": "b", "operator": "Exists"}, {"key": "a", "effect": "NoSchedule"}, False),
        ({"key": "a"}, {"key": "a", "effect": "NoSchedule"}, True),  # Equal, both values empty
    ],
)
def test_toleration_matching(toleration, taint, expected):
    assert toleration_matches(toleration, taint) is expected


@pytest.mark.parametrize(
    ("requirement", "labels", "expected"),
    [
        ({"key": "k", "operator": "In", "values": ["a", "b"]}, {"k": "b"}, True),
        ({"key": "k", "operator": "In", "values": ["a"]}, {}, False),
        ({"key": "k", "operator": "NotIn", "values": ["a"]}, {}, True),
        ({"key": "k", "operator": "NotIn", "values": ["a"]}, {"k": "a"}, False),
        ({"key": "k", "operator": "Exists"}, {"k": ""}, True),
        ({"key": "k", "operator": "DoesNotExist"}, {"k": ""}, False),
        ({"key": "k", "operator": "Gt", "values": ["3"]}, {"k": "4"}, True),
        ({"key": "k", "operator": "Lt", "values": ["3"]}, {"k": "4"}, False),
        ({"key": "k", "operator": "Gt", "values": ["3"]}, {"k": "many"}, False),
    ],
)
def test_node_selector_requirements(requirement, labels, expected):
    assert requirement_matches(requirement, labels) is expected


USER_POD_SPEC = {
    "nodeSelector": {"purpose": "user"},
    "tolerations": [{"key": "hub.jupyter.org/dedicated", "operator": "Equal", "value": "user"}],
}


@pytest.mark.parametrize(
    ("the_node", "wait", "reason"),
    [
        (node(labels={"purpose": "user"}), True, ""),
        (node(labels={"purpose": "core"}), False, "nodeSelector purpose=user"),
        (
            node(
                labels={"purpose": "user"},
                taints=[
                    {"key": "hub.jupyter.org/dedicated", "value": "user", "effect": "NoSchedule"}
                ],
            ),
            True,
            "",
        ),
        (
            node(labels={"purpose": "user"}, taints=[{"key": "gpu", "effect": "NoSchedule"}]),
            False,
            "taint gpu:NoSchedule",
        ),
        # PreferNoSchedule never keeps a pod away
        (
            node(labels={"purpose": "user"}, taints=[{"key": "gpu", "effect": "PreferNoSchedule"}]),
            True,
            "",
        ),
        # the DaemonSet controller's own tolerations cover node condition taints
        (
            node(
                labels={"purpose": "user"},
                taints=[{"key": "node.kubernetes.io/disk-pressure", "effect": "NoSchedule"}],
            ),
            True,
            "",
        ),
        (node(labels={"purpose": "user"}, unschedulable=True), False, "cordoned"),
        (node(labels={"purpose": "user"}, ready="Unknown"), False, "not Ready"),
    ],
)
def test_which_nodes_are_waited_for(the_node, wait, reason):
    verdict = should_wait_for(USER_POD_SPEC, the_node)
    assert verdict.wait is wait
    assert reason in verdict.reason


def test_required_node_affinity_terms_are_ored_and_expressions_anded():
    spec = {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": "zone", "operator": "In", "values": ["a"]},
                                {"key": "gpu", "operator": "DoesNotExist"},
                            ]
                        },
                        {
                            "matchFields": [
                                {"key": "metadata.name", "operator": "In", "values": ["special"]}
                            ]
                        },
                    ]
                }
            }
        }
    }
    assert should_wait_for(spec, node("n1", {"zone": "a"})).wait
    assert not should_wait_for(spec, node("n2", {"zone": "a", "gpu": "yes"})).wait
    assert not should_wait_for(spec, node("n3", {"zone": "b"})).wait
    assert should_wait_for(spec, node("special", {"zone": "b"})).wait


def test_label_selector_syntax():
    selector = {
        "matchLabels": {"app": "jupyterhub", "component": "hook-image-puller"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["a", "b"]},
            {"key": "old", "operator": "DoesNotExist"},
        ],
    }
    assert (
        label_selector(selector) == "app=jupyterhub,component=hook-image-puller,tier in (a,b),!old"
    )
    with pytest.raises(ValueError, match="'Near'.*'tier'"):
        label_selector({"matchExpressions": [{"key": "tier", "operator": "Near"}]})


def daemonset(uid="ds-uid", generation=2, spec=None):
    return {
        "metadata": {"name": "puller", "uid": uid, "generation": generation},
        "spec": {"template": {"spec": spec or {}}},
    }


def pod(node_name=None, ready=True, uid="ds-uid", generation="2", created=None, pinned_to=None):
    spec = {"nodeName": node_name} if node_name else {}
    if pinned_to:
        spec["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchFields": [
                                {"key": "metadata.name", "operator": "In", "values": [pinned_to]}
                            ]
                        }
                    ]
                }
            }
        }
    return {
        "metadata": {
            "ownerReferences": [{"uid": uid}],
            "labels": {"pod-template-generation": generation},
            "creationTimestamp": created,
        },
        "spec": spec,
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_only_ready_current_pods_of_this_daemonset_count():
    nodes = [node("a"), node("b"), node("c"), node("d")]
    pods = [
        pod("a"),
        pod("b", ready=False),
        pod("c", uid="other-daemonset"),
        pod("d", generation="1"),  # made from the previous template
    ]
    progress = assess(daemonset(), nodes, pods, NOW)
    assert progress.ready == ["a"]
    assert progress.waiting == ["b", "c", "d"]
    assert not progress.done


def test_a_pod_left_unscheduled_too_long_stops_the_wait_for_its_node():
    created = (NOW - timedelta(seconds=30)).isoformat()
    nodes = [node("a"), node("full")]
    pods = [pod("a"), pod(ready=False, created=created, pinned_to="full")]
    assert target_node(pods[1]) == "full"
    assert assess(daemonset(), nodes, pods, NOW, scheduling_wait=-1).waiting == ["full"]
    assert assess(daemonset(), nodes, pods, NOW, scheduling_wait=60).waiting == ["full"]
    progress = assess(daemonset(), nodes, pods, NOW, scheduling_wait=10)
    assert progress.done
    assert "waited over 10s" in progress.skipped["full"]


def test_no_node_can_run_it_means_nothing_to_wait_for():
    spec = {"nodeSelector": {"purpose": "user"}}
    progress = assess(daemonset(spec=spec), [node("core", {"purpose": "core"})], [], NOW)
    assert progress.done and progress.skipped == {
        "core": "nodeSelector purpose=user does not match"
    }
