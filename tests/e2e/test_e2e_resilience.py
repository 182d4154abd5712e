"""The system keeps its promises when things go wrong: the hub pod dies and
its Deployment replaces it while servers run; kubesim fails pod creations and cuts
watches while many users spawn."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from testsupport.waiting import poll_until

from .e2e_hubclient import HubUser
from .e2e_support import admin_users, user_pods
from .test_e2e_spawn import default_form, logged_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]


def pod_identity(deployment, name: str) -> list[tuple[str, str]]:
    return sorted(
        (p["metadata"]["name"], p["metadata"]["uid"]) for p in user_pods(deployment, name)
    )


def test_hub_killed_and_restarted_keeps_three_running_servers(deployment):
    users = [logged_in(deployment, f"e2e-restart-{i}") for i in range(3)]
    for user in users:
        user.start(form=default_form(user))
        user.open_server(page="api/status")
    before = {u.name: pod_identity(deployment, u.name) for u in users}
    assert all(len(pods) == 1 for pods in before.values()), before

    old = deployment.kill_hub()  # the hub pod, deleted with no grace period
    new = deployment.wait_hub(old)  # its Deployment made another one
    assert new["metadata"]["name"] != old

    for user in users:
        # the hub found the server again (its poll said running)...
        server = user.model()["servers"][""]
        assert server["ready"], server
        # ...the proxy still routes to it...
        status = user.get(user.server_url() + "api/status")
        assert status.status_code == 200, status.text[:300]
        # ...and it is the same pod: none lost, none duplicated
        assert pod_identity(deployment, user.name) == before[user.name]
    # the restarted hub can still stop them: it kept the spawners' state
    for user in users:
        user.stop()
        assert not user_pods(deployment, user.name)


def kubesim_admin(deployment, method: str, path: str, body: dict | None = None):
    return deployment.client.request(method, f"/kubesim/{path}", body)


def spawn_and_wait(admin: HubUser, name: str, profile: dict) -> dict:
    resp = admin.api("POST", f"users/{name}/server", json=profile)
    assert resp.status_code in (201, 202), (name, resp.status_code, resp.text)
    return poll_until(
        lambda: (
            (admin.api("GET", f"users/{name}").json()["servers"].get("") or {}).get("ready")
            and admin.api("GET", f"users/{name}").json()["servers"][""]
        ),
        f"{name}'s server ready",
        timeout=240,
        interval=1,
    )


def test_twenty_spawns_succeed_while_kubesim_fails_pod_creations_and_cuts_watches(deployment):
    admin = logged_in(deployment, admin_users(deployment.values)[0])
    names = [f"e2e-fault-{i:02d}" for i in range(20)]
    resp = admin.api("POST", "users", json={"usernames": names})
    assert resp.status_code == 201, resp.text
    profile = {"profile": "small"}
    # the first two pod creations fail for sure, then one in ten at random
    certain = kubesim_admin(
        deployment,
        "POST",
        "faults",
        {"verb": "create", "resource": "pods", "status": 500, "count": 2},
    )
    kubesim_admin(
        deployment,
        "POST",
        "faults",
        {"verb": "create", "resource": "pods", "status": 500, "share": 0.1},
    )
    kubesim_admin(deployment, "POST", "watches/cut", {"every": 3})
    try:
        # five at a time: twenty JupyterLab servers starting at once would
        # only measure how slow two cores are
        for batch in range(0, len(names), 5):
            group = names[batch : batch + 5]
            with ThreadPoolExecutor(len(group)) as pool:
                servers = list(pool.map(lambda n: spawn_and_wait(admin, n, profile), group))
            assert all(s["ready"] for s in servers)
            for name in group:
                assert len(user_pods(deployment, name)) == 1, name
            for name in group:
                assert admin.api("DELETE", f"users/{name}/server").status_code in (202, 204)
        rules = {r["id"]: r for r in kubesim_admin(deployment, "GET", "faults")}
        # a count rule goes away once it has failed that many requests
        assert certain["id"] not in rules, "the two certain failures never happened"
    finally:
        kubesim_admin(deployment, "DELETE", "faults")
        kubesim_admin(deployment, "POST", "watches/cut", {"every": 0})
    for name in names:
        poll_until(
            lambda n=name: not user_pods(deployment, n), f"{name}'s pod gone", 120, interval=0.5
        )
