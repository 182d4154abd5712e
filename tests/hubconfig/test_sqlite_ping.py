"""hubconf.sqlite_ping with JupyterHub's real session factory: SQLite engines
run no `SELECT 1` per transaction, other databases keep JupyterHub's ping,
and only JupyterHub's own function is replaced."""

import logging

import pytest
from jupyterhub import orm
from sqlalchemy import create_engine, event

from .hubenv import load_shipped_module


@pytest.fixture
def ping():
    module = load_shipped_module("hubconf/sqlite_ping.py")
    stock = orm.register_ping_connection
    yield module
    module.restore()
    assert orm.register_ping_connection is stock and not module.installed()


def pings_in_transactions(url: str, transactions: int = 5) -> int:
    """How many `SELECT 1` JupyterHub's session sends over a few commits."""
    db = orm.new_session_factory(url)()
    sent = []
    event.listen(
        db.get_bind(),
        "before_cursor_execute",
        lambda conn, cursor, statement, *_: sent.append(statement),
    )
    db.add(orm.User(name="alex"))
    db.commit()
    for _ in range(transactions):
        db.query(orm.User).filter_by(name="alex").one().last_activity = None
        db.commit()
    db.close()
    return sum(1 for statement in sent if statement.strip().upper() == "SELECT 1")


def test_sqlite_sessions_send_no_ping(ping, tmp_path):
    assert pings_in_transactions(f"sqlite:///{tmp_path}/stock.sqlite") >= 5  # JupyterHub's own
    assert ping.install()
    assert pings_in_transactions(f"sqlite:///{tmp_path}/hub.sqlite") == 0
    # the database works as before: what was committed is there
    db = orm.new_session_factory(f"sqlite:///{tmp_path}/hub.sqlite")()
    assert [u.name for u in db.query(orm.User)] == ["alex"]


def test_other_databases_keep_jupyterhubs_ping(ping):
    assert ping.install()
    for url in (
        "postgresql+psycopg2://hub@db.invalid/jupyterhub",
        "mysql+pymysql://hub@db.invalid/jupyterhub",
    ):
        engine = create_engine(url)  # no connection made
        orm.register_ping_connection(engine)
        assert len(engine.dispatch.engine_connect) == 1, url
    engine = create_engine("sqlite://")
    orm.register_ping_connection(engine)
    assert len(engine.dispatch.engine_connect) == 0


def test_installed_only_over_jupyterhubs_own_function(ping, caplog):
    stock = orm.register_ping_connection

    def someone_elses(engine):
        pass

    orm.register_ping_connection = someone_elses
    try:
        with caplog.at_level(logging.INFO, logger="JupyterHub"):
            assert ping.install() is False
            assert caplog.messages == []  # silent until report()
            ping.report()
        assert caplog.messages == [
            "hubconf.sqlite_ping: JupyterHub's connection ping is not the stock one; left alone"
        ]
        assert orm.register_ping_connection is someone_elses
    finally:
        orm.register_ping_connection = stock


def test_report_says_it_is_on(ping, caplog):
    assert ping.install() and ping.install()  # idempotent
    with caplog.at_level(logging.INFO, logger="JupyterHub"):
        ping.report()
    assert caplog.messages == ["hubconf.sqlite_ping: no connection ping for SQLite databases"]
