"""Profile lists checked before a user picks a profile: every
kubespawner_override may only set KubeSpawner's settings, with values those
settings accept (and no uid 0 where podSecurity.level is restricted); and
made ready: an override asking for uid 0 drops the non-root defaults.

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


def _is_root(override):
    uid = override.get("uid")
    return isinstance(uid, int | float) and not isinstance(uid, bool) and uid == 0


def root_refusal(at, profile, level):
    """Why podSecurity.level `level` refuses an override at `at` of `profile`
    that asks for uid 0 (the chart's "jupyterhub.podSecurity.apply" says the same)."""
    name = profile.get("display_name", "")
    return (
        f"{at} (profile {name!r}) sets uid 0 (root), which podSecurity.level {level} "
        "refuses: remove it (the image's user) or give a non-zero uid, or set "
        "podSecurity.level: baseline"
    )


def root_security_context(configured):
    """What an override asking for uid 0 merges into the `configured`
    container securityContext (None removes a key): without runAsNonRoot (the
    kubelet refuses runAsUser 0 with it) and the capability drop (a start
    script run as root, the docker-stacks way to grant sudo, needs
    CHOWN/SETUID/SETGID). The chart does the same for singleuser.uid: 0."""
    capabilities = (configured or {}).get("capabilities") or {}
    rest = {k: v for k, v in capabilities.items() if k != "drop"}
    return {"runAsNonRoot": None, "capabilities": {"drop": None} if rest else None}


def with_root_allowed(profile_list, configured=None):
    """A copy of `profile_list` in which every kubespawner_override that sets
    uid 0 also unsets the default runAsNonRoot and capability drop of the
    `configured` container_security_context, under its own one (an admin who
    sets runAsNonRoot there keeps it)."""
    if not isinstance(profile_list, list):
        return profile_list
    profiles = copy.deepcopy(profile_list)
    for profile in profiles:
        if not isinstance(profile, Mapping):
            continue
        for _at, override, _values in _overrides(profile, ""):
            if isinstance(override, dict) and _is_root(override):
                own = override.get("container_security_context") or {}
                if isinstance(own, Mapping):
                    merged = root_security_context(configured)
                    merged.update(own)
                    override["container_security_context"] = merged
    return profiles


def problems(profile_list, where, traits=None, level="privileged"):
    """One line per mistake in `profile_list` (named `where` in the lines);
    `level` is podSecurity.level (restricted refuses uid 0)."""
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
            if level == "restricted" and _is_root(override):
                found.append(root_refusal(at, profile, level))
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


def checked_callable(func, where, error, traits=None, level="privileged", configured=None):
    """A profile_list callable whose result is checked each time it is called;
    a mistake raises error(message) with the message a static list gets. The
    result is returned as with_root_allowed makes it."""

    async def profile_list(spawner):
        result = func(spawner)
        if inspect.isawaitable(result):
            result = await result
        found = problems(result, f"{where} (as returned)", traits, level)
        if found:
            raise error("; ".join(found))
        return with_root_allowed(result, configured)

    profile_list.__wrapped__ = func
    return profile_list
