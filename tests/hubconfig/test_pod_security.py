"""Users' pods as the real spawner builds them from the chart's values:
hardened by default (non-root, no capabilities, seccomp RuntimeDefault, no
privilege escalation), each default overridable through z2jh's keys, and
`podSecurity.level: restricted` leaving out the iptables init container.
"""

import re
import subprocess

import pytest
import yaml

from testsupport.spawners import real_spawner

from .hubenv import CHART, REPO, raises_config_error, render
from .test_pod_manifests import valid

HELMS = {"3": "helm", "4": "helm4/helm"}

HARDENED = {
    "runAsUser": 1000,
    "allowPrivilegeEscalation": False,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


@pytest.fixture
def user_pod(hub_setup, tmp_path):
    """The user pod the spawner makes with these values (as config.yaml)."""

    async def make(values):
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(values))
        pod = valid(await real_spawner(hub_setup(path).config).build_pod_manifest())
        return pod["spec"]

    return make


async def test_the_notebook_container_is_hardened_by_default(user_pod):
    spec = await user_pod({})
    assert spec["containers"][0]["securityContext"] == HARDENED
    # OnRootMismatch: no recursive chown of a big home at every start
    assert spec["securityContext"] == {"fsGroup": 100, "fsGroupChangePolicy": "OnRootMismatch"}
    # the default level keeps z2jh's metadata blocker (root, NET_ADMIN)
    (blocker,) = spec["initContainers"]
    assert blocker["name"] == "block-cloud-metadata"
    assert blocker["securityContext"]["capabilities"]["add"] == ["NET_ADMIN", "NET_RAW"]


async def test_restricted_leaves_out_the_iptables_container(user_pod):
    spec = await user_pod({"podSecurity": {"level": "restricted"}})
    assert "initContainers" not in spec
    assert spec["containers"][0]["securityContext"] == HARDENED


async def test_each_default_is_overridable(user_pod):
    spec = await user_pod(
        {
            "singleuser": {
                "uid": 1234,
                "fsGid": 5678,
                "allowPrivilegeEscalation": True,
                "containerSecurityContext": {
                    "runAsNonRoot": None,  # left out
                    "readOnlyRootFilesystem": True,  # added beside the defaults
                    "seccompProfile": {"type": "Localhost", "localhostProfile": "nb.json"},
                },
                "podSecurityContext": {
                    "supplementalGroups": [9],
                    "fsGroupChangePolicy": "Always",
                },
            }
        }
    )
    assert spec["containers"][0]["securityContext"] == {
        "runAsUser": 1234,
        "allowPrivilegeEscalation": True,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "Localhost", "localhostProfile": "nb.json"},
    }
    assert spec["securityContext"] == {
        "fsGroup": 5678,
        "supplementalGroups": [9],
        "fsGroupChangePolicy": "Always",
    }


async def test_root_keeps_the_capabilities_its_start_script_needs(user_pod):
    # z2jh's "grant sudo" recipe: start as root, the image's script switches user
    spec = await user_pod({"singleuser": {"uid": 0, "extraEnv": {"GRANT_SUDO": "yes"}}})
    assert spec["containers"][0]["securityContext"] == {
        "runAsUser": 0,
        "allowPrivilegeEscalation": False,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


async def test_hub_config_replaces_the_whole_context(user_pod):
    # the z2jh escape hatch wins over singleuser.*, as for every trait
    spec = await user_pod(
        {"hub": {"config": {"KubeSpawner": {"container_security_context": {"runAsGroup": 7}}}}}
    )
    assert spec["containers"][0]["securityContext"] == {
        "runAsUser": 1000,
        "allowPrivilegeEscalation": False,
        "runAsGroup": 7,
    }


def _profile_pod(hub_setup, tmp_path):
    """The user pod of profile `slug` (and options) with these values."""

    async def make(values, slug, options=None):
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(values))
        spawner = real_spawner(hub_setup(path).config)
        spawner.user_options = {"profile": slug, **(options or {})}
        await spawner.load_user_options()
        return valid(await spawner.build_pod_manifest())["spec"]

    return make


@pytest.fixture
def profile_pod(hub_setup, tmp_path):
    return _profile_pod(hub_setup, tmp_path)


SIDECAR = {"name": "sidecar", "image": "busybox:1", "command": ["sleep", "inf"]}
INIT = {"name": "prepare", "image": "busybox:1", "command": ["true"]}
RESTRICTED = {"podSecurity": {"level": "restricted"}}


async def test_users_init_containers_and_sidecars_get_the_notebooks_defaults(user_pod):
    own = {"runAsUser": 2000, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}  # fmt: skip
    spec = await user_pod({**RESTRICTED, "singleuser": {
        "initContainers": [INIT],
        "extraContainers": [SIDECAR, {**SIDECAR, "name": "own", "securityContext": own}]}})  # fmt: skip
    notebook = spec["containers"][0]["securityContext"]
    assert notebook == HARDENED
    assert spec["initContainers"][0]["securityContext"] == HARDENED
    assert spec["containers"][1]["securityContext"] == HARDENED
    # a container's own fields win, field by field
    assert spec["containers"][2]["securityContext"] == {**HARDENED, **own}


async def test_privileged_is_not_handed_on(user_pod):
    spec = await user_pod({"singleuser": {
        "containerSecurityContext": {"privileged": True}, "extraContainers": [SIDECAR]}})  # fmt: skip
    assert spec["containers"][0]["securityContext"]["privileged"] is True
    assert "privileged" not in spec["containers"][1]["securityContext"]


async def test_profile_overrides_of_containers_get_the_defaults(profile_pod):
    profiles = [{"display_name": "Side", "slug": "side", "kubespawner_override": {
        "extra_containers": [SIDECAR], "init_containers": [INIT]}}]  # fmt: skip
    spec = await profile_pod({**RESTRICTED, "singleuser": {"profileList": profiles}}, "side")
    assert spec["containers"][1]["securityContext"] == HARDENED
    assert spec["initContainers"][0]["securityContext"] == HARDENED


ROOT = {
    "runAsUser": 0,
    "allowPrivilegeEscalation": False,
    "seccompProfile": {"type": "RuntimeDefault"},
}


async def test_a_root_profile_drops_the_non_root_defaults(profile_pod):
    # z2jh: root is allowed when asked for explicitly; the kubelet would
    # refuse runAsUser 0 with runAsNonRoot (CreateContainerConfigError)
    profiles = [
        {"display_name": "Root", "slug": "root", "kubespawner_override": {"uid": 0}},
        {"display_name": "Choice", "slug": "choice", "profile_options": {"who": {
            "display_name": "Who", "choices": {"root": {"display_name": "root",
                                                        "kubespawner_override": {"uid": 0}}}}}},
        {"display_name": "Forced", "slug": "forced", "kubespawner_override": {
            "uid": 0, "container_security_context": {"runAsNonRoot": True}}},
        {"display_name": "Plain", "slug": "plain"},
    ]  # fmt: skip
    values = {"singleuser": {"profileList": profiles}}
    assert (await profile_pod(values, "root"))["containers"][0]["securityContext"] == ROOT
    spec = await profile_pod(values, "choice", {"who": "root"})
    assert spec["containers"][0]["securityContext"] == ROOT
    # the admin who forces runAsNonRoot keeps it (and the kubelet's refusal)
    forced = (await profile_pod(values, "forced"))["containers"][0]["securityContext"]
    assert forced["runAsNonRoot"] is True and forced["runAsUser"] == 0
    # other profiles keep the hardened defaults
    assert (await profile_pod(values, "plain"))["containers"][0]["securityContext"] == HARDENED


ROOT_REFUSED = (
    "(profile 'Root') sets uid 0 (root), which podSecurity.level restricted refuses: remove "
    "it (the image's user) or give a non-zero uid, or set podSecurity.level: baseline"
)


def test_restricted_refuses_a_root_profile_the_hub_sees(hub_setup, tmp_path):
    # a profile list only the hub sees (hub.config): the same message as helm's
    profiles = [{"display_name": "Root", "kubespawner_override": {"uid": 0}}]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({**RESTRICTED, "hub": {"config": {"KubeSpawner": {"profile_list": profiles}}}}))  # fmt: skip
    with raises_config_error(
        re.escape("KubeSpawner.profile_list[0].kubespawner_override " + ROOT_REFUSED)
    ):
        hub_setup(path).load()


@pytest.mark.parametrize("helm", ["3", "4"])
def test_restricted_refuses_a_root_profile_at_helm_time(tmp_path, helm):
    profiles = [{"display_name": "Ok"}, {"display_name": "Root", "profile_options": {"who": {
        "choices": [{"display_name": "root", "kubespawner_override": {"uid": 0}}]}}}]  # fmt: skip
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({**RESTRICTED, "singleuser": {"profileList": profiles}}))
    out = subprocess.run([REPO / ".bin" / HELMS[helm], "template", "jhub", CHART, "-f", path],
                         capture_output=True, text=True)  # fmt: skip
    assert out.returncode != 0
    assert (
        "singleuser.profileList[1].profile_options.who.choices[0].kubespawner_override "
        + ROOT_REFUSED
        in out.stderr
    )
    # baseline admits it
    path.write_text(yaml.safe_dump({"podSecurity": {"level": "baseline"}, "singleuser": {"profileList": profiles}}))  # fmt: skip
    assert render([path])


async def test_z2jh_extra_pod_config_sets_fs_group_change_policy(user_pod):
    # z2jh has no key of its own for it: its users set it through extraPodConfig
    values = {
        "singleuser": {"extraPodConfig": {"securityContext": {"fsGroupChangePolicy": "Always"}}}
    }
    spec = await user_pod(values)
    assert spec["securityContext"] == {"fsGroup": 100, "fsGroupChangePolicy": "Always"}
