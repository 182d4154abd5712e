"""Profiles through the hub: the options form as HTML, a form submission,
JSON options as the REST API passes them, and invalid options."""

import pytest
from tornado import web

from testsupport.html_form import OptionsForm

NS = "default"

PROFILES = [
    {"display_name": "Small", "slug": "small", "default": True},
    {
        "display_name": "Data science",
        "slug": "datasci",
        "kubespawner_override": {"image": "datasci:2", "extra_labels": {"profile": "datasci"}},
        "profile_options": {
            "size": {
                "display_name": "Size",
                "choices": {
                    "s": {"display_name": "S", "kubespawner_override": {"mem_limit": "1G"}},
                    "l": {
                        "display_name": "L",
                        "default": True,
                        "kubespawner_override": {"mem_limit": "4G"},
                    },
                },
            }
        },
    },
]


@pytest.fixture
async def hub(hub_factory):
    return await hub_factory(profile_list=PROFILES)


async def test_form_submission_spawns_the_chosen_profile(hub, sim):
    spawner = hub.spawner("ann")
    html = await spawner.get_options_form()
    form = OptionsForm(html)
    assert form.radio_values("profile") == ["small", "datasci"]
    size_field = next(name for name in form.selects if name.endswith("--size"))
    assert form.option_values(size_field)[:2] == ["s", "l"]
    # what the browser posts: every field as a list of strings
    formdata = {"profile": ["datasci"], size_field: ["s"]}
    options = spawner.run_options_from_form(formdata)
    await hub.spawn("ann", options=options)
    pod = sim.get("pods", "jupyter-ann", NS)
    container = pod["spec"]["containers"][0]
    assert container["image"] == "datasci:2"
    assert container["resources"]["limits"]["memory"] == str(1024**3)  # "1G" is 2**30 bytes
    assert pod["metadata"]["labels"]["profile"] == "datasci"


async def test_json_options_and_previous_choice_preselected(hub, sim):
    await hub.spawn("ben", options={"profile": "datasci", "size": "l"})
    container = sim.get("pods", "jupyter-ben", NS)["spec"]["containers"][0]
    assert container["image"] == "datasci:2"
    await hub.stop("ben")
    spawner = hub.user("ben").spawners[""]
    html = await spawner.get_options_form()
    assert 'value="datasci"' in html
    chosen = html.split('value="datasci"', 1)[1].split(">", 1)[0]
    assert "checked" in chosen
    # no options: the default profile
    await hub.spawn("bea", options={})
    assert sim.get("pods", "jupyter-bea", NS)["spec"]["containers"][0]["image"] == "pause:3.9"


async def test_invalid_options_are_rejected_naming_the_allowed_values(hub, sim):
    with pytest.raises(web.HTTPError) as info:
        await hub.spawn("cy", options={"profile": "huge"})
    assert info.value.status_code == 400
    assert "huge" in str(info.value) and "datasci" in str(info.value)
    assert sim.requests("create", "pods") == 0
