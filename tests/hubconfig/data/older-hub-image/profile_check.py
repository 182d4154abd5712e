"""Profile lists checked before a user picks a profile: every
kubespawner_override may only set KubeSpawner's settings, with values those
settings accept.

The setting names are one list, kubespawner_traits.json (next to this file),
written by ci/generate-schema from the spawner; the chart's schema is closed
to the same names, so helm refuses singleuser.profileList mistakes and the hub
refuses the ones only it sees (hub.config, hub.extraConfig, a callable's
result) with a message of the same form.
"""

import copy
import inspect
import json
from collections.abc import Mapping
from pathlib import Path

from traitlets import HasTraits

TRAIT_NAMES = frozenset(
    json.loads((Path(__file__).with_name("kubespawner_traits.json")).read_text())
)


def _edit_distance(a, b):
    """Levenshtein distance: insertions, deletions and substitutions."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a):
        row = [i + 1]
        for j, cb in enumerate(b):
            row.append(min(prev[j + 1] + 1, row[j] + 1, prev[j] + (ca != cb)))
        prev = row
    return prev[-1]


def nearest_name(name, names):
    """The name in `names` nearest to `name`: at most a third of its length
    away (at least 1), the first in sorted order of equals; None if none is.
    The chart's "jupyterhub.nearestName" (templates/_helpers-checks.tpl)
    suggests by the same rule, so helm and the hub name the same trait."""
    best, limit = None, max(1, len(name) // 3)
    for candidate in sorted(names):
        if abs(len(candidate) - len(name)) <= limit:
            distance = _edit_distance(name, candidate)
            if distance <= limit:
                best, limit = candidate, distance - 1
    return best


def _suggestion(key):
    close = nearest_name(str(key), TRAIT_NAMES)
    return f"; did you mean {close!r}?" if close else ""


def _value_problem(traits, key, value):
    """Why `value` is not valid for trait `key` (None if it is, or cannot be
    known before a spawn: callables, and dicts merged into the configured one)."""
    trait = traits.get(key)
    if trait is None or callable(value) or isinstance(value, Mapping):
        return None
    holder = type("TraitCheck", (HasTraits,), {"value": copy.copy(trait)})()
    try:
        holder.value = value
    except Exception as e:
        return str(e)
    return None


def _overrides(profile, where):
    """(where, kubespawner_override) of a profile and of each of its choices."""
    yield f"{where}.kubespawner_override", profile.get("kubespawner_override"), True
    options = profile.get("profile_options") or {}
    if not isinstance(options, Mapping):
        return
    for name, option in options.items():
        if not isinstance(option, Mapping):
            continue
        choices = option.get("choices") or {}
        # named as helm names them: .choices.<slug> of a mapping, .choices[i] of a list
        if isinstance(choices, Mapping):
            items = [(f".{slug}", choice) for slug, choice in choices.items()]
        else:
            items = [(f"[{i}]", choice) for i, choice in enumerate(choices)]
        for slug, choice in items:
            if isinstance(choice, Mapping):
                yield (
                    f"{where}.profile_options.{name}.choices{slug}.kubespawner_override",
                    choice.get("kubespawner_override"),
                    True,
                )
        unlisted = option.get("unlisted_choice")
        if isinstance(unlisted, Mapping):
            # its values hold the user's text ({value}): only the keys are known
            yield (
                f"{where}.profile_options.{name}.unlisted_choice.kubespawner_override",
                unlisted.get("kubespawner_override"),
                False,
            )


def problems(profile_list, where, traits=None):
    """One line per mistake in `profile_list` (named `where` in the lines)."""
    if not isinstance(profile_list, list):
        return [f"{where} must be a list of profiles, not {profile_list!r}"]
    found = []
    for i, profile in enumerate(profile_list):
        if not isinstance(profile, Mapping):
            found.append(f"{where}[{i}] must be a mapping, not {profile!r}")
            continue
        for at, override, check_values in _overrides(profile, f"{where}[{i}]"):
            if override is None:
                continue
            if not isinstance(override, Mapping):
                found.append(f"{at} must be a mapping of KubeSpawner settings, not {override!r}")
                continue
            for key, value in override.items():
                if key not in TRAIT_NAMES:
                    found.append(
                        f"{at} sets {key!r}, which is not a KubeSpawner setting{_suggestion(key)}"
                    )
                elif check_values and traits:
                    why = _value_problem(traits, key, value)
                    if why:
                        found.append(f"{at}.{key}: {value!r} is not valid: {why}")
    return found


def checked_callable(func, where, error, traits=None):
    """A profile_list callable whose result is checked each time it is called;
    a mistake raises error(message) with the message a static list gets."""

    async def profile_list(spawner):
        result = func(spawner)
        if inspect.isawaitable(result):
            result = await result
        found = problems(result, f"{where} (as returned)", traits)
        if found:
            raise error("; ".join(found))
        return result

    profile_list.__wrapped__ = func
    return profile_list
