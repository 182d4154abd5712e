"""No connection ping for SQLite databases.

JupyterHub registers a listener on its engine that runs ``SELECT 1`` in a
transaction of its own each time the session takes a connection, that is
after every commit: a pool of network connections can hold one the server
has closed, and the ping finds it before a real query does. The session
commits about seven times per spawn, so at a login storm this is a few per
cent of the hub's CPU (cProfile, `ci/bench-hub --profile-hub`).

SQLite has no server and no network connection: the "connection" is the
library's handle on the database file, open until the hub closes it, so the
ping can never find one gone stale (its reconnect path needs a
``connection_invalidated`` error, which SQLite raises only for a handle the
hub closed itself). For SQLite engines the listener is not registered; every
other database (PostgreSQL, MySQL) keeps it as JupyterHub has it.

Applied only where JupyterHub's ``new_session_factory`` still calls its own
``register_ping_connection``; ``restore()`` undoes it.
"""

from __future__ import annotations

import logging

log = logging.getLogger("JupyterHub")


def _orm():
    from jupyterhub import orm

    return orm


def _stock_function() -> bool:
    """Whether JupyterHub's session factory still registers its own ping by name."""
    orm = _orm()
    register = getattr(orm, "register_ping_connection", None)
    return (
        getattr(register, "__module__", None) == "jupyterhub.orm"
        and "register_ping_connection" in orm.new_session_factory.__code__.co_names
    )


def install() -> bool:
    """Whether SQLite engines made from now on go without the ping. Silent:
    report() tells, once a bad value can no longer stop the hub."""
    if installed():
        return True
    if not _stock_function():
        return False
    orm = _orm()
    stock = orm.register_ping_connection

    def register_ping_connection(engine):
        if engine.dialect.name == "sqlite":
            return
        stock(engine)

    register_ping_connection.stock = stock
    orm.register_ping_connection = register_ping_connection
    return True


def installed() -> bool:
    return getattr(_orm().register_ping_connection, "stock", None) is not None


def report() -> None:
    """One line in the hub's log, once the configuration has gone through."""
    if installed():
        log.info("hubconf.sqlite_ping: no connection ping for SQLite databases")
    elif not _stock_function():
        log.info(
            "hubconf.sqlite_ping: JupyterHub's connection ping is not the stock one; left alone"
        )


def restore() -> None:
    """JupyterHub's own function again (for engines made after this)."""
    orm = _orm()
    orm.register_ping_connection = getattr(
        orm.register_ping_connection, "stock", orm.register_ping_connection
    )
