"""Profiles: list/dict/callable forms, choices, free text, overrides applied
to the spawner, and clear errors for bad user options."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tornado import web

from kubespawner import profiles as P
from testsupport.spawners import config_only_spawner


def make(profile_list, **traits):
    return config_only_spawner(profile_list=profile_list, **traits)


PROFILES = [
    {
        "display_name": "Small",
        "description": "1 CPU",
        "kubespawner_override": {"cpu_limit": 1.0, "environment": {"SIZE": "small"}},
    },
    {
        "display_name": "GPU machine",
        "slug": "gpu",
        "default": True,
        "kubespawner_override": {
            "extra_resource_limits": {"nvidia.com/gpu": "1"},
            "node_selector": lambda spawner: {"gpu-for": spawner.user.name},
        },
        "profile_options": {
            "image": {
                "display_name": "Image",
                "choices": {
                    "torch": {
                        "display_name": "PyTorch",
                        "kubespawner_override": {"image": "torch:1"},
                    },
                    "tf": {
                        "display_name": "TensorFlow",
                        "default": True,
                        "kubespawner_override": {"image": "tf:2"},
                    },
                },
                "unlisted_choice": {
                    "enabled": True,
                    "display_name": "Image name",
                    "validation_regex": r"^quay\.io/[a-z/]+:[\w.]+$",
                    "validation_message": "an image on quay.io with a tag",
                    "kubespawner_override": {"image": "{value}"},
                },
            }
        },
    },
]


def test_slugs_derived_and_default_marked():
    profiles = P.normalize_profile_list(PROFILES)
    assert [p["slug"] for p in profiles] == ["small", "gpu"]
    assert [p["default"] for p in profiles] == [False, True]
    assert P.normalize_profile_list(PROFILES[:1])[0]["default"] is True


def test_dict_keyed_by_slug():
    profiles = P.normalize_profile_list(
        {"tiny": {"display_name": "Tiny"}, "big": {"display_name": "Big"}}
    )
    assert [p["slug"] for p in profiles] == ["tiny", "big"]


def test_duplicate_slugs_and_missing_display_name_rejected():
    with pytest.raises(P.ProfileError, match="slug 'a'"):
        P.normalize_profile_list([{"display_name": "A"}, {"display_name": "a"}])
    with pytest.raises(P.ProfileError, match="display_name"):
        P.normalize_profile_list([{"slug": "x"}])


async def test_default_profile_and_choice_applied():
    spawner = make(PROFILES, cpu_limit=4.0, environment={"KEEP": "1"})
    spawner.user_options = {}
    await spawner.load_user_options()
    assert spawner.image == "tf:2"
    assert spawner.extra_resource_limits == {"nvidia.com/gpu": "1"}
    assert spawner.node_selector == {"gpu-for": "alice"}
    assert spawner.cpu_limit == 4.0


async def test_chosen_profile_merges_dicts():
    spawner = make(PROFILES, environment={"KEEP": "1"})
    spawner.user_options = {"profile": "small"}
    await spawner.load_user_options()
    assert spawner.cpu_limit == 1.0
    assert spawner.environment == {"KEEP": "1", "SIZE": "small"}


async def test_unlisted_choice_formats_value():
    spawner = make(PROFILES)
    spawner.user_options = {"profile": "gpu", "image--unlisted-choice": "quay.io/me/img:1.0"}
    await spawner.load_user_options()
    assert spawner.image == "quay.io/me/img:1.0"


async def test_form_field_names_accepted_as_json():
    spawner = make(PROFILES)
    spawner.user_options = {"profile": "gpu", "profile-option-gpu--image": "torch"}
    await spawner.load_user_options()
    assert spawner.image == "torch:1"


@pytest.mark.parametrize(
    "options, fragments",
    [
        ({"profile": "huge"}, ["'huge'", "small, gpu"]),
        ({"profile": "gpu", "image--unlisted-choice": "50% ü"}, ["'50% ü'", "quay.io"]),
        ({"profile": "gpu", "image": "jax"}, ["'image'", "'jax'", "torch, tf", "free text"]),
        (
            {
                "profile": "gpu",
                "image": "unlisted-choice",
                "image--unlisted-choice": "docker.io/x:1",
            },
            ["'image'", "an image on quay.io with a tag"],
        ),
    ],
)
async def test_invalid_options_rejected_naming_option_and_allowed_values(options, fragments):
    spawner = make(PROFILES)
    spawner.user_options = options
    with pytest.raises(web.HTTPError) as info:
        await spawner.load_user_options()
    assert info.value.status_code == 400
    for fragment in fragments:
        assert fragment in info.value.get_message()
        assert fragment in info.value.jupyterhub_message


async def test_async_callable_profile_list():
    async def per_user(spawner):
        return [
            {"display_name": f"For {spawner.user.name}", "kubespawner_override": {"image": "u:1"}}
        ]

    spawner = make(per_user)
    spawner.user_options = {"profile": "for-alice"}
    await spawner.load_user_options()
    assert spawner.image == "u:1"


async def test_switching_profiles_does_not_accumulate_overrides():
    spawner = make(PROFILES, cpu_limit=4.0)
    spawner.user_options = {"profile": "gpu"}
    await spawner.load_user_options()
    assert spawner.extra_resource_limits == {"nvidia.com/gpu": "1"}
    spawner.clear_state()
    spawner.user_options = {"profile": "small"}
    await spawner.load_user_options()
    assert spawner.extra_resource_limits == {}
    assert spawner.image == "quay.io/jupyterhub/singleuser:latest"
    assert spawner.cpu_limit == 1.0


async def test_load_is_idempotent_for_the_same_options():
    calls = []

    def counted(spawner):
        calls.append(1)
        return "x:1"

    spawner = make([{"display_name": "A", "kubespawner_override": {"image": counted}}])
    spawner.user_options = {}
    await spawner.load_user_options()
    await spawner.load_user_options()
    assert calls == [1]


async def test_profile_overriding_names_recomputes_them():
    spawner = make(
        [{"display_name": "A", "kubespawner_override": {"pod_name_template": "nb-{username}"}}]
    )
    spawner.user_options = {}
    await spawner.load_user_options()
    assert spawner.pod_name == "nb-alice"


async def test_override_of_unknown_setting_is_reported():
    spawner = make([{"display_name": "A", "kubespawner_override": {"imagee": "x"}}])
    spawner.user_options = {}
    with pytest.raises(web.HTTPError, match="imagee"):
        await spawner.load_user_options()


async def test_apply_user_options_default_runs_the_profile():
    # JupyterHub sets user_options, then calls the apply_user_options hook
    spawner = make(PROFILES)
    spawner.user_options = {"profile": "small"}
    await spawner._run_apply_user_options(spawner.user_options)
    assert spawner.cpu_limit == 1.0
    spawner.clear_state()
    spawner.user_options = {"profile": "nope"}
    with pytest.raises(web.HTTPError) as info:
        await spawner._run_apply_user_options(spawner.user_options)
    assert info.value.status_code == 400 and "'nope'" in info.value.get_message()


def test_no_profiles_means_no_form():
    assert make([]).options_form == ""


async def test_clear_state_reverts_profile_overrides_and_names():
    spawner = make(
        [
            {
                "display_name": "A",
                "kubespawner_override": {"pod_name_template": "nb-{username}", "image": "a:1"},
            }
        ]
    )
    spawner.user_options = {}
    await spawner.load_user_options()
    assert (spawner.pod_name, spawner.image) == ("nb-alice", "a:1")
    spawner.clear_state()
    assert spawner.pod_name == "jupyter-alice"
    assert spawner.image == "quay.io/jupyterhub/singleuser:latest"


def test_legacy_profile_index_still_selects():
    profiles = P.normalize_profile_list(PROFILES)
    assert P.choose(profiles, {"profile": "0"})[0]["slug"] == "small"
    with pytest.raises(P.ProfileError):
        P.choose(profiles, {"profile": "7"})


option_values = st.one_of(
    st.none(), st.text(max_size=20), st.lists(st.text(max_size=10), max_size=2), st.integers()
)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["profile", "image", "image--unlisted-choice", "profile-option-gpu--image", "x"]
        ),
        option_values,
    )
)
def test_any_user_options_either_select_or_raise_a_profile_error(user_options):
    profiles = P.normalize_profile_list(PROFILES)
    try:
        profile, selections = P.choose(profiles, user_options)
    except P.ProfileError as e:
        assert str(e)
    else:
        overrides = P.overrides_for(profile, selections)
        assert isinstance(overrides, dict)


async def test_none_in_a_dict_override_removes_the_key():
    spawner = make(
        [
            {
                "display_name": "A",
                "kubespawner_override": {"environment": {"DROP": None, "ADD": "1"}},
            }
        ],
        environment={"DROP": "x", "KEEP": "y"},
    )
    spawner.user_options = {}
    await spawner.load_user_options()
    assert spawner.environment == {"KEEP": "y", "ADD": "1"}
