"""Seed-era keys: each is translated to today's setting (the hub Secret's
values.yaml carries the translation) and NOTES.txt shows the new spelling;
none is silently ignored."""

import base64

import pytest
import yaml
from chart_helpers import render, values_key


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
    assert (
        r.find("Service", "proxy-public")["spec"]["selector"]["app.kubernetes.io/component"]
        == "autohttps"
    )


def test_seed_auth_keys_reach_the_hub_unchanged():
    values = hub_values(render(("seed/20-auth-github-org",)))
    assert values["auth"]["github"]["org_whitelist"] == ["SomeOrgName"]
    assert values["auth"]["scopes"] == ["read:org"]


def test_numeric_image_tag_is_warned_about(notes):
    assert "prePuller.extraImages.ubuntu-xenial.tag is a number (16.04); quote it" in notes(
        ("seed/30-prepuller-extra-images",)
    )


def test_notes_say_where_to_connect(notes, prerendered):
    assert "kubectl --namespace jhub get service proxy-public" in notes()
    assert "Anyone can log in" in notes()
    assert "https://max-ingress.example.org/maxbase/" in notes(("maximal",))
    assert "https://hub.example.org/" in notes(("seed/31-https-letsencrypt",))
