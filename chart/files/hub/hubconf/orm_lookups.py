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
- pending renames, additions and deletions are flushed first, as by the
  query (the SELECT is an ORM statement; see below for when nothing
  pending can change the answer);
- names are unique (`unique=True` on every one of these tables), so
  `.first()` and the primary key of the one match are the same row;
- an object already in the session was returned as it was by the query too
  (no `populate_existing`); an expired one is refreshed by `get` as by the
  query;
- only this hub writes its database, JupyterHub's own assumption behind
  `expire_on_commit=False`.

The SELECT skips the autoflush when nothing pending can change which row
has a name: no object added or deleted, and no name (or id) of these
classes changed since the last flush, which SQLAlchemy's attribute events
record. Other pending changes reach the database at the next query that
flushes, or the commit. JupyterHub's route check (`update_last_activity`,
every `last_activity_interval`) sets `last_activity` on each user and
then looks up the next one: each lookup flushed the change before, about
1 ms of unit-of-work a route, and with 2,000 servers the hub's event loop
stood still for 2-5 s a minute. Now the route check's changes are flushed
once, at its commit.

Applied only where JupyterHub's method is still that one query (its source
is compared); anything else is left alone, and `report()` says so. `restore()` (from
hub.extraConfig) puts JupyterHub's own methods back.
"""

from __future__ import annotations

import inspect
import logging
import weakref

log = logging.getLogger("JupyterHub")

# JupyterHub's implementation this replaces, as it reads in its source
STOCK_QUERY = "db.query(cls).filter(cls.name == name).first()"
CLASSES = ("User", "Role", "Group", "Service")

# where each class keeps JupyterHub's own method while ours is installed (on
# the class, so any import of this module can restore it)
STOCK_ATTR = "_hubconf_stock_find"


def find_by_name(cls, db, name):
    """The one object of `cls` named `name`, or None (JupyterHub's `find`)."""
    from sqlalchemy import select

    query = select(cls.id).where(cls.name == name).limit(1)
    if _watch(cls) and not (db.new or db.deleted or db in _names_moved):
        with db.no_autoflush:
            key = db.execute(query).scalar()
    else:
        key = db.execute(query).scalar()  # autoflush first, as JupyterHub's query
    return None if key is None else db.get(cls, key)


# Sessions holding a changed name or id of a watched class's object that is
# not flushed yet, kept by SQLAlchemy's events: the check above is O(1), as
# a look at the session's dirty objects would not be (the route check
# leaves thousands of them pending).
_names_moved: weakref.WeakSet = weakref.WeakSet()
_watched: set = set()


def _watch(cls) -> bool:
    """Whether renames of `cls` were watched already (False: from now on)."""
    if cls in _watched:
        return True
    from sqlalchemy import event

    for key in ("name", "id"):
        event.listen(getattr(cls, key), "set", _name_set)
    _watched.add(cls)
    return False


def _name_set(target, value, oldvalue, initiator):
    from sqlalchemy.orm import object_session

    session = object_session(target)
    if session is not None and value is not oldvalue:
        _names_moved.add(session)


def _attached(session, obj):
    """A detached object renamed and added back brings its rename along."""
    from sqlalchemy import inspect as state_of

    if type(obj) not in _watched:  # every object any session takes in comes here
        return
    state = state_of(obj)
    if state.has_identity and any(state.attrs[key].history.has_changes() for key in ("name", "id")):
        _names_moved.add(session)


def _settled(session, *_):
    """Flushed, committed or rolled back: no rename pending any more."""
    _names_moved.discard(session)


def _watch_sessions() -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    if not event.contains(Session, "after_attach", _attached):
        event.listen(Session, "after_attach", _attached)
        for name in (
            "after_flush_postexec",
            "after_commit",
            "after_rollback",
            "after_soft_rollback",
        ):
            event.listen(Session, name, _settled)


_watch_sessions()


def _is_stock(method) -> bool:
    try:
        return STOCK_QUERY in inspect.getsource(method)
    except (OSError, TypeError):  # no source to compare: do not guess
        return False


def _classes(orm):
    if orm is None:
        from jupyterhub import orm
    return [getattr(orm, name) for name in CLASSES]


def _stock_find(cls):
    """JupyterHub's own `find` of `cls` if it is still the query replaced here."""
    method = cls.__dict__.get("find")
    return method if isinstance(method, classmethod) and _is_stock(method.__func__) else None


def install(orm=None) -> list[str]:
    """Replace `find` on JupyterHub's ORM classes; returns the classes done.
    Silent: report() tells, once a bad value can no longer stop the hub."""
    done = []
    for cls in _classes(orm):
        if STOCK_ATTR not in cls.__dict__:
            method = _stock_find(cls)
            if method is None:
                continue
            setattr(cls, STOCK_ATTR, method)
            cls.find = classmethod(find_by_name)
            if hasattr(cls, "__mapper__"):  # before JupyterHub opens its session
                _watch(cls)
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
    left_alone = [
        cls.__name__
        for cls in _classes(orm)
        if STOCK_ATTR not in cls.__dict__ and _stock_find(cls) is None
    ]
    if left_alone:
        log.info(
            "hubconf.orm_lookups: %s.find not the query it replaces; left alone",
            ", ".join(left_alone),
        )


def restore(orm=None) -> None:
    """JupyterHub's own `find` methods again."""
    for cls in _classes(orm):
        if STOCK_ATTR in cls.__dict__:
            cls.find = cls.__dict__[STOCK_ATTR]
            delattr(cls, STOCK_ATTR)
