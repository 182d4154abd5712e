"""The hub's configuration: the chart's values turned into traitlets config.

Shipped with the chart (chart/files/hub/, mounted from ConfigMap `hub` over
the image's config root), so the values and the code reading them always come
from one chart release. One job per module, applied by `apply` in this order:

    values        typed access to the values (z2jh.py reads them)
    hub           hub and proxy
    database      database and secrets
    spawner       singleuser.* -> KubeSpawner (a table), with storage
    services      the idle culler, hub.services, hub.loadRoles
    auth          the seed-era auth.* keys (translated here: needs the class)
    usercode      hub.config, jupyterhub_config.d/*.py, hub.extraConfig
    profiles      profile list checks
    orm_lookups   JupyterHub's name lookups from the session (installed first)
    oauth_secrets servers' OAuth client secrets hashed as their API tokens
    sqlite_ping   no connection ping for SQLite databases
    active_counts JupyterHub's count of active servers in one pass
    requirements  what the hub image must have (checked first, by the entry file)
"""

from . import (
    active_counts,
    auth,
    database,
    hub,
    oauth_secrets,
    orm_lookups,
    services,
    spawner,
    sqlite_ping,
    usercode,
)

# JupyterHub's costliest waste per request and per spawn (README
# "Performance"), each with install(), report() and restore()
JUPYTERHUB_PATCHES = (orm_lookups, oauth_secrets, sqlite_ping, active_counts)


def apply(c, namespace):
    """Configure `c`; user code runs in `namespace` (the entry file's globals)."""
    # before user code, which may call restore()
    for patch in JUPYTERHUB_PATCHES:
        patch.install()
    hub_api_base = hub.hub_bind(c)
    hub.configure_hub(c)
    hub.configure_proxy(c)
    database.configure_database(c)
    database.configure_secrets(c)
    spawner.configure_spawner(c)
    services.configure_services_and_roles(c, hub_api_base)
    usercode.apply_hub_config(c, auth.legacy_auth_config())
    usercode.load_config_d(namespace)
    usercode.run_extra_config(namespace)
    spawner.check_profile_list(c)
    # after anything that can stop the hub with one line
    for patch in JUPYTERHUB_PATCHES:
        patch.report()
