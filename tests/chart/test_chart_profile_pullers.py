"""Profile images are pulled only on the nodes their profile can use: a
profile (or choice merged over it) that sets its own scheduling gets its own
hook and continuous puller with that scheduling; every other image stays in
the default pullers, which render as before."""

import pytest

from .chart_helpers import pod_spec, render

VALUES = ("profile-pullers",)
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
USER_TOLERATIONS = [
    {"effect": "NoSchedule", "key": "hub.jupyter.org/dedicated", "operator": "Equal", "value": "user"},
    {"effect": "NoSchedule", "key": "hub.jupyter.org_dedicated", "operator": "Equal", "value": "user"},
]  # fmt: skip


def pullers(r, kind):
    """{image set: pod spec} of the hook or continuous pullers other than the default one."""
    out = {}
    for ds in r.all("DaemonSet"):
        name = ds["metadata"]["name"]
        if name.startswith(f"{kind}-image-puller-"):
            spec = pod_spec(ds)
            out[frozenset(c["image"] for c in spec["initContainers"])] = (name, spec)
    return out


@pytest.mark.parametrize("kind", ["hook", "continuous"])
def test_each_profile_scheduling_gets_a_puller_with_it(prerendered, kind):
    r = render(VALUES)
    found = pullers(r, kind)
    assert set(found) == {
        # the profile's node_selector merged over singleuser.nodeSelector, its tolerations
        # replacing the user pods'; a profile with the same scheduling shares the puller
        frozenset({"example.org/gpu:1", "example.org/gpu-other:1"}),
        # a choice merged over its profile: its node_selector adds one key and drops one (null)
        frozenset({"example.org/gpu-a100:1"}),
        frozenset({"example.org/pinned:1"}),
        frozenset({"example.org/epc:1"}),
    }
    _, gpu = found[frozenset({"example.org/gpu:1", "example.org/gpu-other:1"})]
    assert gpu["nodeSelector"] == {"purpose": "user", "gpu": "true"}
    assert gpu["tolerations"] == [GPU_TOLERATION] and "affinity" not in gpu
    _, a100 = found[frozenset({"example.org/gpu-a100:1"})]
    assert a100["nodeSelector"] == {"gpu": "true", "gpu-type": "a100"}
    assert a100["tolerations"] == [GPU_TOLERATION]
    # node_affinity_required in its dict form: its values are the terms
    _, pinned = found[frozenset({"example.org/pinned:1"})]
    assert pinned["affinity"] == {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
                ]
            }
        }
    }
    assert pinned["tolerations"] == USER_TOLERATIONS
    # extra_pod_config's nodeSelector merges into the pod's, its tolerations replace
    _, epc = found[frozenset({"example.org/epc:1"})]
    assert epc["nodeSelector"] == {"purpose": "user", "big-memory": "true"}
    assert epc["tolerations"] == [{"key": "big-memory", "operator": "Exists"}]


def test_profiles_without_scheduling_stay_in_the_default_pullers(prerendered):
    r = render(VALUES)
    for name in ("hook-image-puller", "continuous-image-puller"):
        spec = pod_spec(r.find("DaemonSet", name))
        assert {c["image"] for c in spec["initContainers"]} == {
            "ghcr.io/jupyterhub-kube/jupyterhub-k8s-singleuser-sample:0.1.0",
            "ghcr.io/jupyterhub-kube/jupyterhub-k8s-network-tools:0.1.0",
            "example.org/cpu:1",
        }
        assert spec["nodeSelector"] == {"purpose": "user"}
        assert spec["tolerations"] == USER_TOLERATIONS


def test_the_awaiter_waits_for_every_hook_puller_and_may_read_each(prerendered):
    r = render(VALUES)
    hook = sorted(
        d["metadata"]["name"]
        for d in r.all("DaemonSet")
        if d["metadata"]["name"].startswith("hook-")
    )
    assert len(hook) == 5 and hook[0] == "hook-image-puller"
    job = pod_spec(r.find("Job", "hook-image-awaiter"))["containers"][0]["command"]
    assert [a.removeprefix("--daemonset=") for a in job if a.startswith("--daemonset=")] == hook
    (rule,) = [
        x for x in r.find("Role", "hook-image-awaiter")["rules"] if x["resources"] == ["daemonsets"]
    ]
    assert sorted(rule["resourceNames"]) == hook
    for ds in r.all("DaemonSet"):
        name = ds["metadata"]["name"]
        if "image-puller" not in name:
            continue
        # its own selector (no two pullers' overlap), and its pods kept off the network
        selector = ds["spec"]["selector"]["matchLabels"]
        assert selector["component"] == name
        policy = r.find("NetworkPolicy", name)
        assert policy["spec"]["podSelector"]["matchLabels"] == selector
        hook_annotation = (ds["metadata"].get("annotations") or {}).get("helm.sh/hook")
        assert (hook_annotation == "pre-install,pre-upgrade") == (name in hook)


def test_names_are_stable_and_fit_a_dns_label():
    base = render(VALUES)
    names = {d["metadata"]["name"] for d in base.all("DaemonSet")}
    # an image tag or a profile's name changing does not rename the pullers
    retagged = render(
        VALUES,
        sets=('singleuser.image.tag="2.0"', 'prePuller.extraImages={"x":{"name":"x","tag":"1"}}'),
    )
    assert {d["metadata"]["name"] for d in retagged.all("DaemonSet")} == names
    long = render(VALUES, sets=('fullnameOverride="' + "x" * 60 + '"',))
    for ds in long.all("DaemonSet"):
        name = ds["metadata"]["name"]
        assert len(name) <= 63 and name[-1] != "-", name
    assert len({d["metadata"]["name"] for d in long.all("DaemonSet")}) == len(names)


def test_without_pulling_profile_images_there_are_no_profile_pullers(prerendered):
    r = render(VALUES, sets=("prePuller.pullProfileListImages=false",))
    assert {d["metadata"]["name"] for d in r.all("DaemonSet")} == {"hook-image-puller", "continuous-image-puller"}  # fmt: skip


def test_the_hook_runs_again_when_only_the_grouping_changes(prerendered):
    """pullOnlyOnChanges compares a checksum of the images and of their scheduling."""

    def checksum(*sets):
        cm = render(VALUES, sets=sets).find("ConfigMap", "hub")
        return cm["data"]["checksum_hook-image-puller"]

    moved = 'singleuser.profileList[1].kubespawner_override.node_selector={"gpu":"h100"}'
    assert checksum() != checksum(moved)
