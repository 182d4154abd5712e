"""Hub-managed services and roles: the idle culler (cull.*), hub.services
and hub.loadRoles."""

import sys

from z2jh import get_secret_value

from .values import ConfigError, non_negative_int, typed


def culler_service(hub_api_base):
    """The idle culler as a hub-managed service with only the scopes it needs.

    Returns (service, role), or (None, None) when cull.enabled is false.
    """
    if not typed("cull.enabled", bool, True):
        return None, None
    base_url = typed("hub.baseUrl", str, "/")
    command = [
        sys.executable,
        "-m",
        "jupyterhub_idle_culler",
        f"--url={hub_api_base}{base_url.rstrip('/')}/hub/api",
    ]
    scopes = ["list:users", "read:users:activity", "read:servers", "delete:servers"]
    for key, flag in [
        ("cull.timeout", "timeout"),
        ("cull.every", "cull-every"),
        ("cull.concurrency", "concurrency"),
        ("cull.maxAge", "max-age"),
    ]:
        value = non_negative_int(key)
        if value is not None:
            command.append(f"--{flag}={value}")
    if typed("cull.users", bool, False):
        command.append("--cull-users=True")
        scopes.append("admin:users")  # to delete the users it culls
    if not typed("cull.adminUsers", bool, True):
        command.append("--cull-admin-users=False")
    if typed("cull.removeNamedServers", bool, False):
        command.append("--remove-named-servers=True")
    service = {"name": "jupyterhub-idle-culler", "command": command}
    role = {
        "name": "jupyterhub-idle-culler",
        "description": "Stop idle servers (the chart's cull.* settings)",
        "scopes": scopes,
        "services": ["jupyterhub-idle-culler"],
    }
    return service, role


def hub_services():
    """hub.services (a dict so values files merge); tokens come from the Secret."""
    services = []
    for name, spec in sorted(typed("hub.services", dict, {}).items()):
        if not isinstance(spec, dict):
            raise ConfigError(f"hub.services.{name} must be a mapping, not {spec!r}")
        service = {k: v for k, v in spec.items() if k != "apiToken"}
        service.setdefault("name", name)
        token = get_secret_value(f"hub.services.{name}.apiToken", None) or spec.get("apiToken")
        if token:
            service["api_token"] = token.strip()
        services.append(service)
    return services


def hub_roles():
    roles = []
    for name, spec in sorted(typed("hub.loadRoles", dict, {}).items()):
        if not isinstance(spec, dict):
            raise ConfigError(f"hub.loadRoles.{name} must be a mapping, not {spec!r}")
        roles.append({"name": name, **spec})
    return roles


def configure_services_and_roles(c, hub_api_base):
    services, roles = hub_services(), hub_roles()
    culler, culler_role = culler_service(hub_api_base)
    if culler:
        services.insert(0, culler)
        roles.insert(0, culler_role)
    # Plain lists, so hub.extraConfig can append to them.
    c.JupyterHub.services = services
    c.JupyterHub.load_roles = roles
