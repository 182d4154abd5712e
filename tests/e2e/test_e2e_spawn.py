"""A user's life through the proxy's public port: log in, spawn, progress,
JupyterLab; profiles; storage across stop/start; named servers; an admin
stopping someone else's server."""

import html
import re

import pytest
from jupyterhub.traitlets import ByteSpecification

from kubesim import parse_quantity

from .e2e_hubclient import HubUser
from .e2e_support import admin_users, profiles, user_claims, user_pods, wait_server_stopped

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def form_profiles(page: str) -> dict[str, str]:
    """display name -> slug, read from the profile radio buttons."""
    return {
        html.unescape(label.strip()): slug
        for slug, label in re.findall(r'<label for="profile-item-([^"]+)">([^<]*)</label>', page)
    }


def default_form(user: HubUser, server: str = "") -> dict:
    """The first profile of the form, as a person who just clicks Start."""
    page = user.spawn_form(server)
    page.raise_for_status()
    slugs = list(form_profiles(page.text).values())
    return {"profile": slugs[0]} if slugs else {}


def logged_in(deployment, name: str) -> HubUser:
    user = HubUser(deployment.url, name)
    user.login()
    return user


def test_login_spawn_progress_and_lab_through_the_proxy(deployment):
    user = logged_in(deployment, "e2e-basic")
    events = user.start(form=default_form(user))
    assert events[-1]["progress"] == 100 and events[-1]["ready"]
    assert [e["progress"] for e in events] == sorted(e["progress"] for e in events)
    assert events[-1]["url"].endswith(user.server_url())

    lab = user.open_server(page="lab")
    assert lab.url == user.url(user.server_url() + "lab")  # OAuth with the hub went through
    assert "JupyterLab" in lab.text
    status = user.get(user.server_url() + "api/status")
    assert status.status_code == 200 and "started" in status.json()

    (pod,) = user_pods(deployment, user.name)
    assert pod["status"]["phase"] == "Running"
    user.stop()


def test_each_profile_shows_in_the_pod_and_a_bad_choice_is_refused(deployment):
    listed = profiles(deployment.values)
    assert len(listed) >= 2, "dev-config.yaml should offer two profiles"
    user = logged_in(deployment, "e2e-profiles")
    slugs = form_profiles(user.spawn_form().text)
    assert set(slugs) == {p["display_name"] for p in listed}

    refused = user.spawn(form={"profile": "no-such-profile"})
    assert refused.status_code == 400, refused.status_code
    assert "no-such-profile" in html.unescape(refused.text)
    assert not user_pods(deployment, user.name)

    for profile in listed:
        user.start(form={"profile": slugs[profile["display_name"]]})
        (pod,) = user_pods(deployment, user.name)
        container = next(c for c in pod["spec"]["containers"] if c["name"] == "notebook")
        override = profile.get("kubespawner_override") or {}
        env = {e["name"]: e.get("value") for e in container.get("env") or []}
        for name, value in (override.get("environment") or {}).items():
            assert env.get(name) == str(value), (name, env.get(name))
        resources = container.get("resources") or {}
        for key, (kind, what) in {
            "cpu_limit": ("limits", "cpu"),
            "cpu_guarantee": ("requests", "cpu"),
            "mem_limit": ("limits", "memory"),
            "mem_guarantee": ("requests", "memory"),
        }.items():
            if key in override:
                want = override[key]
                if what == "memory":
                    want = ByteSpecification().validate(None, want)
                assert float(parse_quantity(resources[kind][what])) == pytest.approx(float(want)), (
                    key
                )
        image = deployment.values["singleuser"]["image"]
        assert container["image"] == override.get("image", f"{image['name']}:{image['tag']}")
        user.stop()
        assert not user_pods(deployment, user.name)


def test_stop_keeps_the_claim_and_a_new_server_finds_the_file(deployment):
    user = logged_in(deployment, "e2e-storage")
    user.start(form=default_form(user))
    token = user.api("POST", f"users/{user.name}/tokens", json={"note": "e2e"}).json()["token"]
    auth = {"Authorization": f"token {token}"}
    contents = user.server_url() + "api/contents/kept.txt"
    put = user.session.put(
        user.url(contents),
        json={"type": "file", "format": "text", "content": "still here"},
        headers=auth,
        timeout=30,
    )
    assert put.status_code in (200, 201), put.text
    user.stop()
    assert not user_pods(deployment, user.name)
    assert len(user_claims(deployment, user.name)) == 1

    user.start(form=default_form(user))
    got = user.session.get(user.url(contents), headers=auth, timeout=30)
    assert got.status_code == 200, got.text
    assert got.json()["content"] == "still here"
    user.stop()


def test_two_named_servers_run_at_once_in_separate_pods(deployment):
    user = logged_in(deployment, "e2e-named")
    for server in ("one", "two"):
        user.start(server, form=default_form(user, server))
    pods = {s: user_pods(deployment, user.name, s) for s in ("one", "two")}
    assert len(pods["one"]) == 1 and len(pods["two"]) == 1
    assert pods["one"][0]["metadata"]["name"] != pods["two"][0]["metadata"]["name"]
    assert pods["one"][0]["status"]["podIP"] != pods["two"][0]["status"]["podIP"]
    for server in ("one", "two"):
        user.open_server(server)
        status = user.get(user.server_url(server) + "api/status")
        assert status.status_code == 200, status.text[:300]
    assert set(user.model()["servers"]) == {"one", "two"}
    for server in ("one", "two"):
        user.stop(server)
    assert not user_pods(deployment, user.name)


def test_an_admin_stops_another_users_server(deployment):
    admins = admin_users(deployment.values)
    assert admins, "dev-config.yaml should make an admin user"
    victim = logged_in(deployment, "e2e-victim")
    victim.start(form=default_form(victim))
    admin = logged_in(deployment, admins[0])

    refused = victim.api("DELETE", f"users/{admin.name}/server")
    assert refused.status_code in (403, 404)
    resp = admin.api("DELETE", f"users/{victim.name}/server")
    assert resp.status_code in (202, 204), resp.text
    wait_server_stopped(deployment, victim, "server stopped by the admin")
