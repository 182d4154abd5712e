"""hubconf.active_counts against JupyterHub's own count on JupyterHub's real
UserDict, users, spawners and ORM: the same counts over random mixes of
pending flags, servers, named servers and spawner classes; only over
JupyterHub's own code."""

import logging
import random

import pytest
from jupyterhub import orm
from jupyterhub.objects import Hub, Server
from jupyterhub.spawner import LocalProcessSpawner
from jupyterhub.user import UserDict

from .hubenv import load_shipped_module

FLAGS = ("_spawn_pending", "_stop_pending", "_check_pending", "_rename_pending")


class OwnReady(LocalProcessSpawner):
    """A spawner class with its own idea of `ready` (asked through it)."""

    @property
    def ready(self):
        return not self.pending and self.user.name.endswith("7")


@pytest.fixture
def counts():
    module = load_shipped_module("hubconf/active_counts.py")
    stock = UserDict.count_active_users
    yield module
    module.restore()
    assert UserDict.count_active_users is stock and not module.installed()


def a_hub(rng, users=120, spawner_class=LocalProcessSpawner):
    """A UserDict as the hub holds it, spawners in random states."""
    db = orm.new_session_factory("sqlite://")()
    user_dict = UserDict(
        lambda: db, {"spawner_class": spawner_class, "hub": Hub(), "allow_named_servers": True}
    )
    for i in range(users):
        orm_user = orm.User(name=f"user-{i}")
        db.add(orm_user)
        db.commit()
        user = user_dict.add(orm_user)
        if rng.random() < 0.2:
            continue  # a user who never started anything: no spawner object
        names = [""] + [f"s{n}" for n in range(rng.randrange(3))]
        for name in names:
            spawner = user.get_or_create_spawner(name, name) if name else user.spawners[""]
            for flag in FLAGS:
                if rng.random() < 0.15:  # sometimes two at once: order matters
                    setattr(spawner, flag, True)
            if rng.random() < 0.6:
                server = orm.Server(base_url=f"/user/user-{i}/{name}")
                db.add(server)
                spawner.orm_spawner.server = server
            elif rng.random() < 0.2:
                spawner.orm_spawner = None  # `server` then answers from _server
                if rng.random() < 0.5:
                    spawner._server = Server(base_url=f"/user/user-{i}/{name}")
    db.commit()
    return user_dict


@pytest.mark.parametrize("seed", range(12))
def test_same_counts_as_jupyterhub(counts, seed):
    rng = random.Random(seed)
    spawner_class = OwnReady if seed % 4 == 3 else LocalProcessSpawner
    user_dict = a_hub(rng, spawner_class=spawner_class)
    expected = UserDict.count_active_users(user_dict)
    assert counts.install()
    got = user_dict.count_active_users()
    assert got == expected
    assert got.default_factory is int  # callers read missing keys as 0
    assert expected["pending"] and expected["ready"]  # the mix had both


def test_counts_follow_changes(counts):
    """A spawn starting, becoming ready and stopping, counted each time."""
    user_dict = a_hub(random.Random(99), users=30)
    assert counts.install()
    spawner = next(
        s
        for user in user_dict.values()
        for s in user.spawners.values()
        if not s.pending and s.orm_spawner and s.orm_spawner.server is None
    )
    db = user_dict.db
    steps = []

    def step():
        ours = user_dict.count_active_users()
        assert ours == counts.count_active_users.stock(user_dict)
        steps.append((ours["pending"], ours["ready"], ours["active"]))

    step()
    spawner._spawn_pending = True
    step()
    spawner.orm_spawner.server = orm.Server(base_url="/user/x/")
    db.commit()
    step()
    spawner._spawn_pending = False
    step()
    spawner._stop_pending = True
    step()
    spawner._stop_pending = False
    spawner.server = None  # JupyterHub's way of dropping the server
    db.commit()
    step()
    (p0, r0, a0), *rest = steps
    assert rest == [
        (p0 + 1, r0, a0 + 1),
        (p0 + 1, r0, a0 + 1),
        (p0, r0 + 1, a0 + 1),
        (p0 + 1, r0, a0 + 1),
        (p0, r0, a0),
    ]


def test_left_alone_when_jupyterhub_changed_it(counts, caplog, monkeypatch):
    def someone_elses(self):
        return {}

    monkeypatch.setattr(UserDict, "count_active_users", someone_elses)
    with caplog.at_level(logging.INFO, logger="JupyterHub"):
        assert counts.install() is False
        assert caplog.messages == []  # silent until report()
        counts.report()
    assert caplog.messages == [
        "hubconf.active_counts: JupyterHub's server count is not the one checked; left alone"
    ]
    assert UserDict.count_active_users is someone_elses


def test_installed_over_jupyterhubs_own_code(counts, caplog):
    """The pinned JupyterHub is the code it was checked against; report()
    says so, and nothing once restored."""
    assert counts.install() and counts.installed()
    with caplog.at_level(logging.INFO, logger="JupyterHub"):
        counts.report()
        counts.restore()
        counts.report()
    assert caplog.messages == [
        "hubconf.active_counts: active and pending servers counted in one pass"
    ]
