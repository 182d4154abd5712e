"""Authentication: hub.config pass-through and the seed guide's auth.* keys."""

import logging

import pytest
from hubenv import authenticator_class


def test_default_is_the_dummy_authenticator(hub_setup):
    config = hub_setup().config
    assert authenticator_class(config).__name__ == "DummyAuthenticator"


def test_hub_config_passes_through(hub_setup):
    config = hub_setup("auth-hub-config.yaml").config
    assert authenticator_class(config).__name__ == "GitHubOAuthenticator"
    github = config.GitHubOAuthenticator
    assert github.client_id == "gh-client"
    assert github.client_secret == "gh-secret"
    assert github.allowed_organizations == ["my-org"]
    assert github.scope == ["read:org"]
    assert config.Authenticator.admin_users == ["alice"]
    assert config.JupyterHub.admin_access is False
    # any section, not only authenticators; it wins over the chart's mapping
    assert config.KubeSpawner.start_timeout == 123  # singleuser.startTimeout is 300


LEGACY = {
    "auth-github.yaml": (
        "GitHubOAuthenticator",
        {
            "client_id": "y0urg1thubclientld",
            "client_secret": "an0therlongs3cretstring",
            "oauth_callback_url": "http://hub.example.org/hub/oauth_callback",
            "allowed_organizations": ["SomeOrgName"],
        },
    ),
    "auth-google.yaml": (
        "GoogleOAuthenticator",
        {
            "client_id": "yourlongclientidstring.apps.googleusercontent.com",
            "hosted_domain": ["youruniversity.edu"],
            "login_service": "Your University",
        },
    ),
    "auth-cilogon.yaml": (
        "CILogonOAuthenticator",
        {"client_id": "y0urcllogonclientld", "allow_all": True},
    ),
    "auth-globus.yaml": (
        "GlobusOAuthenticator",
        {
            "client_id": "y0urcllogonclientId",
            "identity_provider": "youruniversity.edu",
            "oauth_callback_url": "https://hub.example.org/hub/oauth_callback",
            "allow_all": True,
        },
    ),
    "auth-gitlab.yaml": (
        "GitLabOAuthenticator",
        {"client_id": "gitlab-client", "gitlab_url": "https://gitlab.example.org"},
    ),
    "auth-generic.yaml": (
        "GenericOAuthenticator",
        {
            "client_id": "generic-client",
            "authorize_url": "https://sso.example.org/auth",
            "token_url": "https://sso.example.org/token",
            "userdata_url": "https://sso.example.org/userinfo",
            "username_claim": "preferred_username",
        },
    ),
    "auth-custom.yaml": (
        "GenericOAuthenticator",
        {
            "client_id": "y0urcllogonclientId",
            "userdata_params": {"state": "state"},
            "username_key": "preferred_username",
        },
    ),
}


@pytest.mark.parametrize("values_file", sorted(LEGACY))
def test_seed_auth_types(hub_setup, values_file):
    config = hub_setup(values_file).config
    class_name, expected = LEGACY[values_file]
    assert authenticator_class(config).__name__ == class_name
    section = config[class_name]
    for trait, value in expected.items():
        assert section[trait] == value, trait


def test_seed_auth_keys_are_logged_with_their_spelling_today(hub_setup, caplog):
    with caplog.at_level(logging.WARNING, logger="JupyterHub"):
        hub_setup("auth-github.yaml").load()
    messages = caplog.text
    assert (
        "auth.type is an old spelling; today: hub.config.JupyterHub.authenticator_class" in messages
    )
    assert (
        "auth.github.org_whitelist is an old spelling; today: "
        "hub.config.GitHubOAuthenticator.allowed_organizations"
    ) in messages


def test_seed_scopes_and_admins(hub_setup):
    config = hub_setup("auth-github.yaml").config
    assert config.OAuthenticator.scope == ["read:org"]
    assert config.Authenticator.admin_users == {"adminuser1", "adminuser2"}
    # an organisation restricts who logs in, so not everyone is allowed
    assert "allow_all" not in config.GitHubOAuthenticator


def test_seed_whitelist_admin_access_and_state(hub_setup):
    config = hub_setup("auth-google.yaml").config
    assert config.Authenticator.allowed_users == {"user1", "user2"}
    # a whitelist means: only these users, not everyone in the domain
    assert "allow_all" not in config.GoogleOAuthenticator
    assert config.JupyterHub.admin_access is False
    assert config.Authenticator.enable_auth_state is True
    assert config.CryptKeeper["keys"][0] == (
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    )
    # the chart's generated key is kept for rotation
    assert len(config.CryptKeeper["keys"]) == 2


def test_the_configured_authenticator_instantiates(hub_setup):
    """The translated settings are valid traits of the real class."""
    config = hub_setup("auth-google.yaml").config
    cls = authenticator_class(config)
    authenticator = cls(config=config)
    assert authenticator.hosted_domain == ["youruniversity.edu"]
    assert authenticator.allowed_users == {"user1", "user2"}
    assert authenticator.login_service == "Your University"


def test_seed_dummy_authenticator_with_a_password(hub_setup):
    config = hub_setup().load(
        existing_values={"auth": {"type": "dummy", "dummy": {"password": "workshop"}}}
    )
    assert authenticator_class(config).__name__ == "DummyAuthenticator"
    assert config.DummyAuthenticator.password == "workshop"
    assert "allow_all" not in config.DummyAuthenticator


def test_seed_auth_type_replaces_the_default_authenticator(hub_setup):
    """auth.type replaces the chart's default authenticator_class (dummy)."""
    config = hub_setup("auth-github.yaml").config
    assert config.JupyterHub.authenticator_class == "oauthenticator.github.GitHubOAuthenticator"
