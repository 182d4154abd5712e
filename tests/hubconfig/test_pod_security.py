"""Users' pods as the real spawner builds them from the chart's values:
hardened by default (non-root, no capabilities, seccomp RuntimeDefault, no
privilege escalation), each default overridable through z2jh's keys, and
`podSecurity.level: restricted` leaving out the iptables init container.
"""

import pytest
import yaml
from test_pod_manifests import spawner_for, valid

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
        pod = valid(await spawner_for(hub_setup(path).config).build_pod_manifest())
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


async def test_z2jh_extra_pod_config_sets_fs_group_change_policy(user_pod):
    # z2jh has no key of its own for it: its users set it through extraPodConfig
    values = {
        "singleuser": {"extraPodConfig": {"securityContext": {"fsGroupChangePolicy": "Always"}}}
    }
    spec = await user_pod(values)
    assert spec["securityContext"] == {"fsGroup": 100, "fsGroupChangePolicy": "Always"}
