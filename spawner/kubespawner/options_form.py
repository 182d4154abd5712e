"""Rendering the profile picker as HTML (Jinja) and reading its submission."""

import os
from collections.abc import Mapping

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from . import profiles as P

TEMPLATE_DIR = os.path.join(os.path.dirname(__file__), "templates")
DEFAULT_TEMPLATE = "form.html"


def _environment(additional_paths) -> Environment:
    # user-supplied paths first, so they can replace form.html or add includes
    loader = ChoiceLoader(
        [FileSystemLoader(list(additional_paths or [])), FileSystemLoader(TEMPLATE_DIR)]
    )
    return Environment(loader=loader, autoescape=select_autoescape(default=True))


def previous_selection(profiles: list[dict], user_options: Mapping | None):
    """The profile slug and option choices to pre-select: the user's last
    options if they are still valid, else the defaults."""
    try:
        profile, chosen = P.choose(profiles, user_options or {})
    except P.ProfileError:
        profile, chosen = P.choose(profiles, {})
    return profile["slug"], chosen


def render_profile_form(
    profiles: list[dict],
    user_options: Mapping | None = None,
    template: str = "",
    additional_paths=(),
    **extra_context,
) -> str:
    """HTML for the profile picker. ``template`` is template source that
    replaces the built-in form (it may ``{% extends "form.html" %}`` or
    include files from ``additional_paths``)."""
    env = _environment(additional_paths)
    tmpl = env.from_string(template) if template else env.get_template(DEFAULT_TEMPLATE)
    selected, chosen = previous_selection(profiles, user_options)
    defaults = {
        p["slug"]: {name: P.default_choice(opt) for name, opt in p["profile_options"].items()}
        for p in profiles
    }
    return tmpl.render(
        profiles=profiles,
        # the name older templates use
        profile_list=profiles,
        selected=selected,
        chosen=chosen,
        defaults=defaults,
        unlisted_value=P.UNLISTED_CHOICE_VALUE,
        field_prefix=P.FORM_OPTION_PREFIX,
        **extra_context,
    )
