"""Authentication: hub.config pass-through and the seed guide's auth.* keys.

The seed-era keys are translated twice: NOTES.txt tells the user the new
spelling (chart/templates/_helpers-legacy.tpl) and the hub applies it
(legacy_auth_config in jupyterhub_config.py). The tests here check both
against each other for every seed example, on real renders.
"""

import json
import logging
import re
import shutil
import subprocess

import pytest
import yaml

from .hubenv import CHART, HELM, REPO, authenticator_class, load_hub_config

SEED = REPO / "tests" / "chart" / "values" / "seed"
SEED_AUTH = sorted(
    p
    for p in SEED.glob("*.yaml")
    if re.match(r"(1[67]|19|2[0-5]|47)-", p.name)  # the authentication examples
)


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
            # oauthenticator renamed username_key; the hub uses today's name
            "username_claim": "preferred_username",
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
        "auth.type is an old spelling; today: hub.config.JupyterHub.authenticator_class: github"
        in messages
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


def test_seed_whitelist_admin_access_and_state(hub_setup, caplog):
    with caplog.at_level(logging.WARNING, logger="JupyterHub"):
        config = hub_setup("auth-google.yaml").load()
    assert config.Authenticator.allowed_users == {"user1", "user2"}
    # a whitelist means: only these users, not everyone in the domain
    assert "allow_all" not in config.GoogleOAuthenticator
    assert config.JupyterHub.admin_access is False
    assert "auth.admin.access: false no longer restricts admins" in caplog.text
    assert config.Authenticator.enable_auth_state is True
    # the given key, once: the chart's Secret already holds it, so the hub
    # must not add it again, and a given key is not joined by a generated one
    assert config.CryptKeeper["keys"] == [
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    ]


# -- crypt keys: the given key encrypts, earlier ones still decrypt

GIVEN, EARLIER = "ab" * 32, "cd" * 32


def _crypt_keys(setup, secret_keys, existing_keys=None):
    root = setup.root(
        existing_files=existing_keys and {"hub.config.CryptKeeper.keys": existing_keys}
    )
    (root / "secret" / "hub.config.CryptKeeper.keys").write_text(secret_keys)
    return load_hub_config(root, setup.pod.env).CryptKeeper["keys"]


def test_crypt_keys_as_the_chart_writes_them_after_a_key_change(hub_setup):
    """The chart writes `given;earlier` after an upgrade that adds
    auth.state.cryptoKey (tests/chart/test_chart_upgrade.py): the hub uses
    them in that order, the legacy key not added twice."""
    setup = hub_setup(SEED / "47-auth-state.yaml")
    given = setup.pod.values["auth"]["state"]["cryptoKey"]
    assert _crypt_keys(setup, f"{given};{EARLIER}") == [given, EARLIER]


def test_crypt_keys_from_an_existing_secret_get_the_legacy_key_first(hub_setup):
    """hub.existingSecret's keys come without auth.state.cryptoKey: it goes
    first (it encrypts), the others stay to decrypt."""
    setup = hub_setup(SEED / "47-auth-state.yaml")
    given = setup.pod.values["auth"]["state"]["cryptoKey"]
    keys = _crypt_keys(setup, given, existing_keys=f"{EARLIER}\n")
    assert keys == [given, EARLIER]


def test_crypt_keys_decrypt_auth_state_encrypted_with_the_earlier_key(hub_setup):
    """What the order is for: JupyterHub's CryptKeeper encrypts with the first
    key and decrypts with any of them."""
    from jupyterhub.crypto import CryptKeeper

    setup = hub_setup(SEED / "47-auth-state.yaml")
    given = setup.pod.values["auth"]["state"]["cryptoKey"]
    before = CryptKeeper(keys=[bytes.fromhex(EARLIER)])
    token = before.fernet.encrypt(b"auth state")
    keys = _crypt_keys(setup, f"{given};{EARLIER}")
    after = CryptKeeper(keys=[bytes.fromhex(k) for k in keys])
    assert after.fernet.decrypt(token) == b"auth state"
    fresh = after.fernet.encrypt(b"new state")
    assert CryptKeeper(keys=[bytes.fromhex(given)]).fernet.decrypt(fresh) == b"new state"


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


def test_userdata_method_get_is_dropped_and_other_methods_refused(hub_setup, caplog):
    """Removed from oauthenticator (always GET): GET is dropped with the
    message NOTES shows; another method cannot be honoured."""
    from .hubenv import raises_config_error

    custom = {
        "type": "custom",
        "custom": {
            "className": "oauthenticator.generic.GenericOAuthenticator",
            "config": {"userdata_method": "GET"},
        },
    }
    with caplog.at_level(logging.WARNING, logger="JupyterHub"):
        config = hub_setup().load(existing_values={"auth": custom})
    assert "userdata_method" not in config.GenericOAuthenticator
    assert "always fetches user data with GET" in caplog.text
    custom["custom"]["config"]["userdata_method"] = "POST"
    with raises_config_error(r"auth\.custom\.config\.userdata_method is 'POST'"):
        hub_setup().load(existing_values={"auth": custom})


# -- NOTES.txt and the hub say the same thing


@pytest.fixture(scope="module")
def notes_chart(tmp_path_factory):
    """The chart plus a template that puts NOTES.txt's text in a ConfigMap
    (`helm template` does not print NOTES)."""
    copy = tmp_path_factory.mktemp("notes") / "chart"
    shutil.copytree(CHART, copy)
    (copy / "templates/zz-notes.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\n"
        'data:\n  notes: {{ include "jupyterhub.notes" . | quote }}\n'
    )
    return copy


def notes(chart, values_file=None, sets=()):
    cmd = [str(HELM), "template", "jhub", str(chart), "--show-only", "templates/zz-notes.yaml"]
    cmd += ["-f", str(values_file)] if values_file else []
    for s in sets:
        cmd += ["--set-json", s]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return yaml.safe_load(out.stdout)["data"]["notes"]


# "hub.config.<Section>.<trait>" with ": <value>" where the text shows one.
_SPELLING = re.compile(r"hub\.config\.(\w+)\.(\w+)(?:: (\S+))?")


def _notes_spellings(text):
    """{old key: new spelling} from NOTES' legacy warnings."""
    warnings = text.partition("WARNING:")[2]
    out = {}
    for line in re.split(r"\n- ", warnings)[1:]:
        line = " ".join(line.split())
        if line.startswith("auth.type ") and "allow_all" in line:
            key = "allow_all"
        else:
            key = line.split(" ")[0]
        out[key] = [m.groups() for m in _SPELLING.finditer(line)]
    return out


def _hub_spellings(records):
    out = {}
    for record in records:
        message = record.getMessage()
        key, sep, today = message.partition(" is an old spelling; today: ")
        if sep and key.startswith("auth"):
            key = "allow_all" if "(no whitelist)" in key else key
            out[key] = [m.groups() for m in _SPELLING.finditer(today)]
    return out


@pytest.mark.parametrize("values_file", SEED_AUTH, ids=lambda p: p.stem)
def test_notes_and_the_hub_give_the_same_spelling(hub_setup, notes_chart, caplog, values_file):
    """For each seed authentication example: every auth.* key NOTES names,
    the hub translates to the very setting NOTES shows, and nothing else."""
    text = notes(notes_chart, values_file)
    with caplog.at_level(logging.WARNING, logger="JupyterHub"):
        config = hub_setup(values_file).load()
    told = _notes_spellings(text)
    done = _hub_spellings(caplog.records)
    # userdata_method is dropped, not translated: both say so
    dropped = [k for k in told if not told[k]]
    for key in dropped:
        assert "no longer a setting" in text and f"{key} is no longer a setting" in caplog.text
    assert {k: v for k, v in told.items() if v} == done
    for spellings in done.values():
        for section, trait, shown in spellings:
            assert trait in config[section], f"{section}.{trait}"
            value = config[section][trait]
            if trait == "authenticator_class":
                # NOTES may show the entry point name: the same class
                assert authenticator_class(config) is authenticator_class(
                    type(config)({"JupyterHub": {"authenticator_class": shown}})
                )
            elif shown and shown != "[<the":
                assert yaml.safe_load(shown) == value, f"{section}.{trait}"
    if "auth.admin.access" in told and told["auth.admin.access"][0][2] == "false":
        # the warning the hub logs is in NOTES word for word
        hub_warning = next(
            r.getMessage() for r in caplog.records if "no longer restricts" in r.getMessage()
        )
        assert hub_warning in " ".join(text.split())


def _chart_auth_types(notes_chart):
    """auth.type values the chart accepts, from its refusal message."""
    cmd = [str(HELM), "template", "jhub", str(notes_chart), "--set", "auth.type=bogus"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    assert out.returncode != 0
    choices = re.search(r'auth\.type "bogus" is not one of: ([\w, -]+)\.', out.stderr)
    assert choices, out.stderr
    return choices.group(1).split(", ")


# The one auth.type table chart and hub both read (generated from the schema).
AUTH_TYPES = json.loads((CHART / "files/legacy-keys.json").read_text())["auth"]["types"]


def test_chart_and_hub_accept_the_same_auth_types(notes_chart):
    assert _chart_auth_types(notes_chart) == sorted([*AUTH_TYPES, "custom"])


@pytest.mark.parametrize("auth_type", sorted(AUTH_TYPES))
def test_each_auth_type_notes_name_the_class_the_hub_loads(hub_setup, notes_chart, auth_type):
    """NOTES' authenticator_class (an entry point name) is the class the hub
    imports, which exists in the hub's environment."""
    name, class_path = AUTH_TYPES[auth_type]
    text = notes(notes_chart, sets=(f'auth={{"type": "{auth_type}"}}',))
    assert re.search(rf"write hub\.config\.JupyterHub\.authenticator_class: {name}$", text, re.M)
    config = hub_setup().load(existing_values={"auth": {"type": auth_type}})
    assert config.JupyterHub.authenticator_class == class_path
    by_name = authenticator_class(type(config)({"JupyterHub": {"authenticator_class": name}}))
    assert authenticator_class(config) is by_name


def test_every_auth_key_the_schema_admits_translates_as_notes_say(notes_chart, hub_setup, caplog):
    """The chart's key table and the hub's are the same, for each key of each
    provider section in values.schema.yaml."""
    schema = json.loads((CHART / "values.schema.json").read_text())["properties"]["auth"]
    for auth_type in sorted(AUTH_TYPES):
        props = schema["properties"][auth_type]["properties"]
        sample = {
            key: {"array": ["x"], "object": {"k": "v"}}.get(
                (p.get("type") if isinstance(p.get("type"), str) else "string"), "x"
            )
            for key, p in props.items()
        }
        if auth_type == "gitlab":
            sample["gitlabProjectIdWhitelist"] = [1]
        auth = {"type": auth_type, auth_type: sample}
        text = notes(notes_chart, sets=(f"auth={json.dumps(auth)}",))
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="JupyterHub"):
            hub_setup().load(existing_values={"auth": auth})
        told, done = _notes_spellings(text), _hub_spellings(caplog.records)
        assert told == done, auth_type
        assert {f"auth.{auth_type}.{k}" for k in props} <= set(done), auth_type
