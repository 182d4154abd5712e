"""The database (hub.db.*) and the secrets (cookie secret, auth-state keys)."""

import logging
import os

from z2jh import get_secret_value

from .values import ConfigError, choice, typed

log = logging.getLogger("JupyterHub")

_DB_SCHEMES = {
    "mysql": ("mysql",),
    "postgres": ("postgresql", "postgres"),
}


# SQLAlchemy drivers (and their modules) the image may ship, preferred
# first, for URLs that name none.
_DEFAULT_DRIVERS = {
    "postgresql": [("psycopg2", "psycopg2"), ("psycopg", "psycopg")],
    "mysql": [("pymysql", "pymysql"), ("mysqldb", "MySQLdb")],
}


def _installed_driver(scheme):
    import importlib.util

    for driver, module in _DEFAULT_DRIVERS[scheme]:
        if importlib.util.find_spec(module):
            return driver
    return _DEFAULT_DRIVERS[scheme][0][0]


def database_url():
    db_type = choice(
        "hub.db.type", ["sqlite-pvc", "sqlite-memory", "mysql", "postgres", "other"], "sqlite-pvc"
    )
    url = typed("hub.db.url", str)
    if db_type == "sqlite-memory":
        return db_type, "sqlite://"
    if db_type == "sqlite-pvc":
        # Relative to the working directory /srv/jupyterhub, the hub-db-dir
        # PVC. hub.db.url is ignored here, as z2jh does.
        if url:
            log.warning("hub.db.url is ignored with hub.db.type sqlite-pvc (the hub-db-dir claim)")
        return db_type, "sqlite:///jupyterhub.sqlite"
    if not url:
        raise ConfigError(f"hub.db.url must be set when hub.db.type is {db_type!r}")
    scheme = url.split(":", 1)[0]
    dialect = scheme.split("+", 1)[0]
    if db_type in _DB_SCHEMES and dialect not in _DB_SCHEMES[db_type]:
        raise ConfigError(
            f"hub.db.url starts with {scheme}://, which does not match hub.db.type {db_type!r} "
            f"(expected {_DB_SCHEMES[db_type][0]}://...)"
        )
    if dialect == "postgres":
        # The seed guide's spelling; SQLAlchemy only knows `postgresql`.
        log.warning("hub.db.url: 'postgres://' is an old spelling; use 'postgresql://'")
        url = "postgresql" + url[len("postgres") :]
        scheme = "postgresql" + scheme[len("postgres") :]
    if scheme in _DEFAULT_DRIVERS:
        # Without a driver SQLAlchemy picks one the image may not have.
        url = f"{scheme}+{_installed_driver(scheme)}" + url[len(scheme) :]
    return db_type, url


def configure_database(c):
    db_type, url = database_url()
    c.JupyterHub.db_url = url
    # The Deployment passes hub.db.password as MYSQL_PWD / PGPASSWORD. libpq
    # reads PGPASSWORD itself; the MySQL driver needs it handed over.
    if db_type in ("mysql", "other") and url.startswith("mysql") and os.environ.get("MYSQL_PWD"):
        c.JupyterHub.db_kwargs = {"connect_args": {"password": os.environ["MYSQL_PWD"]}}
    upgrade = typed("hub.db.upgrade", bool)
    if upgrade is None and db_type == "sqlite-pvc":
        # As z2jh (and the Deployment's --upgrade-db): JupyterHub copies the
        # sqlite file to a timestamped backup before upgrading it.
        upgrade = True
    if upgrade is not None:
        c.JupyterHub.upgrade_db = upgrade


def configure_secrets(c):
    # checked even when the Secret has one (a number when YAML read an
    # all-digit hex string unquoted: say so)
    given = typed("hub.cookieSecret", str)
    where = "hub.config.JupyterHub.cookie_secret"
    cookie_secret = get_secret_value(where, None)
    if not cookie_secret and given:
        cookie_secret, where = given, "hub.cookieSecret"
    if cookie_secret:
        try:
            c.JupyterHub.cookie_secret = bytes.fromhex(cookie_secret.strip())
        except ValueError:
            raise ConfigError(
                # (the value is a secret: not in the log)
                f"{where} must be a hex string; make one with openssl rand -hex 32"
            ) from None
    # The chart's Secret lists the given keys first (the first encrypts),
    # then the earlier ones (to decrypt older auth state); it already holds
    # auth.state.cryptoKey. A hub.existingSecret's keys may not: then the
    # legacy key goes first, as the chart would put it. Each key once.
    keys = get_secret_value("hub.config.CryptKeeper.keys", None)
    keys = [k.strip() for k in (keys or "").replace("\n", ";").split(";") if k.strip()]
    legacy_key = typed("auth.state.cryptoKey", str)
    if legacy_key:
        log.warning(
            "auth.state.cryptoKey is an old spelling; today: hub.config.CryptKeeper.keys: [<the key>]"
        )
        if legacy_key.strip() not in keys:
            keys.insert(0, legacy_key.strip())
    keys = list(dict.fromkeys(keys))
    if keys:
        c.CryptKeeper.keys = keys
