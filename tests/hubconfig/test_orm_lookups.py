"""hubconf.orm_lookups against JupyterHub's real ORM on SQLite: the same
object as JupyterHub's own `find` after any sequence of changes, in one
statement instead of one per eager relationship; installed only over the
query it replaces, and undone by restore()."""

import asyncio
import logging
import random
import types
from datetime import datetime

import pytest
from jupyterhub import orm
from sqlalchemy import event

from .hubenv import load_shipped_module


@pytest.fixture
def lookups():
    """hubconf/orm_lookups.py as the chart ships it (it imports nothing of hubconf)."""
    module = load_shipped_module("hubconf/orm_lookups.py")
    yield module
    module.restore()


@pytest.fixture
def db(tmp_path):
    session = orm.new_session_factory(f"sqlite:///{tmp_path}/hub.sqlite")()
    yield session
    session.close()


def statements(db):
    count = [0]

    def counted(*_):
        count[0] += 1

    event.listen(db.get_bind(), "before_cursor_execute", counted)
    return count


def stock_find(cls):
    return cls.__dict__["find"].__func__


def test_a_held_user_is_one_statement_instead_of_four(lookups, db):
    role = orm.Role(name="user")
    db.add(orm.User(name="alice", roles=[role]))
    db.commit()
    held = db.query(orm.User).one()
    count = statements(db)

    assert stock_find(orm.User)(orm.User, db, "alice") is held
    stock = count[0]
    count[0] = 0
    assert lookups.find_by_name(orm.User, db, "alice") is held
    assert (stock, count[0]) == (4, 1)  # roles, groups, shared_with_me reloaded by the query
    assert lookups.find_by_name(orm.User, db, "nobody") is None
    assert lookups.find_by_name(orm.Role, db, "user") is role


def test_the_route_check_flushes_its_changes_once_at_its_commit(lookups, db, tmp_path):
    """JupyterHub's update_last_activity: set a user's last_activity, look up
    the next user. Ours looks up without flushing (1 statement); the change
    reaches the database at the commit, as before."""
    db.add_all([orm.User(name="alice"), orm.User(name="bob")])
    db.commit()
    alice, bob = db.query(orm.User).order_by(orm.User.name).all()
    lookups.find_by_name(orm.User, db, "alice")  # watching renames from here on
    seen = datetime(2026, 12, 3, 12, 0)
    alice.last_activity = seen
    count = statements(db)

    assert lookups.find_by_name(orm.User, db, "bob") is bob
    assert count[0] == 1  # the SELECT only, no UPDATE
    assert stock_find(orm.User)(orm.User, db, "alice") is alice
    assert count[0] > 2  # JupyterHub's query flushes first
    db.commit()
    other = orm.new_session_factory(f"sqlite:///{tmp_path}/hub.sqlite")()
    assert other.query(orm.User).filter_by(name="alice").one().last_activity == seen
    other.close()


def test_jupyterhubs_route_check_records_every_routes_activity(lookups, tmp_path):
    """JupyterHub's own update_last_activity with ours installed (the state
    and proxy stand-in of ci/bench/bench_route_check.py): every user's and
    server's last_activity reaches the database."""
    from jupyterhub.app import JupyterHub

    from bench.bench_route_check import fresh_hub_state, hub_with_proxy_routes

    db, table, _held = fresh_hub_state(tmp_path, 30)
    table["/user/user-00007/"]["data"]["last_activity"] = "2026-12-03T12:30:00.000Z"
    lookups.install()
    asyncio.run(JupyterHub.update_last_activity(hub_with_proxy_routes(db, table)))
    db.close()

    other = orm.new_session_factory(f"sqlite:///{tmp_path}/jupyterhub.sqlite")()
    recorded = {
        u.name: (u.last_activity, u._orm_spawners[0].last_activity) for u in other.query(orm.User)
    }
    other.close()
    assert len(recorded) == 30
    assert recorded["user-00007"] == (datetime(2026, 12, 3, 12, 30),) * 2
    assert {v for k, v in recorded.items() if k != "user-00007"} == {
        (datetime(2026, 12, 3, 12, 0),) * 2
    }


@pytest.mark.parametrize("seed", range(6))
def test_same_answer_as_jupyterhubs_query_after_any_changes(lookups, db, seed):
    """Random adds, renames (also of a detached object added back), deletes,
    other changes, commits, rollbacks and expiries, some flushed and some
    pending: after each, both lookups give the same object (or None) for
    every name, and never a different row. Ours goes first, so it meets the
    pending changes unflushed."""
    rng = random.Random(seed)
    names = [f"user{i}" for i in range(6)] + ["User0", "user0 "]
    stock = stock_find(orm.User)
    for _ in range(150):
        users = db.query(orm.User).all()
        step = rng.choice(
            [
                "add",
                "rename",
                "delete",
                "commit",
                "rollback",
                "expire",
                "flush",
                "touch",
                "reattach",
            ]
        )
        free = [n for n in names if n not in {u.name for u in users}]
        if step == "add" and free:
            db.add(orm.User(name=rng.choice(free)))
        elif step == "rename" and users and free:
            rng.choice(users).name = rng.choice(free)
        elif step == "delete" and users:
            db.delete(rng.choice(users))
        elif step == "commit":
            db.commit()
        elif step == "rollback":
            db.rollback()
        elif step == "expire":
            db.expire_all()
        elif step == "flush":
            db.flush()
        elif step == "touch" and users:  # as the route check does: no name moves
            rng.choice(users).last_activity = datetime(2026, 12, 3, 12, rng.randrange(60))
        elif step == "reattach" and users and free:  # renamed while detached, added back
            user = rng.choice(users)
            db.flush()
            db.expunge(user)
            user.name = rng.choice(free)
            db.add(user)
        for name in names:
            ours = lookups.find_by_name(orm.User, db, name)
            theirs = stock(orm.User, db, name)
            assert ours is theirs, (step, name)
            assert ours is None or ours.name == name


def _stock_query(cls, db, name):
    return db.query(cls).filter(cls.name == name).first()


def _another_query(cls, db, name):
    return db.query(cls).filter(cls.name.ilike(name)).first()


def test_installed_over_the_stock_query_only_and_restored(lookups, caplog):
    def orm_class(name, find=_stock_query):
        return type(name, (), {"find": classmethod(find)})

    fake = types.SimpleNamespace(
        User=orm_class("User"),
        Role=orm_class("Role", _another_query),
        Group=orm_class("Group"),
        Service=orm_class("Service"),
    )
    Stock, Changed = fake.User, fake.Role
    own = Stock.__dict__["find"], Changed.__dict__["find"]

    with caplog.at_level(logging.INFO, logger="JupyterHub"):
        assert lookups.install(fake) == ["User", "Group", "Service"]
        assert caplog.messages == []  # silent until report(): one line for a bad value
        lookups.report(fake)
    assert caplog.messages == [
        "hubconf.orm_lookups: User, Group, Service found by name from the session",
        "hubconf.orm_lookups: Role.find not the query it replaces; left alone",
    ]
    assert Stock.find.__func__ is lookups.find_by_name
    assert Changed.__dict__["find"] is own[1]
    assert lookups.install(fake) == ["User", "Group", "Service"]  # once only

    lookups.restore(fake)
    assert (Stock.__dict__["find"], Changed.__dict__["find"]) == own


def test_jupyterhubs_own_find_is_still_the_query_it_replaces(lookups):
    """The pinned JupyterHub: all four get the lookup (else a JupyterHub
    upgrade has changed them, and this module needs a look)."""
    try:
        assert lookups.install() == list(lookups.CLASSES)
        assert orm.User.find.__func__ is lookups.find_by_name
    finally:
        lookups.restore()
    assert orm.User.find.__func__ is not lookups.find_by_name
