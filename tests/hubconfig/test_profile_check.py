"""Profile lists only the hub sees (hub.config, hub.extraConfig, a callable's
result) are checked like singleuser.profileList is by helm: at hub start for
a list, on each call for a callable, with one message naming the entry, the
key and a close setting name. The setting names are chart/files/hub/hubconf/kubespawner_traits.json,
the list ci/generate-schema writes from the spawner (and puts in the schema).
"""

import json
import re

import pytest
import yaml
from tornado import web

from testsupport.spawners import real_spawner

from .hubenv import HUB_CONFIG, load_shipped_module, raises_config_error, render

BAD_PROFILES = [{"display_name": "Small", "kubespawner_override": {"cpu_limt": 2}}]
NOT_A_SETTING = (
    "[0].kubespawner_override sets 'cpu_limt', which is not a KubeSpawner setting; "
    "did you mean 'cpu_limit'?"
)


@pytest.fixture
def load(hub_setup, tmp_path):
    def _load(values):
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(values))
        return hub_setup(path).load()

    return _load


def test_the_trait_list_is_the_spawners():
    from kubespawner import KubeSpawner

    names = json.loads((HUB_CONFIG / "hubconf" / "kubespawner_traits.json").read_text())
    assert names == sorted(KubeSpawner.class_trait_names(config=True))
    assert {"cpu_limit", "image", "profile_list", "singleuser_image_spec"} <= set(names)


def test_a_list_in_hub_config_is_checked_at_start(load):
    values = {"hub": {"config": {"KubeSpawner": {"profile_list": BAD_PROFILES}}}}
    with raises_config_error(re.escape("KubeSpawner.profile_list" + NOT_A_SETTING) + "$"):
        load(values)


@pytest.mark.parametrize(
    "override, message",
    [
        ({"cpu_limit": "two"}, r"\[0\]\.kubespawner_override\.cpu_limit: 'two' is not valid: "),
        ({"mem_limit": "1Gi"}, r"\.mem_limit: '1Gi' is not valid: .*1Gi is not a valid memory"),
        (
            "big",
            r"\[0\]\.kubespawner_override must be a mapping of KubeSpawner settings, not 'big'",
        ),
    ],
)
def test_values_are_checked_by_their_trait(load, override, message):
    values = {"hub": {"config": {"KubeSpawner": {"profile_list": [
        {"display_name": "S", "kubespawner_override": override}]}}}}  # fmt: skip
    with raises_config_error(message):
        load(values)


def test_choices_and_unlisted_choices_are_checked(load):
    profiles = [{"display_name": "S", "profile_options": {"image": {
        "choices": {"new": {"kubespawner_override": {"imagee": "a/b:1"}}},
        "unlisted_choice": {"enabled": True, "kubespawner_override": {"image_pul_policy": "{value}"}}}}}]  # fmt: skip
    with raises_config_error(
        r"KubeSpawner.profile_list\[0\]\.profile_options\.image\.choices\.new\.kubespawner_override "
        r"sets 'imagee', .*did you mean 'image'\?; KubeSpawner.profile_list\[0\]\.profile_options\."
        r"image\.unlisted_choice\.kubespawner_override sets 'image_pul_policy'.*'image_pull_policy'"
    ):
        load({"hub": {"config": {"KubeSpawner": {"profile_list": profiles}}}})


CALLABLE = """
async def profiles(spawner):
    return {profiles!r}

c.KubeSpawner.profile_list = profiles
"""


async def test_a_callable_is_checked_when_called(load):
    config = load({"hub": {"extraConfig": {"p": CALLABLE.format(profiles=BAD_PROFILES)}}})
    spawner = real_spawner(config)
    with pytest.raises(web.HTTPError) as e:
        await spawner.get_profile_list()
    assert e.value.status_code == 500
    assert e.value.jupyterhub_message == "KubeSpawner.profile_list (as returned)" + NOT_A_SETTING
    # the user's spawn gets the same answer
    spawner.user_options = {"profile": "small"}
    with pytest.raises(web.HTTPError) as e:
        await spawner.load_user_options()
    assert e.value.jupyterhub_message.endswith(NOT_A_SETTING)


async def test_a_good_callable_works_unchanged(load):
    good = [{"display_name": "Big", "kubespawner_override": {"cpu_limit": 4}}]
    config = load({"hub": {"extraConfig": {"p": CALLABLE.format(profiles=good)}}})
    spawner = real_spawner(config)
    assert [p["slug"] for p in await spawner.get_profile_list()] == ["big"]
    spawner.user_options = {"profile": "big"}
    await spawner.load_user_options()
    assert spawner.cpu_limit == 4


def test_the_charts_profiles_load(hub_setup):
    # every profile list in the repository's values files passes the check
    from .hubenv import REPO

    for path in [REPO / "dev-config.yaml", REPO / "tests/chart/values/maximal.yaml"]:
        assert hub_setup(path).config.KubeSpawner.profile_list


def _hub_profile_check():
    return load_shipped_module("hubconf/profiles.py", "profile_check")


# Typos whose nearest trait is clear, ties, and ones too far from any trait.
TYPOS = ["cpu_limt", "memory_limit", "imagee", "image_pul_policy", "nodeselector",
         "Uid", "gid_", "extra_containerz", "xyzzy", "default_urll", "lifecycle_hook"]  # fmt: skip


def test_helm_and_the_hub_refuse_a_mistyped_key_with_the_same_message(tmp_path):
    """The chart (templates/_helpers-checks.tpl) and the hub (hubconf/profiles.py)
    each suggest a trait: for the same typos, they say the same sentence."""
    check = _hub_profile_check()
    profile = {"display_name": "S", "profile_options": {"o": {"choices": [{}]}}}
    for typo in TYPOS:
        profile["profile_options"]["o"]["choices"][0]["kubespawner_override"] = {typo: 1}
        hub = check.problems([profile], "singleuser.profileList")
        assert len(hub) == 1, hub
        path = tmp_path / "values.yaml"
        path.write_text(yaml.safe_dump({"singleuser": {"profileList": [profile]}}))
        with pytest.raises(RuntimeError) as e:
            render([path])
        helm = re.search(r"\): (.*)$", str(e.value), re.M).group(1)
        assert helm == hub[0]
    assert check.nearest_name("cpu_limt", check.TRAIT_NAMES) == "cpu_limit"
    assert check.nearest_name("xyzzy", check.TRAIT_NAMES) is None
