"""Seed-era keys: each is translated to today's setting (the hub Secret's
values.yaml carries the translation) and NOTES.txt shows the new spelling;
none is silently ignored."""

import base64

import pytest
import yaml

from .chart_helpers import render, render_error, values_key


def hub_values(r) -> dict:
    return yaml.safe_load(base64.b64decode(r.find("Secret", "hub")["data"]["values.yaml"]))


def render_with(tmp_path, values: dict):
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return render((str(path),)), (str(path),)


# (legacy values, check on the effective values, new spelling NOTES shows)
CASES = {
    "extraConfig-string": (
        {"hub": {"extraConfig": "c.JupyterHub.x = 1\n"}},
        lambda v: v["hub"]["extraConfig"] == {"legacy-extraConfig": "c.JupyterHub.x = 1\n"},
        "extraConfig:\n        myConfig: |",
    ),
    "extraConfigMap": (
        {"hub": {"extraConfigMap": {"myString": "Hello!"}}, "custom": {"other": 1}},
        lambda v: (
            v["custom"] == {"myString": "Hello!", "other": 1} and "extraConfigMap" not in v["hub"]
        ),
        "write its keys under `custom`",
    ),
    "imagePullPolicy": (
        {"hub": {"imagePullPolicy": "Always"}},
        lambda v: v["hub"]["image"]["pullPolicy"] == "Always",
        "hub.image.pullPolicy: Always",
    ),
    "uid": (
        {"hub": {"uid": 1234}},
        lambda v: v["hub"]["containerSecurityContext"]["runAsUser"] == 1234,
        "hub.containerSecurityContext.runAsUser: 1234",
    ),
    "fsGid": (
        {"hub": {"fsGid": 1235}},
        lambda v: v["hub"]["podSecurityContext"]["fsGroup"] == 1235,
        "hub.podSecurityContext.fsGroup: 1235",
    ),
    "rbac.enabled": (
        {"rbac": {"enabled": False}},
        lambda v: v["rbac"] == {"create": False},
        "rbac.create: false",
    ),
    "schedulerStrategy-spread": (
        {"singleuser": {"schedulerStrategy": "spread"}},
        lambda v: v["scheduling"]["userScheduler"]["enabled"] is False,
        "scheduling.userScheduler.enabled: false",
    ),
    "schedulerStrategy-pack": (
        {
            "singleuser": {"schedulerStrategy": "pack"},
            "scheduling": {"userScheduler": {"enabled": False}},
        },
        lambda v: v["scheduling"]["userScheduler"]["enabled"] is True,
        "scheduling.userScheduler.enabled: true",
    ),
    "cloudMetadata.enabled": (
        {"singleuser": {"cloudMetadata": {"enabled": True}}},
        lambda v: (
            v["singleuser"]["cloudMetadata"]
            == {"blockWithIptables": False, "ip": "169.254.169.254"}
            and v["singleuser"]["networkPolicy"]["egressAllowRules"]["cloudMetadataServer"] is True
        ),
        "singleuser.cloudMetadata.blockWithIptables: false",
    ),
    "proxy.networkPolicy": (
        {"proxy": {"networkPolicy": {"enabled": False}}},
        lambda v: (
            v["proxy"]["chp"]["networkPolicy"]["enabled"] is False
            and "networkPolicy" not in v["proxy"]
        ),
        "proxy.chp.networkPolicy",
    ),
    "https-letsencrypt": (
        {
            "proxy": {
                "https": {
                    "hosts": ["h.example.org"],
                    "letsencrypt": {"contactEmail": "a@example.org"},
                }
            }
        },
        lambda v: v["proxy"]["https"]["enabled"] is True,
        "proxy.https.enabled: true",
    ),
    "https-manual": (
        {
            "proxy": {
                "https": {
                    "hosts": ["h.example.org"],
                    "type": "manual",
                    "manual": {"key": "K", "cert": "C"},
                }
            }
        },
        lambda v: v["proxy"]["https"]["enabled"] is True,
        "proxy.https.enabled: true",
    ),
    "auth": (
        {"auth": {"type": "google", "google": {"clientId": "id", "hostedDomain": "uni.edu"}}},
        lambda v: v["auth"]["google"]["clientId"] == "id",  # kept for the hub to read
        "hub.config.GoogleOAuthenticator.hosted_domain",
    ),
    "auth-custom": (
        {"auth": {"type": "custom", "custom": {"className": "a.b.MyAuth", "config": {"x": 1}}}},
        lambda v: v["auth"]["custom"]["className"] == "a.b.MyAuth",
        "hub.config.MyAuth.x",
    ),
    "auth.state.cryptoKey": (
        {"auth": {"state": {"enabled": True, "cryptoKey": "ab" * 32}}},
        lambda v: v["hub"]["config"]["CryptKeeper"]["keys"] == ["ab" * 32],
        "hub.config.CryptKeeper.keys",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_legacy_key_is_translated_and_warned_about(tmp_path, notes, case):
    values, check, new_spelling = CASES[case]
    r, key = render_with(tmp_path, values)
    assert check(hub_values(r))
    text = notes(key)
    assert "keys of older versions of the chart" in text
    assert new_spelling in text


def test_current_keys_give_no_legacy_warning(notes, prerendered):
    for name in ("default", "maximal", "dev-config"):
        assert "older versions" not in notes(values_key(name)), name


def test_https_explicitly_off_stays_off(tmp_path):
    r, _ = render_with(
        tmp_path,
        {
            "proxy": {
                "https": {"enabled": False, "hosts": ["h"], "letsencrypt": {"contactEmail": "a@b"}}
            }
        },
    )
    assert not r.all("Deployment", "autohttps")
    assert [p["name"] for p in r.find("Service", "proxy-public")["spec"]["ports"]] == ["http"]


def test_seed_letsencrypt_example_turns_https_on():
    r = render(("seed/31-https-letsencrypt",))
    assert r.find("Deployment", "autohttps")
    assert r.find("Service", "proxy-public")["spec"]["selector"]["component"] == "autohttps"


def test_seed_auth_keys_reach_the_hub_unchanged():
    values = hub_values(render(("seed/20-auth-github-org",)))
    assert values["auth"]["github"]["org_whitelist"] == ["SomeOrgName"]
    assert values["auth"]["scopes"] == ["read:org"]


def test_numeric_image_tag_is_warned_about(notes):
    assert "prePuller.extraImages.ubuntu-xenial.tag is a number (16.04); quote it" in notes(
        ("seed/30-prepuller-extra-images",)
    )


def test_placeholders_without_pod_priority_are_warned_about(notes):
    warning = "users cannot evict them"
    assert warning in notes(sets=("scheduling.userPlaceholder.replicas=2",))
    with_priority = ("scheduling.userPlaceholder.replicas=2", "scheduling.podPriority.enabled=true")
    assert warning not in notes(sets=with_priority)
    assert warning not in notes()  # no placeholders by default


def test_notes_say_where_to_connect(notes, prerendered):
    assert "kubectl --namespace jhub get service proxy-public" in notes()
    assert "Anyone can log in" in notes()
    assert "https://max-ingress.example.org/maxbase/" in notes(("maximal",))
    assert "https://hub.example.org/" in notes(("seed/31-https-letsencrypt",))


# NOTES for each seed authentication example: the lines it must show (the
# hub's translation of the same file is checked against NOTES in
# tests/hubconfig/test_auth.py).
SEED_AUTH_NOTES = {
    "16-admin-users": [
        "auth.admin.users is deprecated; write hub.config.Authenticator.admin_users"
    ],
    "17-admin-access": [
        "auth.admin.access is deprecated; write hub.config.JupyterHub.admin_access: false",
        "auth.admin.access: false no longer restricts admins: JupyterHub's admin role can always "
        "reach users' servers; define a narrower role in hub.loadRoles instead",
    ],
    "19-auth-github": [
        "auth.type is deprecated; write hub.config.JupyterHub.authenticator_class: github",
        "auth.github.clientId is deprecated; write hub.config.GitHubOAuthenticator.client_id",
        "auth.github.callbackUrl is deprecated; write "
        "hub.config.GitHubOAuthenticator.oauth_callback_url",
        "hub.config.GitHubOAuthenticator.allow_all: true",
    ],
    "20-auth-github-org": [
        "auth.github.org_whitelist is deprecated; write "
        "hub.config.GitHubOAuthenticator.allowed_organizations",
        "auth.scopes is deprecated; write hub.config.OAuthenticator.scope",
    ],
    "21-auth-google": [
        "auth.type is deprecated; write hub.config.JupyterHub.authenticator_class: google",
        "auth.google.hostedDomain is deprecated; write "
        "hub.config.GoogleOAuthenticator.hosted_domain (a list)",
        "auth.google.loginService is deprecated; write hub.config.GoogleOAuthenticator.login_service",
        "hub.config.GoogleOAuthenticator.allow_all: true",
    ],
    # The seed prints CILogon's settings under `github`: they are CILogon's.
    "22-auth-cilogon": [
        "auth.type is deprecated; write hub.config.JupyterHub.authenticator_class: cilogon",
        "auth.github.clientId is deprecated; write hub.config.CILogonOAuthenticator.client_id",
        "hub.config.CILogonOAuthenticator.allow_all: true",
    ],
    "23-auth-globus": [
        "auth.globus.identityProvider is deprecated; write "
        "hub.config.GlobusOAuthenticator.identity_provider",
    ],
    "24-auth-openid-connect": [
        "auth.type custom is deprecated; write hub.config.JupyterHub.authenticator_class: "
        "oauthenticator.generic.GenericOAuthenticator",
        "auth.custom.config.token_url is deprecated; write hub.config.GenericOAuthenticator.token_url",
        "auth.custom.config.username_key is deprecated; write "
        "hub.config.GenericOAuthenticator.username_claim",
        "auth.custom.config.userdata_method is no longer a setting (oauthenticator always fetches "
        "user data with GET); remove it",
    ],
    "25-auth-whitelist": [
        "auth.whitelist.users is deprecated; write hub.config.Authenticator.allowed_users"
    ],
    "47-auth-state": [
        "auth.state.enabled is deprecated; write hub.config.Authenticator.enable_auth_state: true",
        "auth.state.cryptoKey is deprecated; write hub.config.CryptKeeper.keys: [<the key>]",
    ],
}
SEED_AUTH_NOT_IN_NOTES = {
    "20-auth-github-org": ["allow_all"],  # an organisation restricts who logs in
    "22-auth-cilogon": ["GitHubOAuthenticator"],
    "24-auth-openid-connect": ["GenericOAuthenticator.username_key", "userdata_method:"],
    "25-auth-whitelist": ["allow_all"],
}


@pytest.mark.parametrize("name", sorted(SEED_AUTH_NOTES))
def test_seed_auth_example_notes_show_todays_spelling(notes, name):
    text = " ".join(notes((f"seed/{name}",)).split())
    for line in SEED_AUTH_NOTES[name]:
        assert line in text, line
    for wrong in SEED_AUTH_NOT_IN_NOTES.get(name, []):
        assert wrong not in text, wrong


def test_generic_notes_name_the_entry_point(notes):
    text = notes(sets=('auth={"type": "generic", "generic": {"usernameKey": "sub"}}',))
    assert "write hub.config.JupyterHub.authenticator_class: generic-oauth" in text
    assert "auth.generic.usernameKey is deprecated; write " in text
    assert "hub.config.GenericOAuthenticator.username_claim" in text
    assert "hub.config..client_id" not in text


def test_dummy_warning_stays_while_the_authenticator_is_dummy(notes):
    assert "Anyone can log in" in notes(("seed/16-admin-users",))
    assert "Anyone can log in" not in notes(("seed/19-auth-github",))


# auth.* the hub could not honour: refused when rendering, with the fix.
AUTH_REFUSED = {
    "unknown type": (
        {"auth": {"type": "ldap"}},
        ['auth.type "ldap" is not one of: azuread, cilogon, custom, dummy, generic, github,',
         "hub.config.JupyterHub.authenticator_class"],
    ),
    "section of another type": (
        {"auth": {"type": "google", "github": {"clientId": "x"}}},
        ["auth.github is only read with auth.type: github (auth.type is google)"],
    ),
    "section without a type": (
        {"auth": {"globus": {"clientId": "x"}}},
        ["auth.globus is only read with auth.type: globus (auth.type is not set)"],
    ),
    "custom without a class": (
        {"auth": {"type": "custom", "custom": {"config": {}}}},
        ["auth.type custom needs auth.custom.className"],
    ),
    "unknown provider key": (
        {"auth": {"type": "github", "github": {"clientID": "x"}}},
        ["/auth/github", "clientID"],
    ),
    "typo in auth": ({"auth": {"admn": {"users": ["a"]}}}, ["/auth", "admn"]),
    "typo in whitelist": ({"auth": {"whitelist": {"user": ["a"]}}}, ["/auth/whitelist", "user"]),
    "userdata_method POST": (
        {"auth": {"type": "custom", "custom": {
            "className": "oauthenticator.generic.GenericOAuthenticator",
            "config": {"userdata_method": "POST"}}}},
        ["auth.custom.config.userdata_method is POST", "always fetches user data with GET"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("helm", ["3", "4"])
@pytest.mark.parametrize("case", list(AUTH_REFUSED))
def test_auth_the_hub_cannot_honour_is_refused(tmp_path, helm, case):
    values, expected = AUTH_REFUSED[case]
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    message = render_error((str(path),), helm)
    for part in expected:
        assert part in message, message


SEED_OIDC_AS_PRINTED = """
hub:
  extraEnv:
    OAUTH2_AUTHORIZE_URL: https://sso.example.org/auth/realms/r/protocol/openid-connect/auth
  auth:
    type: custom
    custom:
      className: oauthenticator.generic.GenericOAuthenticator
      config:
        client_id: "y0urcllogonclientId"
      userdata_method: GET
      userdata_params: {'state': 'state'}
      username_key: preferred_username
"""


@pytest.mark.parametrize("helm", ["3", "4"])
def test_seed_oidc_example_as_printed_is_refused_with_the_right_spelling(tmp_path, helm):
    """The seed prints `auth:` under `hub:` and three settings beside
    `className`: each slip is refused naming where it belongs."""
    printed = yaml.safe_load(SEED_OIDC_AS_PRINTED)
    path = tmp_path / "printed.yaml"
    path.write_text(yaml.safe_dump(printed))
    message = render_error((str(path),), helm)
    assert "hub.auth is not read" in message and "top level (auth:, not under hub:)" in message
    printed["auth"] = printed["hub"].pop("auth")
    path.write_text(yaml.safe_dump(printed))
    message = render_error((str(path),), helm)
    assert (
        "auth.custom.userdata_method, auth.custom.userdata_params, auth.custom.username_key: "
        "not read"
    ) in message
    assert "go under auth.custom.config" in message
    assert "hub.config.GenericOAuthenticator.username_claim" in message


# Half-done seed-era HTTPS (no proxy.https.enabled): refused naming the
# missing key, not left on plain HTTP.
HTTPS_HALF_DONE = [
    ({"hosts": ["h.example.org"]}, "needs proxy.https.letsencrypt.contactEmail"),
    ({"letsencrypt": {"contactEmail": "a@example.org"}}, "needs proxy.https.hosts"),
    ({"type": "manual", "manual": {"key": "K"}}, "proxy.https.manual.cert is missing"),
    ({"type": "manual", "manual": {"cert": "C"}}, "proxy.https.manual.key is missing"),
    ({"hosts": ["h.example.org"], "type": "secret"}, "needs proxy.https.secret.name"),
]


@pytest.mark.parametrize("helm", ["3", "4"])
@pytest.mark.parametrize("https, missing", HTTPS_HALF_DONE, ids=[m for _, m in HTTPS_HALF_DONE])
def test_half_done_seed_https_is_refused(tmp_path, helm, https, missing):
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump({"proxy": {"https": https}}))
    message = render_error((str(path),), helm)
    assert missing in message, message
    assert "set proxy.https.enabled: false for plain HTTP" in message, message
