"""Profiles on the spawner: resolving ``profile_list``, rendering the
options form, reading form data, and applying the chosen profile's overrides.

A mixin for KubeSpawnerConfig; the pure logic lives in ``profiles`` and
``options_form``.
"""

import copy

from tornado import web

from . import options_form, profiles
from .utils import recursive_update, resolve_callable

# traits that change the names update_names() computes
NAME_TRAITS = frozenset(
    {
        "namespace",
        "enable_user_namespaces",
        "user_namespace_template",
        "slug_scheme",
        "pod_name_template",
        "pvc_name_template",
        "dns_name_template",
        "secret_name_template",
    }
)


class UserOptionsMixin:
    """Profile handling for KubeSpawnerConfig."""

    _profile_snapshot: dict
    _applied_user_options: dict | None

    async def get_profile_list(self) -> list[dict]:
        """``profile_list`` resolved (callables called) and normalised."""
        raw = await resolve_callable(self.profile_list, self)
        return profiles.normalize_profile_list(raw)

    async def render_options_form(self) -> str:
        """The profile picker HTML ('' without profiles), pre-selecting the
        user's previous choices."""
        profile_list = await self.get_profile_list()
        if not profile_list:
            return ""
        return options_form.render_profile_form(
            profile_list,
            user_options=self.user_options,
            template=self.profile_form_template,
            additional_paths=self.additional_profile_form_template_paths,
            spawner=self,
        )

    def profile_options_from_form(self, formdata: dict) -> dict:
        """Form data to user_options (``{"profile": slug, option: choice,
        "option--unlisted-choice": text}``); other forms pass through."""
        if "profile" not in formdata:
            return formdata
        return profiles.form_data_to_user_options(formdata)

    async def load_user_options(self) -> None:
        """Apply the chosen profile's overrides for ``self.user_options``.

        Idempotent per spawn: a second call with the same options does
        nothing. Values a previous profile overrode are restored first, so
        switching profiles does not accumulate overrides. Raises
        ``tornado.web.HTTPError(400)`` naming the bad option and allowed values.
        """
        options = self.user_options or {}
        if self._applied_user_options == options:
            return
        try:
            profile_list = await self.get_profile_list()
            if not profile_list:
                self._applied_user_options = copy.deepcopy(options)
                return
            profile, selections = profiles.choose(profile_list, options)
        except profiles.ProfileError as e:
            raise invalid_user_options(str(e)) from None
        restored = self._restore_profile_snapshot()
        overrides = profiles.overrides_for(profile, selections)
        self.log.info("Applying profile %r to %s", profile["slug"], getattr(self, "_log_name", ""))
        await self._apply_overrides_async(overrides, where=f"profile {profile['slug']!r}")
        self._applied_user_options = copy.deepcopy(options)
        if NAME_TRAITS.intersection(overrides) or NAME_TRAITS.intersection(restored):
            # a remembered PVC name survives, unless the profile asks for another
            keep_pvc = self.remember_pvc_name and "pvc_name_template" not in overrides
            self.update_names(keep_pvc_name=keep_pvc)

    # ---- upstream's profile methods, for subclasses that call them ----------

    def _get_initialized_profile_list(self, profile_list) -> list[dict]:
        """``profile_list`` (already resolved) with upstream's defaults filled in."""
        return profiles.initialized_profile_list(profile_list)

    def _get_profile(self, slug, profile_list: list[dict]) -> dict:
        """The profile named ``slug``, or the default one for a falsy slug;
        ValueError naming the allowed slugs otherwise."""
        return profiles.find_profile(slug, profile_list)

    async def _load_profile(self, slug, profile_list: list[dict]) -> None:
        """Apply profile ``slug`` (with the user's option choices)."""
        self.user_options = dict(self.user_options or {}, profile=slug)
        await self.load_user_options()

    def _restore_profile_snapshot(self) -> set[str]:
        """Undo the previous profile's overrides; return the names restored."""
        restored = set(self._profile_snapshot)
        for name, value in self._profile_snapshot.items():
            setattr(self, name, value)
        self._profile_snapshot = {}
        return restored

    async def _apply_overrides_async(self, overrides: dict, where: str):
        for key, value in overrides.items():
            if not self.has_trait(key):
                raise invalid_user_options(
                    f"kubespawner_override of {where} sets {key!r}, which is not a "
                    "KubeSpawner setting",
                    status=500,
                )
            value = await resolve_callable(value, self)
            current = getattr(self, key)
            self._profile_snapshot.setdefault(key, copy.deepcopy(current))
            if isinstance(value, dict) and isinstance(current, dict):
                # merged into the configured dict; a None value removes a key
                value = recursive_update(copy.deepcopy(current), copy.deepcopy(value))
            setattr(self, key, value)

    def clear_state(self):
        """Spawner.clear_state; also undo the last profile's overrides and
        forget which user_options were applied, so the next spawn starts from
        the configuration (JupyterHub clears state before group overrides and
        apply_user_options run)."""
        restored = self._restore_profile_snapshot()
        self._applied_user_options = None
        super().clear_state()
        if NAME_TRAITS.intersection(restored):
            self.update_names(keep_pvc_name=self.remember_pvc_name)


class InvalidUserOptions(web.HTTPError, ValueError):
    """Bad user options: an HTTP error for the hub's handlers, and the
    ValueError upstream's callers of load_user_options catch."""


def invalid_user_options(message: str, status: int = 400) -> web.HTTPError:
    """An HTTPError carrying ``message`` verbatim (it may contain '%' or any
    text the user typed) to the API response and the spawn page."""
    error = InvalidUserOptions(status, "%s", message)
    error.jupyterhub_message = message
    return error


async def apply_profile_user_options(spawner, user_options):
    """Default ``apply_user_options``: validate and apply the profile choice
    before ``pre_spawn_hook``, so bad options fail the request with a 400."""
    await spawner.load_user_options()


def profile_form(spawner):
    """The default ``options_form`` when profiles are configured: rendered
    per request, because profile_list may be a callable depending on the user."""
    return spawner.render_options_form()
