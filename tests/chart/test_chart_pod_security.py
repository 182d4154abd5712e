"""podSecurity.level and the values the chart refuses at `helm upgrade`:
each message names the key, the value and what to write instead (Helm 3
and 4). Users' pods themselves are tested in tests/hubconfig/test_pod_security.py,
admitted by kubesim's Pod Security admission in tests/hubconfig/test_pod_security_admission.py.
"""

import json

import pytest
from chart_helpers import hub_values, render, render_error

RESTRICTED = 'podSecurity={"level": "restricted"}'


def singleuser(**values) -> str:
    return "singleuser=" + json.dumps(values)


REFUSED = [
    (
        (RESTRICTED, singleuser(cloudMetadata={"blockWithIptables": True})),
        "singleuser.cloudMetadata.blockWithIptables is true, but podSecurity.level restricted "
        "refuses its init container (root with NET_ADMIN and NET_RAW): remove the key",
    ),
    (
        ('podSecurity={"level": "baseline"}', singleuser(cloudMetadata={"blockWithIptables": True})),
        "or set podSecurity.level: privileged",
    ),
    (
        (RESTRICTED, singleuser(uid=0)),
        "singleuser.uid is 0 (root), which podSecurity.level restricted refuses",
    ),
    (
        (RESTRICTED, singleuser(allowPrivilegeEscalation=True)),
        "singleuser.allowPrivilegeEscalation (or singleuser.containerSecurityContext."
        "allowPrivilegeEscalation) is true, which podSecurity.level restricted refuses: set it to false",
    ),
    (
        (RESTRICTED, singleuser(containerSecurityContext={"runAsNonRoot": None})),
        "singleuser.containerSecurityContext.runAsNonRoot is not true",
    ),
    (
        (RESTRICTED, singleuser(containerSecurityContext={"capabilities": {"drop": ["NET_RAW"]}})),
        'singleuser.containerSecurityContext.capabilities.drop is ["NET_RAW"], but '
        "podSecurity.level restricted requires it to contain ALL",
    ),
    (
        (RESTRICTED, singleuser(containerSecurityContext={"capabilities": {"add": ["SYS_ADMIN"]}})),
        "singleuser.containerSecurityContext.capabilities.add has SYS_ADMIN; podSecurity.level "
        "restricted allows only NET_BIND_SERVICE",
    ),
    (
        (RESTRICTED, singleuser(containerSecurityContext={"seccompProfile": {"type": "Unconfined"}})),
        'singleuser.containerSecurityContext.seccompProfile.type is "Unconfined"',
    ),
    (
        ('podSecurity={"level": "baseline"}', singleuser(containerSecurityContext={"privileged": True})),
        "singleuser.containerSecurityContext.privileged is true, which podSecurity.level baseline refuses",
    ),
    # quantities the hub's traits would refuse at start
    ((singleuser(memory={"limit": "lots"}),), "at '/singleuser/memory/limit': 'lots' does not match pattern"),
    ((singleuser(memory={"guarantee": "1Gi"}),), "at '/singleuser/memory/guarantee': '1Gi' does not match"),
    ((singleuser(cpu={"limit": "two"}),), "at '/singleuser/cpu/limit': got string, want null or number"),
    ((singleuser(cpu={"guarantee": -1}),), "at '/singleuser/cpu/guarantee': minimum: got -1, want 0"),
    # image references
    ((singleuser(image={"name": "Jupyter/Notebook", "tag": "1"}),), "at '/singleuser/image/name': 'Jupyter/Notebook' does not match"),
    ((singleuser(image={"name": "jupyter/nb:latest", "tag": "1"}),), "at '/singleuser/image/name': 'jupyter/nb:latest' does not match"),
    (('hub={"image": {"name": "quay.io/a/b", "tag": "a tag"}}',), "at '/hub/image/tag': 'a tag' does not match"),
    ((singleuser(image={"name": "a/b", "tag": ""}),), "at '/singleuser/image/tag': '' does not match"),
    # profile overrides: only KubeSpawner's settings, with values they take
    (
        (singleuser(profileList=[{"display_name": "Small", "kubespawner_override": {"cpu_limt": 2}}]),),
        "at '/singleuser/profileList/0/kubespawner_override': additional properties 'cpu_limt' not allowed",
    ),
    (
        (singleuser(profileList=[{"display_name": "S", "profile_options": {"image": {"choices": {
            "new": {"kubespawner_override": {"imagee": "a/b:1"}}}}}}]),),
        "at '/singleuser/profileList/0/profile_options/image/choices/new/kubespawner_override': "
        "additional properties 'imagee' not allowed",
    ),
    (
        (singleuser(profileList=[{"display_name": "S", "kubespawner_override": {"mem_limit": "lots"}}]),),
        "at '/singleuser/profileList/0/kubespawner_override/mem_limit': 'lots' does not match",
    ),
]  # fmt: skip


@pytest.mark.parametrize("helm", ["3", "4"])
@pytest.mark.parametrize("sets, message", REFUSED, ids=[m[:60] for _, m in REFUSED])
def test_refused_naming_key_value_and_fix(sets, message, helm):
    assert message in render_error(helm=helm, sets=sets)


ACCEPTED = [
    singleuser(memory={"limit": "1.5G", "guarantee": 1073741824}, cpu={"limit": 2, "guarantee": 0.5}),
    singleuser(memory={"limit": ".5T", "guarantee": "1e3M"}),
    singleuser(image={"name": "localhost:5000/team/nb", "tag": "2024.1"}),
    singleuser(image={"name": "registry.example.org/a/b-c__d.e", "tag": "sha256:" + "0" * 64}),
    singleuser(image={"name": "nb", "tag": "v1@sha256:" + "a" * 64}),
    singleuser(profileList=[{"display_name": "GPU", "kubespawner_override": {
        "cpu_limit": 4, "mem_limit": "8G", "extra_resource_limits": {"nvidia.com/gpu": "1"}}}]),
    # the restricted level with the defaults, and with what it allows
    RESTRICTED,
    # a key set to null is left out of the defaults (baseline does not need runAsNonRoot)
    'podSecurity={"level": "baseline"}',
]  # fmt: skip


@pytest.mark.parametrize("sets", ACCEPTED)
def test_accepted(sets):
    render(sets=(sets,))


def test_restricted_pulls_no_network_tools_image():
    def pulled(r):
        puller = r.find("DaemonSet", "hook-image-puller")
        return {c["image"] for c in puller["spec"]["template"]["spec"]["initContainers"]}

    assert any("network-tools" in i for i in pulled(render()))
    assert not any("network-tools" in i for i in pulled(render(sets=(RESTRICTED,))))


def test_hub_reads_the_decided_blocker():
    def values(*sets):
        return hub_values(render(sets=sets))["singleuser"]

    # the hub gets the effective value, not null
    assert values()["cloudMetadata"]["blockWithIptables"] is True
    assert values(RESTRICTED)["cloudMetadata"]["blockWithIptables"] is False
    root = values(singleuser(uid=0))["containerSecurityContext"]
    assert root == {"seccompProfile": {"type": "RuntimeDefault"}}


def test_notes_explain_the_level(notes):
    text = notes()
    assert "podSecurity.level: restricted" in text and "NET_ADMIN" in text
    assert "NET_ADMIN" not in notes(sets=(RESTRICTED,))
    no_policy = notes(sets=(RESTRICTED, 'singleuser={"networkPolicy": {"enabled": false}}'))
    assert "nothing blocks users' access to the cloud metadata server" in no_policy.replace(
        "\n", " "
    )
