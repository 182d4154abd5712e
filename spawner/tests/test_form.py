"""The profile form: rendered HTML parsed, accessible labels, previous choice
pre-selected, and form submissions turned into user_options."""

from testsupport.html_form import OptionsForm
from testsupport.spawners import config_only_spawner

PROFILES = {
    "cpu": {"display_name": "CPU only", "description": "Small & cheap"},
    "gpu": {
        "display_name": "GPU",
        "default": True,
        "profile_options": {
            "image": {
                "display_name": "Image",
                "choices": {
                    "torch": {"display_name": "PyTorch", "kubespawner_override": {"image": "t:1"}},
                    "tf": {"display_name": "TensorFlow", "kubespawner_override": {"image": "f:1"}},
                },
                "unlisted_choice": {
                    "enabled": True,
                    "display_name": "Custom image",
                    "validation_regex": "^[a-z]+:[0-9]+$",
                    "validation_message": "name:tag",
                    "kubespawner_override": {"image": "{value}"},
                },
            }
        },
    },
}


def make(**traits):
    return config_only_spawner(profile_list=PROFILES, **traits)


async def render(spawner):
    html = await spawner.get_options_form()
    assert html
    return OptionsForm(html)


async def test_form_lists_profiles_with_labels_for_every_control():
    form = await render(make())
    assert [i["value"] for i in form.inputs if i.get("type") == "radio"] == ["cpu", "gpu"]
    ids = {i["id"] for i in form.inputs if "id" in i} | {
        s["attrs"]["id"] for s in form.selects.values()
    }
    # every control has a <label for=...> naming it
    for control_id in ids:
        assert form.labels.get(control_id), f"no label for {control_id}"
    assert form.labels["profile-item-cpu"] == "CPU only"
    assert "checked" in form.radio("gpu") and "checked" not in form.radio("cpu")
    select = form.selects["profile-option-gpu--image"]
    assert [o["value"] for o in select["options"]] == ["torch", "tf", "unlisted-choice"]
    text = next(i for i in form.inputs if i["name"] == "profile-option-gpu--image--unlisted-choice")
    assert text["pattern"] == "^[a-z]+:[0-9]+$" and text["title"] == "name:tag"


async def test_descriptions_are_escaped():
    spawner = make()
    html = await spawner.get_options_form()
    assert "Small &amp; cheap" in html


async def test_previous_choice_is_preselected():
    spawner = make()
    spawner.user_options = {
        "profile": "gpu",
        "image": "unlisted-choice",
        "image--unlisted-choice": "me:1",
    }
    form = await render(spawner)
    assert form.selected_option("profile-option-gpu--image") == ["unlisted-choice"]
    text = next(i for i in form.inputs if i["name"].endswith("--unlisted-choice"))
    assert text["value"] == "me:1"
    spawner.user_options = {"profile": "cpu"}
    form = await render(spawner)
    assert "checked" in form.radio("cpu")
    # the default choice of the not-selected profile stays preselected
    assert form.selected_option("profile-option-gpu--image") == ["torch"]


async def test_form_submission_round_trip():
    spawner = make()
    formdata = {
        "profile": ["gpu"],
        "profile-option-gpu--image": ["tf"],
        "profile-option-gpu--image--unlisted-choice": [""],
        "profile-option-cpu--ignored": ["x"],
    }
    options = spawner.run_options_from_form(formdata)
    assert options == {"profile": "gpu", "image": "tf", "image--unlisted-choice": ""}
    spawner.user_options = options
    await spawner.load_user_options()
    assert spawner.image == "f:1"


async def test_custom_template_and_template_paths(tmp_path):
    (tmp_path / "extra.html").write_text("<p id='extra'>{{ profiles|length }} profiles</p>")
    spawner = make(
        profile_form_template='{% include "extra.html" %}{% include "form.html" %}',
        additional_profile_form_template_paths=[str(tmp_path)],
    )
    html = await spawner.get_options_form()
    assert "<p id='extra'>2 profiles</p>" in html
    assert 'name="profile"' in html


async def test_template_path_can_replace_form(tmp_path):
    (tmp_path / "form.html").write_text("custom {{ selected }}")
    spawner = make(additional_profile_form_template_paths=[str(tmp_path)])
    assert await spawner.get_options_form() == "custom gpu"
