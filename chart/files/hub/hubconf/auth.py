"""The seed-era auth.* keys translated into hub.config form.

This translation stays in the hub, not in the chart: it needs the
authenticator class's own traits (which names a class takes, oauthenticator's
renames), and only the hub can import the class. The tables come from the
chart (files/legacy-keys.json, in ConfigMap `hub`)."""

import logging
import re

from z2jh import legacy_tables

from .values import ConfigError, typed

log = logging.getLogger("JupyterHub")


def _auth_tables():
    """The seed-era auth tables, the chart's (files/legacy-keys.json, from
    the `auth` node of values.schema.yaml; shipped in ConfigMap `hub`):
    `types`, auth.type -> [its name for JupyterHub.authenticator_class today,
    the class] (the chart refuses any other type at render time); `keys`,
    auth.<type>.<key> -> trait, for every key the schema admits (others, only
    possible through hub.existingSecret, fall back to their snake_case
    spelling); `oauthRenamed`, traits oauthenticator renamed, applied to
    auth.custom.config of its classes."""
    return legacy_tables()["auth"]


_ADMIN_ACCESS_FALSE = (
    "auth.admin.access: false no longer restricts admins: JupyterHub's admin role can always "
    "reach users' servers; define a narrower role in hub.loadRoles instead"
)


def _snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _import_class(dotted, key):
    module, _, name = dotted.rpartition(".")
    try:
        mod = __import__(module, fromlist=[name])
        return getattr(mod, name)
    except (ImportError, AttributeError, ValueError) as e:
        raise ConfigError(f"{key}: cannot import {dotted!r}: {e}") from None


def _legacy_section(auth):
    """The auth.* section holding the authenticator's settings: auth.<type>,
    or auth.github for the seed guide's CILogon example."""
    auth_type = auth.get("type")
    if auth_type == "cilogon" and auth.get("cilogon") is None and auth.get("github") is not None:
        return "github"
    return auth_type


def legacy_auth_config():
    """Translate the seed guide's auth.* keys into hub.config form.

    Returns a dict {Section: {trait: value}} (empty without auth.*). Each key
    in use is logged with its current spelling, as NOTES.txt shows it.
    """
    auth = typed("auth", dict, {})
    out = {}

    def put(section, trait, value, key, shown=None):
        out.setdefault(section, {})[trait] = value
        today = f"hub.config.{section}.{trait}" + (f": {shown}" if shown else "")
        log.warning("%s is an old spelling; today: %s", key, today)

    # A provider section another type would read is ignored by this one: refuse it.
    read = _legacy_section(auth)
    for section in sorted([*_auth_tables()["types"], "custom"]):
        if auth.get(section) is not None and section != read:
            raise ConfigError(
                f"auth.{section} is only read with auth.type: {section} "
                f"(auth.type is {auth.get('type') or 'not set'})"
            )
    if auth.get("type") == "custom":
        _legacy_custom_authenticator(put)
    elif auth.get("type") is not None:
        _legacy_authenticator(auth, put)
    _legacy_auth_common(auth, put)
    return out


def _legacy_custom_authenticator(put):
    """auth.type custom: auth.custom.className and its auth.custom.config."""
    class_name = typed("auth.custom.className", str)
    if not class_name:
        raise ConfigError("auth.custom.className must name the authenticator class")
    stray = sorted(set(typed("auth.custom", dict, {})) - {"className", "config"})
    if stray:
        # The seed guide's OpenID Connect example: settings beside className.
        keys = ", ".join(f"auth.custom.{k}" for k in stray)
        raise ConfigError(f"{keys}: not read; the settings go under auth.custom.config")
    cls = _import_class(class_name, "auth.custom.className")
    section, traits = cls.__name__, cls.class_traits(config=True)
    oauth = class_name.startswith("oauthenticator.")
    put("JupyterHub", "authenticator_class", class_name, "auth.type", class_name)
    for name, value in typed("auth.custom.config", dict, {}).items():
        key = f"auth.custom.config.{name}"
        if oauth and name == "userdata_method":
            # Removed from oauthenticator, which always uses GET.
            if str(value).upper() != "GET":
                raise ConfigError(
                    f"{key} is {value!r}, but oauthenticator always fetches user data with GET"
                )
            log.warning(
                "%s is no longer a setting (oauthenticator always fetches user data with GET); "
                "remove it",
                key,
            )
            continue
        trait = _auth_tables()["oauthRenamed"].get(name, name) if oauth else name
        if trait not in traits:
            raise ConfigError(f"{key} is not a setting of {section}")
        put(section, trait, value, key)


def _legacy_authenticator(auth, put):
    """auth.type github/google/...: the class, and auth.<type>.* as its traits."""
    auth_type = auth["type"]
    if auth_type not in _auth_tables()["types"]:
        known = ", ".join(sorted([*_auth_tables()["types"], "custom"]))
        raise ConfigError(
            f"auth.type {auth_type!r} is not supported (known: {known}); set "
            "hub.config.JupyterHub.authenticator_class and hub.config.<Class>.* instead"
        )
    name, class_name = _auth_tables()["types"][auth_type]
    cls = _import_class(class_name, "auth.type")
    section, traits = cls.__name__, cls.class_traits(config=True)
    put("JupyterHub", "authenticator_class", class_name, "auth.type", name)
    block_key = f"auth.{_legacy_section(auth)}"
    block = auth.get(_legacy_section(auth))
    if not isinstance(block or {}, dict):
        raise ConfigError(f"{block_key} must be a mapping, not {block!r}")
    restricted = False
    for name, value in (block or {}).items():
        trait = _auth_tables()["keys"].get(name, _snake(name))
        if trait not in traits:
            raise ConfigError(f"{block_key}.{name} is not a setting of {section}")
        if trait == "hosted_domain" and isinstance(value, str):
            value = [value]
        restricted |= trait.startswith("allowed_")
        put(section, trait, value, f"{block_key}.{name}")
    if auth_type != "dummy" and not restricted and not typed("auth.whitelist.users", list):
        # The seed guide: without a whitelist any account may log in. Today's
        # authenticators refuse everyone unless told.
        put(section, "allow_all", True, f"auth.type: {auth_type} (no whitelist)", "true")


def _legacy_auth_common(auth, put):
    """auth.scopes, auth.whitelist, auth.admin and auth.state."""
    if auth.get("scopes") is not None:
        put("OAuthenticator", "scope", typed("auth.scopes", list), "auth.scopes")
    for key, section, trait in [
        ("auth.whitelist.users", "Authenticator", "allowed_users"),
        ("auth.admin.users", "Authenticator", "admin_users"),
    ]:
        users = typed(key, list)
        if users is not None:
            put(section, trait, set(users), key)
    access = typed("auth.admin.access", bool)
    if access is not None:
        put("JupyterHub", "admin_access", access, "auth.admin.access", str(access).lower())
        if not access:
            log.warning(_ADMIN_ACCESS_FALSE)
    state = typed("auth.state.enabled", bool)
    if state is not None:
        put("Authenticator", "enable_auth_state", state, "auth.state.enabled", str(state).lower())
