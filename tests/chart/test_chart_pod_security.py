"""podSecurity.level and the values the chart refuses at `helm upgrade`:
each message names the key, the value and what to write instead (Helm 3
and 4). Users' pods themselves are tested in tests/hubconfig/test_pod_security.py,
admitted by kubesim's Pod Security admission in tests/hubconfig/test_pod_security_admission.py.
"""

import json

import pytest

from .chart_helpers import hub_values, render, render_error

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
    # Quantities the hub's traits would refuse at start, image references, pull
    # policies: refused by the chart's own checks (helm's schema refusal would
    # print the pattern), naming key, value and what to write.
    ((singleuser(memory={"limit": "lots"}),),
     'singleuser.memory.limit: "lots" is not a memory quantity; write bytes, or a number with '
     "a suffix K, M, G or T (1024-based), such as 512M, 1G or 1.5G (not 1Gi)"),
    ((singleuser(memory={"guarantee": "1Gi"}),), 'singleuser.memory.guarantee: "1Gi" is not a memory quantity; write'),
    ((singleuser(memory={"limit": -1}),), "singleuser.memory.limit: -1 is not a memory quantity"),
    ((singleuser(memory={"limit": [1]}),), "singleuser.memory.limit: [1] is not a memory quantity"),
    ((singleuser(cpu={"limit": "two"}),),
     'singleuser.cpu.limit: "two" is not a CPU quantity; write cores as a number >= 0, such as 0.5 or 2 (not 500m)'),
    ((singleuser(cpu={"limit": "500m"}),), 'singleuser.cpu.limit: "500m" is not a CPU quantity'),
    ((singleuser(cpu={"guarantee": -1}),), "singleuser.cpu.guarantee: -1 is not a CPU quantity"),
    ((singleuser(image={"name": "Jupyter/Notebook", "tag": "1"}),),
     'singleuser.image.name: "Jupyter/Notebook" is not an image name; write lowercase path components'),
    ((singleuser(image={"name": "jupyter/nb:latest", "tag": "1"}),),
     'singleuser.image.name: "jupyter/nb:latest" is not an image name; write lowercase path components '
     "without the tag, after an optional registry host, such as quay.io/org/image (the tag goes in tag)"),
    (('hub={"image": {"name": "quay.io/a/b", "tag": "a tag"}}',),
     'hub.image.tag: "a tag" is not an image tag; write up to 128 letters, digits, _, . or -'),
    ((singleuser(image={"name": "a/b", "tag": ""}),), 'singleuser.image.tag: "" is not an image tag'),
    ((singleuser(image={"name": "a/b", "tag": {"v": 1}}),), 'singleuser.image.tag: {"v":1} is not an image tag'),
    ((singleuser(image={"pullPolicy": "always"}),),
     'singleuser.image.pullPolicy: "always" is not a pull policy; write Always, IfNotPresent or Never, '
     "or leave it unset"),
    (('scheduling={"userScheduler": {"image": {"pullPolicy": "Sometimes"}}}',),
     'scheduling.userScheduler.image.pullPolicy: "Sometimes" is not a pull policy'),
    (('prePuller={"extraImages": {"x": {"name": "a/b", "tag": "1", "pullPolicy": "never"}}}',),
     'prePuller.extraImages.x.pullPolicy: "never" is not a pull policy'),
    # enums without a message of their own list their values
    (('proxy={"service": {"type": "Public"}}',),
     'proxy.service.type: "Public" is not one of its values; write ClusterIP, NodePort, LoadBalancer or ExternalName'),
    (('hub={"baseUrl": "jupyter"}',),
     'hub.baseUrl: "jupyter" is not a URL path; write one starting with /, such as / or /jupyter/'),
    (('hub={"deploymentStrategy": {"rollingUpdate": {"maxSurge": "1.5"}}}',),
     'hub.deploymentStrategy.rollingUpdate.maxSurge: "1.5" is not a number of pods; write a whole number or a percentage'),
    # profile overrides: only KubeSpawner's settings (the nearest one named,
    # as the hub names it), with values they take
    ((singleuser(profileList=[{"display_name": "Small", "kubespawner_override": {"cpu_limt": 2}}]),),
     "singleuser.profileList[0].kubespawner_override sets 'cpu_limt', which is not a KubeSpawner setting; "
     "did you mean 'cpu_limit'?"),
    ((singleuser(profileList=[{"display_name": "S", "kubespawner_override": {"memory_limit": "2G"}}]),),
     "sets 'memory_limit', which is not a KubeSpawner setting; did you mean 'mem_limit'?"),
    ((singleuser(profileList=[{"display_name": "S", "kubespawner_override": {"xyzzy": 1}}]),),
     "singleuser.profileList[0].kubespawner_override sets 'xyzzy', which is not a KubeSpawner setting\n"),
    ((singleuser(profileList=[{"display_name": "S", "profile_options": {"image": {"choices": {
        "new": {"kubespawner_override": {"imagee": "a/b:1"}}}}}}]),),
     "singleuser.profileList[0].profile_options.image.choices.new.kubespawner_override sets 'imagee', "
     "which is not a KubeSpawner setting; did you mean 'image'?"),
    ((singleuser(profileList=[{"display_name": "S", "profile_options": {"image": {"choices": [
        {"kubespawner_override": {"image_pul_policy": "Always"}}]}}}]),),
     "singleuser.profileList[0].profile_options.image.choices[0].kubespawner_override sets "
     "'image_pul_policy', which is not a KubeSpawner setting; did you mean 'image_pull_policy'?"),
    ((singleuser(profileList=[{"display_name": "S", "profile_options": {"image": {"unlisted_choice": {
        "enabled": True, "kubespawner_override": {"imag": "{value}"}}}}}]),),
     "unlisted_choice.kubespawner_override sets 'imag', which is not a KubeSpawner setting; did you mean 'image'?"),
    ((singleuser(profileList=[{"display_name": "S", "kubespawner_override": {"image_pull_policy": "always"}}]),),
     'singleuser.profileList[0].kubespawner_override.image_pull_policy: "always" is not a pull policy'),
    ((singleuser(profileList=[{"display_name": "S", "kubespawner_override": {"mem_limit": "lots"}}]),),
     'singleuser.profileList[0].kubespawner_override.mem_limit: "lots" is not a memory quantity; write'),
    ((singleuser(profileList=[{"display_name": "S", "kubespawner_override": {"cpu_guarantee": "1"}}]),),
     'singleuser.profileList[0].kubespawner_override.cpu_guarantee: "1" is not a CPU quantity'),
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
    singleuser(image={"name": "a/b", "tag": 3.1, "pullPolicy": ""}),
    singleuser(image={"name": "a/b", "tag": "1", "pullPolicy": "IfNotPresent"}),
    'hub={"deploymentStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}}}',
    singleuser(profileList=[{"display_name": "S", "profile_options": {"image": {"choices": [
        {"display_name": "A", "kubespawner_override": {"image": "a/b:1", "mem_limit": 2147483648}}]}}}]),
    singleuser(profileList=[{"display_name": "S", "kubespawner_override": {
        "image": "localhost:5000/a/b:1@sha256:" + "a" * 64, "image_pull_policy": "Always"}}]),
    # an unlisted choice's values hold the user's text: only its keys are checked
    singleuser(profileList=[{"display_name": "S", "profile_options": {"i": {"unlisted_choice": {
        "enabled": True, "kubespawner_override": {"image": "{value}", "mem_limit": "{value}G"}}}}}]),
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
