"""hubconf.oauth_secrets with JupyterHub's real OAuth provider and ORM: the
OAuth client secret of a spawn (the API token JupyterHub generated) is
hashed with one round like that token's own row, any other secret with
JupyterHub's default rounds, and both verify through JupyterHub's own check."""

import logging

import pytest
from jupyterhub import orm
from jupyterhub.oauth import provider
from jupyterhub.utils import compare_token, hash_token

from .hubenv import load_shipped_module


@pytest.fixture
def secrets():
    module = load_shipped_module("hubconf/oauth_secrets.py")
    assert module.install()
    yield module
    module.restore()
    assert provider.hash_token is hash_token and not module.installed()


@pytest.fixture
def db(tmp_path):
    session = orm.new_session_factory(f"sqlite:///{tmp_path}/hub.sqlite")()
    yield session
    session.close()


def rounds(stored: str) -> int:
    algorithm, rounds, salt, digest = stored.split(":")
    return int(rounds)


def test_a_servers_client_secret_is_hashed_as_its_token(secrets, db):
    user = orm.User(name="alice")
    db.add_all([user, orm.OAuthClient(identifier="jupyterhub")])  # the hub's own client
    db.commit()
    token = user.new_api_token(note="server")  # as JupyterHub's User.spawn does
    server = provider.JupyterHubOAuthServer(db, lambda: db)
    client = server.add_client("jupyterhub-user-alice", token, "/user/alice/oauth_callback")

    stored_token = orm.APIToken.find(db, token)
    assert rounds(stored_token.hashed) == 1  # JupyterHub's own choice for its tokens
    assert rounds(client.secret) == 1
    assert compare_token(client.secret, token)
    other = token[:-1] + ("1" if token[-1] == "0" else "0")
    assert not compare_token(client.secret, other)

    # hashed once only: the same string again (not newly generated) is stretched
    again = server.add_client("jupyterhub-user-alice", token, "/user/alice/oauth_callback")
    assert rounds(again.secret) == 16384


def test_other_secrets_keep_jupyterhubs_rounds(secrets, db):
    server = provider.JupyterHubOAuthServer(db, lambda: db)
    client = server.add_client("service-announcer", "configured-secret", "/services/a/cb")
    assert rounds(client.secret) == 16384
    assert compare_token(client.secret, "configured-secret")
    assert rounds(provider.hash_token("x" * 32, rounds=5)) == 5  # explicit arguments win


def test_only_the_last_tokens_are_remembered(secrets):
    tokens = [orm.new_token() for _ in range(secrets.REMEMBERED + 10)]
    assert len(secrets._generated) == secrets.REMEMBERED
    assert rounds(provider.hash_token(tokens[0])) == 16384  # forgotten
    assert rounds(provider.hash_token(tokens[-1])) == 1


def test_installed_only_over_jupyterhubs_own_functions(secrets, caplog):
    secrets.restore()
    provider.hash_token = lambda token: "someone-else's"
    try:
        with caplog.at_level(logging.INFO, logger="JupyterHub"):
            assert secrets.install() is False
            assert caplog.messages == []  # silent until report(): one line for a bad value
            secrets.report()
        assert caplog.messages == [
            "hubconf.oauth_secrets: JupyterHub's token functions are not the stock ones; left alone"
        ]
        assert not secrets.installed()
    finally:
        provider.hash_token = hash_token
