"""JupyterHub's lookups by name, answered from the session's identity map.

JupyterHub finds users, roles, groups and services by name with
`db.query(cls).filter(cls.name == name).first()`. For an object its session
already holds, SQLAlchemy still runs every `lazy="selectin"` relationship
query again and then discards the rows (loaded collections are not
overwritten): a user lookup is four statements, about 4 ms of hub CPU. The
hub looks a user up on every request that names one, and once per running
server every `last_activity_interval` (the route check): with 2,000 servers,
8,000 statements a minute for nothing.

`find` here runs one indexed SELECT of the primary key and then
`Session.get`, which hands back the object the session holds (no statement)
or loads it exactly as the query would have. Why it gives the same answer:
- the same autoflush first (the SELECT is an ORM statement), so pending
  renames, additions and deletions are seen as before;
- names are unique (`unique=True` on every one of these tables), so
  `.first()` and the primary key of the one match are the same row;
- an object already in the session was returned as it was by the query too
  (no `populate_existing`); an expired one is refreshed by `get` as by the
  query;
- only this hub writes its database, JupyterHub's own assumption behind
  `expire_on_commit=False`.

Applied only where JupyterHub's method is still that one query (its source
is compared); anything else is left alone and logged. `restore()` (from
hub.extraConfig) puts JupyterHub's own methods back.
"""

from __future__ import annotations

import inspect
import logging

log = logging.getLogger("JupyterHub")

# JupyterHub's implementation this replaces, as it reads in its source
STOCK_QUERY = "db.query(cls).filter(cls.name == name).first()"
CLASSES = ("User", "Role", "Group", "Service")

# where each class keeps JupyterHub's own method while ours is installed (on
# the class, so any import of this module can restore it)
STOCK_ATTR = "_hubconf_stock_find"

# classes install() found changed, for report(): install() stays silent, as a
# bad value must still stop the hub with one line
_left_alone: list[str] = []


def find_by_name(cls, db, name):
    """The one object of `cls` named `name`, or None (JupyterHub's `find`)."""
    from sqlalchemy import select

    key = db.execute(select(cls.id).where(cls.name == name).limit(1)).scalar()
    return None if key is None else db.get(cls, key)


def _is_stock(method) -> bool:
    try:
        return STOCK_QUERY in inspect.getsource(method)
    except (OSError, TypeError):  # no source to compare: do not guess
        return False


def _classes(orm):
    if orm is None:
        from jupyterhub import orm
    return [getattr(orm, name) for name in CLASSES]


def install(orm=None) -> list[str]:
    """Replace `find` on JupyterHub's ORM classes; returns the classes done."""
    done = []
    _left_alone.clear()
    for cls in _classes(orm):
        if STOCK_ATTR not in cls.__dict__:
            method = cls.__dict__.get("find")
            if not isinstance(method, classmethod) or not _is_stock(method.__func__):
                _left_alone.append(cls.__name__)
                continue
            setattr(cls, STOCK_ATTR, method)
            cls.find = classmethod(find_by_name)
        done.append(cls.__name__)
    return done


def installed(orm=None) -> list[str]:
    """The classes whose `find` is ours now."""
    return [cls.__name__ for cls in _classes(orm) if STOCK_ATTR in cls.__dict__]


def report(orm=None) -> None:
    """One line in the hub's log, once the configuration has gone through."""
    names = installed(orm)
    if names:
        log.info("hubconf.orm_lookups: %s found by name from the session", ", ".join(names))
    if _left_alone:
        log.info(
            "hubconf.orm_lookups: %s.find not the query it replaces; left alone",
            ", ".join(_left_alone),
        )


def restore(orm=None) -> None:
    """JupyterHub's own `find` methods again."""
    for cls in _classes(orm):
        if STOCK_ATTR in cls.__dict__:
            cls.find = cls.__dict__[STOCK_ATTR]
            delattr(cls, STOCK_ATTR)
