"""Users' own configuration, each later one winning: hub.config (traitlets
config), jupyterhub_config.d/*.py, hub.extraConfig."""

import logging

from traitlets.config import Config

from z2jh import config_root

from .values import ConfigError, get_value, typed

log = logging.getLogger("JupyterHub")

# Secrets are set from the Secret's own keys (hub.existingSecret first), not
# from their copies in values.yaml.
_SECRET_TRAITS = {
    ("JupyterHub", "cookie_secret"),
    ("ConfigurableHTTPProxy", "auth_token"),
    ("CryptKeeper", "keys"),
}


def apply_hub_config(c, legacy_auth):
    """hub.config passes traitlets config through, over the chart's own
    settings. Seed-era auth.* keys, translated, win over it (the chart's
    default authenticator_class must not hide a user's auth.type)."""
    hub_config = typed("hub.config", dict, {})
    merged = {}
    for section, settings in hub_config.items():
        if not section[:1].isupper():
            raise ConfigError(
                f"hub.config.{section}: sections are class names like JupyterHub or KubeSpawner"
            )
        if not isinstance(settings, dict):
            raise ConfigError(f"hub.config.{section} must be a mapping, not {settings!r}")
        merged[section] = {k: v for k, v in settings.items() if (section, k) not in _SECRET_TRAITS}
    for section, settings in legacy_auth.items():
        for trait, value in settings.items():
            old = merged.get(section, {}).get(trait)
            # (not for the chart's own defaults of these two)
            chart_default = {"authenticator_class": "dummy", "admin_access": True}.get(trait)
            if old is not None and old != value and old != chart_default:
                log.warning("auth.* overrides hub.config.%s.%s (%r)", section, trait, old)
            merged.setdefault(section, {})[trait] = value
    # Services and roles add to the chart's (the culler's), not replace them.
    hub_section = merged.get("JupyterHub", {})
    for trait in ("services", "load_roles"):
        if trait in hub_section:
            extra = hub_section.pop(trait)
            if not isinstance(extra, list):
                raise ConfigError(f"hub.config.JupyterHub.{trait} must be a list, not {extra!r}")
            c.JupyterHub[trait] = [*c.JupyterHub[trait], *extra]
    c.merge(Config(merged))


def run_user_code(code, where, namespace):
    """exec() user code in this file's namespace; an error names where it came from."""
    filename = where if where.endswith(".py") else f"<{where}>"
    try:
        exec(compile(code, filename, "exec"), namespace)
    except Exception as e:
        line = f" (line {e.lineno})" if isinstance(e, SyntaxError) and e.lineno else ""
        tb = e.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == filename:
                line = f" (line {tb.tb_lineno})"
            tb = tb.tb_next
        raise ConfigError(f"{where}{line} failed: {type(e).__name__}: {e}") from e


def load_config_d(namespace):
    """Run jupyterhub_config.d/*.py (e.g. from hub.extraFiles) in name order."""
    folder = config_root() / "jupyterhub_config.d"
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.py")):
        log.info("Loading %s", path)
        run_user_code(path.read_text(), str(path), namespace)


def run_extra_config(namespace):
    """hub.extraConfig: a string, or a dict run in sorted key order."""
    extra = get_value("hub.extraConfig", {})
    snippets = {"": extra} if isinstance(extra, str) else extra
    if not isinstance(snippets, dict):
        raise ConfigError(f"hub.extraConfig must be a string or a mapping, not {extra!r}")
    for key in sorted(snippets):
        where = f"hub.extraConfig.{key}" if key else "hub.extraConfig"
        code = snippets[key]
        if not code:
            continue
        if not isinstance(code, str):
            raise ConfigError(f"{where} must be Python code as a string, not {code!r}")
        log.info("Loading %s", where)
        run_user_code(code, where, namespace)
