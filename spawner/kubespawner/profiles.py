"""Profiles: named sets of spawner overrides a user picks from.

Pure functions: normalising ``profile_list`` as configured, choosing the
profile and option values from ``user_options``, and computing the overrides
they imply. Applying the overrides to a spawner is the spawner's business.

``user_options`` conventions (the same for the HTML form and the REST API)::

    {"profile": "<profile slug>",
     "<option name>": "<choice slug>",
     "<option name>--unlisted-choice": "<free text>"}

The form's field names (``profile-option-<profile>--<option>``) are also
accepted, so a form submission posted as JSON works too.
"""

import copy
import re
from collections.abc import Mapping

from .utils import lenient_format

UNLISTED_SUFFIX = "--unlisted-choice"
# value of the "Other…" entry in a choice <select>
UNLISTED_CHOICE_VALUE = "unlisted-choice"
FORM_OPTION_PREFIX = "profile-option-"


class ProfileError(ValueError):
    """A profile list that is malformed, or user options that do not match it.
    The message is meant for the person who caused it."""


def _slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")
    return slug or "profile"


def _normalize_choices(choices, where: str) -> dict:
    if choices is None:
        return {}
    if isinstance(choices, Mapping):
        items = [(str(k), dict(v or {})) for k, v in choices.items()]
    elif isinstance(choices, list):
        items = []
        for c in choices:
            c = dict(c)
            slug = c.get("slug") or _slugify(c.get("display_name", ""))
            items.append((slug, c))
    else:
        raise ProfileError(f"{where}.choices must be a dict keyed by slug, got {choices!r}")
    out = {}
    for slug, choice in items:
        choice.setdefault("display_name", slug)
        choice.setdefault("kubespawner_override", {})
        choice["slug"] = slug
        out[slug] = choice
    return out


def _normalize_option(name: str, option, where: str) -> dict:
    if not isinstance(option, Mapping):
        raise ProfileError(f"{where} must be a dict, got {option!r}")
    option = dict(option)
    where = f"{where}"
    option["name"] = name
    option.setdefault("display_name", name)
    option["choices"] = _normalize_choices(option.get("choices"), where)
    unlisted = dict(option.get("unlisted_choice") or {})
    unlisted.setdefault("enabled", False)
    if unlisted["enabled"]:
        unlisted.setdefault("display_name", "Other…")
        unlisted.setdefault("display_name_in_choices", "Other…")
        unlisted.setdefault("kubespawner_override", {})
        regex = unlisted.get("validation_regex")
        if regex:
            try:
                re.compile(regex)
            except re.error as e:
                raise ProfileError(
                    f"{where}.unlisted_choice.validation_regex {regex!r} is not a valid regex: {e}"
                ) from None
        unlisted.setdefault(
            "validation_message",
            f"must match {regex}" if regex else "",
        )
    option["unlisted_choice"] = unlisted
    if not option["choices"] and not unlisted["enabled"]:
        raise ProfileError(f"{where} needs choices or an enabled unlisted_choice")
    return option


def normalize_profile_list(profile_list) -> list[dict]:
    """Return a list of complete profile dicts from a list, or a dict keyed by
    slug. Fills in slugs (derived from display_name), exactly one default
    (the first, unless one says ``default: True``), and option structures."""
    if not profile_list:
        return []
    if isinstance(profile_list, Mapping):
        raw = []
        for slug, profile in profile_list.items():
            profile = dict(profile)
            profile.setdefault("slug", slug)
            raw.append(profile)
    elif isinstance(profile_list, list | tuple):
        raw = [dict(p) for p in profile_list]
    else:
        raise ProfileError(
            f"profile_list must be a list, a dict keyed by slug, or a callable returning one; "
            f"got {type(profile_list).__name__}"
        )
    profiles = []
    seen = set()
    for index, profile in enumerate(raw):
        if "display_name" not in profile:
            raise ProfileError(f"profile_list[{index}] has no display_name: {profile!r}")
        slug = profile.get("slug") or _slugify(profile["display_name"])
        if slug in seen:
            raise ProfileError(
                f"profile_list has two profiles with slug {slug!r}; give them distinct 'slug' keys"
            )
        seen.add(slug)
        profile["slug"] = slug
        profile.setdefault("description", "")
        profile.setdefault("kubespawner_override", {})
        where = f"profile {slug!r}"
        options = profile.get("profile_options") or {}
        if not isinstance(options, Mapping):
            raise ProfileError(f"{where}: profile_options must be a dict keyed by option name")
        profile["profile_options"] = {
            name: _normalize_option(name, opt, f"{where} option {name!r}")
            for name, opt in options.items()
        }
        profiles.append(profile)
    defaults = [p for p in profiles if p.get("default")]
    chosen_default = defaults[0] if defaults else profiles[0]
    for p in profiles:
        p["default"] = p is chosen_default
    return profiles


def default_choice(option: dict) -> str | None:
    for slug, choice in option["choices"].items():
        if choice.get("default"):
            return slug
    return next(iter(option["choices"]), None)


def _lookup(user_options: Mapping, profile_slug: str, key: str):
    """An option value under its user_options key or its form field name."""
    for candidate in (
        key,
        f"{FORM_OPTION_PREFIX}{profile_slug}--{key}",
        f"{FORM_OPTION_PREFIX}{key}",
    ):
        if candidate in user_options:
            value = user_options[candidate]
            # form data arrives as lists of strings
            if isinstance(value, list):
                value = value[0] if value else None
            return value
    return None


def choose(profiles: list[dict], user_options: Mapping | None):
    """The selected profile and, per option, ``("choice", slug)`` or
    ``("unlisted", text)``. Raises ProfileError naming the bad option and the
    allowed values."""
    user_options = user_options or {}
    wanted = user_options.get("profile")
    if isinstance(wanted, list):
        wanted = wanted[0] if wanted else None
    if wanted:
        matches = [p for p in profiles if p["slug"] == wanted]
        if not matches and str(wanted).isdigit() and int(wanted) < len(profiles):
            # older forms submitted the profile's index; such options may be
            # stored in the hub's database and reused on the next spawn
            matches = [profiles[int(wanted)]]
        if not matches:
            allowed = ", ".join(p["slug"] for p in profiles)
            raise ProfileError(f"profile {wanted!r} does not exist; choose one of: {allowed}")
        profile = matches[0]
    else:
        profile = next(p for p in profiles if p["default"])
    selections = {}
    for name, option in profile["profile_options"].items():
        selections[name] = _choose_option(profile, name, option, user_options)
    return profile, selections


def _choose_option(profile, name, option, user_options):
    slug = profile["slug"]
    value = _lookup(user_options, slug, name)
    unlisted_text = _lookup(user_options, slug, name + UNLISTED_SUFFIX)
    unlisted = option["unlisted_choice"]
    wants_unlisted = value == UNLISTED_CHOICE_VALUE or (value is None and unlisted_text)
    if wants_unlisted:
        if not unlisted["enabled"]:
            raise ProfileError(
                f"option {name!r} of profile {slug!r} does not accept free text; "
                f"choose one of: {', '.join(option['choices'])}"
            )
        text = "" if unlisted_text is None else str(unlisted_text)
        regex = unlisted.get("validation_regex")
        if not text or (regex and not re.fullmatch(regex, text)):
            message = unlisted.get("validation_message") or f"must match {regex}"
            raise ProfileError(
                f"option {name!r} of profile {slug!r}: {text!r} is not allowed ({message})"
            )
        return ("unlisted", text)
    if value is None or value == "":
        default = default_choice(option)
        if default is None:
            raise ProfileError(
                f"option {name!r} of profile {slug!r} needs a value ({unlisted['validation_message']})"
            )
        return ("choice", default)
    if value not in option["choices"]:
        allowed = ", ".join(option["choices"])
        extra = " or free text" if unlisted["enabled"] else ""
        raise ProfileError(
            f"option {name!r} of profile {slug!r}: {value!r} is not one of: {allowed}{extra}"
        )
    return ("choice", value)


def _format_value(override, value: str):
    """``{value}`` in an unlisted choice's override becomes the user's text,
    ``{{``/``}}`` become braces (as upstream, at any depth); other
    ``{fields}`` such as ``${HOME}`` are left alone."""
    if isinstance(override, str):
        return lenient_format(override, {"value": value})
    if isinstance(override, Mapping):
        return {k: _format_value(v, value) for k, v in override.items()}
    if isinstance(override, list):
        return [_format_value(v, value) for v in override]
    return override


def merge_overrides(base: dict, extra: Mapping) -> dict:
    """Later overrides win; dicts merge recursively so two options can each
    add to e.g. ``environment``."""
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            merged = dict(base[key])
            merge_overrides(merged, value)
            base[key] = merged
        else:
            base[key] = copy.deepcopy(value) if not callable(value) else value
    return base


def overrides_for(profile: dict, selections: Mapping) -> dict:
    """All trait overrides for the chosen profile and options: the profile's
    ``kubespawner_override`` first, then each option's."""
    overrides: dict = {}
    merge_overrides(overrides, profile.get("kubespawner_override") or {})
    for name, (kind, value) in selections.items():
        option = profile["profile_options"][name]
        if kind == "choice":
            merge_overrides(overrides, option["choices"][value].get("kubespawner_override") or {})
        else:
            override = option["unlisted_choice"].get("kubespawner_override") or {}
            merge_overrides(overrides, _format_value(override, value))
    return overrides


def form_data_to_user_options(formdata: Mapping) -> dict:
    """HTML form data (``{field: [values]}``) to the user_options convention."""

    def first(v):
        return v[0] if isinstance(v, list) and v else v

    profile = first(formdata.get("profile"))
    user_options: dict = {}
    if profile is not None:
        user_options["profile"] = profile
    prefix = f"{FORM_OPTION_PREFIX}{profile}--"
    for key, value in formdata.items():
        if profile is not None and key.startswith(prefix):
            user_options[key[len(prefix) :]] = first(value)
    return user_options


def initialized_profile_list(profile_list) -> list[dict]:
    """A copy of a list of profiles with only the gaps upstream fills filled
    (its ``_get_initialized_profile_list``): missing slugs from the display
    name, a default choice per option, ``unlisted_choice`` with ``enabled``,
    and one default profile. normalize_profile_list is the full form our
    own code uses."""
    profile_list = copy.deepcopy(list(profile_list or []))
    for profile in profile_list:
        profile.setdefault("slug", _slugify(profile["display_name"]))
        for option in (profile.get("profile_options") or {}).values():
            choices = option.get("choices") or {}
            if choices and not any(c.get("default") for c in choices.values()):
                choices[next(iter(choices))]["default"] = True
            unlisted = option.setdefault("unlisted_choice", {})
            unlisted.setdefault("enabled", False)
            if unlisted["enabled"]:
                unlisted.setdefault("display_name_in_choices", "Other...")
    if profile_list and not any(p.get("default") for p in profile_list):
        profile_list[0]["default"] = True
    return profile_list


def find_profile(slug, profile_list: list[dict]) -> dict:
    """The profile named ``slug``, or the (first) default for a falsy slug."""
    if not slug:
        return next(p for p in profile_list if p.get("default"))
    for profile in profile_list:
        if profile["slug"] == slug:
            return profile
    allowed = ", ".join(p["slug"] for p in profile_list)
    raise ProfileError(f"profile {slug!r} does not exist; choose one of: {allowed}")
