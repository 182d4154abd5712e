"""Coming from Zero to JupyterHub: an operator's `helm upgrade` of a z2jh
release to our chart with the same config.yaml loses nothing.

z2jh's chart (the anchor, as chartpress would publish it) is installed with
helm into kubesim and its hub runs for real (z2jh's own jupyterhub_config.py
from its ConfigMap; JupyterHub and kubespawner as its hub image pins them).
Four users log in, start their default and a named server and write a file
in each home; then the same release is upgraded to ./chart (hooks on) and
everything a user has must still be there. Afterwards `helm rollback` to the
z2jh revision (see test_rollback_to_z2jh for what it does)."""

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from localdeploy.deployment import LocalDeployment, Options
from localdeploy.paths import CHART, HELM
from localdeploy.ports import free_port
from localdeploy.procs import ComponentFailed
from localdeploy.progress import Progress

from .e2e_hubclient import HubUser
from .e2e_support import E2E_VALUES, ROOT, state_dir, user_claims, user_pods
from .migration_support import (
    claim,
    crashing_hub,
    generated_secrets,
    hub_log,
    login,
    read_file,
    restore_database,
    write_file,
    z2jh_venv,
)
from .test_e2e_spawn import default_form
from .z2jh_chart import released_chart

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(1500)]

CONFIG = E2E_VALUES / "migration.yaml"
PASSWORD = "migration-password"  # DummyAuthenticator.password in CONFIG
USERS = ("alice", "user@example.com", "Émile.O'Brien", "a_b")
NAMED = "work"
HELM4 = ROOT / ".bin" / "helm4" / "helm"

# z2jh 4.4.0 with both helms; 3.3.8 (the older names: escape-scheme claims,
# JupyterHub 4's database) with helm 3 only, to keep the run short.
CASES = [("4.4.0", HELM), ("4.4.0", HELM4), ("3.3.8", HELM)]


def helm_id(helm) -> str:
    return "helm4" if helm == HELM4 else "helm3"


def revisions(dep) -> list[dict]:
    out = dep.helm("history", "jhub", "-n", dep.namespace, "-o", "json")
    return json.loads(out.strip().splitlines()[-1])


# KubeSpawner 6 (z2jh 3) labels a user's claim and pod with the escaped name,
# `-c3-a9mile-2eo-27brien` for this user: not a valid label value (it starts
# with `-`), so the API server refuses the claim (422) and the user cannot
# start a server there at all. On ours they can.
CANNOT_SPAWN = {"3.3.8": {"Émile.O'Brien"}}


def server_life(user: HubUser, text: str) -> None:
    """Start the default and the named server, write a file in each."""
    for server in ("", NAMED):
        user.start(server, form=default_form(user, server))
        write_file(user, server, f"{server or 'default'}.txt", text)


def user_life_on_z2jh(dep, version: str, name: str) -> HubUser:
    user = login(dep.url, name, PASSWORD)
    if name not in CANNOT_SPAWN.get(version, ()):
        server_life(user, f"{user.name} on z2jh")
        return user
    user.spawn(form=default_form(user))
    failed = user.progress()[-1]
    assert failed.get("failed") and "a valid label must" in failed["message"], failed
    return user


def files_there(user: HubUser, text: str) -> None:
    for server in ("", NAMED):
        assert user.model()["servers"][server]["ready"], (user.name, server)
        assert read_file(user, server, f"{server or 'default'}.txt") == text


def facts(dep, users: list[HubUser]) -> dict:
    """What the upgrade must keep, by the API's own identities (uids)."""
    return {
        "secrets": generated_secrets(dep),
        "hub-db-dir": claim(dep, "hub-db-dir")["metadata"]["uid"],
        "claims": {
            u.name: {c["metadata"]["name"]: c["metadata"]["uid"] for c in user_claims(dep, u.name)}
            for u in users
        },
        "pods": {
            (u.name, server): [p["metadata"]["uid"] for p in user_pods(dep, u.name, server)]
            for u in users
            for server in ("", NAMED)
        },
    }


@pytest.fixture(params=CASES, ids=[f"z2jh-{v}-{helm_id(h)}" for v, h in CASES])
def z2jh(request, tmp_path):
    version, helm = request.param
    options = Options(
        state_dir=state_dir(f"migration-{version}-{helm_id(helm)}"),
        port=free_port(),
        base_values=(CONFIG,),
        chart=released_chart(version, tmp_path),
        z2jh_hub_venv=z2jh_venv(version),
        helm=helm,
    )
    dep = LocalDeployment(options, Progress(prefix=f"migration {version}"))
    started = time.monotonic()
    dep.start()
    dep.timings = {"z2jh install": time.monotonic() - started}
    dep.z2jh_version = version
    yield dep
    dep.stop()


def test_helm_upgrade_from_z2jh_keeps_users_servers_and_secrets(z2jh):
    dep, version = z2jh, z2jh.z2jh_version
    z2jh_chart = dep.options.chart
    started = time.monotonic()
    with ThreadPoolExecutor(len(USERS)) as pool:
        users = list(pool.map(lambda name: user_life_on_z2jh(dep, version, name), USERS))
    dep.timings["4 users x 2 servers on z2jh"] = time.monotonic() - started
    unserved = {name.lower() for name in CANNOT_SPAWN.get(version, ())}
    ran = [u for u in users if u.name not in unserved]
    before = facts(dep, users)
    assert all(before["secrets"].values()), before["secrets"]
    assert all(len(before["pods"][u.name, s]) == 1 for u in ran for s in ("", NAMED))
    hub_before = dep.hub_pod()["metadata"]["name"]

    started = time.monotonic()
    notes = dep.upgrade_to_chart(CHART)
    dep.wait_hub(hub_before)
    dep.timings["helm upgrade to ours"] = time.monotonic() - started
    history = revisions(dep)
    assert [r["status"] for r in history] == ["superseded", "deployed"]
    assert history[0]["chart"] == f"jupyterhub-{version}" != history[1]["chart"]

    assert f"Upgraded from Zero to JupyterHub (quay.io/jupyterhub/k8s-hub:{version})" in notes
    assert "needs that copy put back" in notes, notes
    after = facts(dep, users)
    assert after["secrets"] == before["secrets"]
    assert after["hub-db-dir"] == before["hub-db-dir"]
    assert after["claims"] == before["claims"]  # same names, same claims (uids)

    started = time.monotonic()
    for user in users:
        # the login cookie from before the upgrade still works (same cookie secret)
        assert user.api("GET", "user").json()["name"] == user.name
    for user in ran:
        files_there(user, f"{user.name} on z2jh")
    # servers running during the upgrade keep running: the same pods
    assert facts(dep, ran)["pods"] == {
        k: v for k, v in before["pods"].items() if k[0] in {u.name for u in ran}
    }
    # a new login, a stop and a start on our hub find the same home
    again = login(dep.url, ran[1].name, PASSWORD)
    again.stop()
    again.start(form=default_form(again))
    assert read_file(again, "", "default.txt") == f"{again.name} on z2jh"
    assert facts(dep, users)["claims"] == before["claims"]
    # whoever z2jh could not serve starts on ours
    for user in set(users) - set(ran):
        server_life(user, f"{user.name} on ours")
    dep.timings["users back on ours"] = time.monotonic() - started

    started = time.monotonic()
    rollback_to_z2jh(dep, z2jh_chart, users, ran, again)
    dep.timings["rollback to z2jh, database restored"] = time.monotonic() - started
    print("migration timings (s):", {k: round(v) for k, v in dep.timings.items()})


def rollback_to_z2jh(dep, z2jh_chart, users, ran, restarted) -> None:
    """`helm rollback` to the z2jh revision: the objects go back (same names
    and selectors), but z2jh's hub refuses the database our JupyterHub
    upgraded; with JupyterHub's own backup copy put back, it runs again."""
    # servers started on ours are unknown to the database z2jh will get back
    restarted.stop()
    for user in set(users) - set(ran):
        for server in ("", NAMED):
            user.stop(server)
    dep.use_chart(z2jh_chart)
    hub_ours = dep.hub_pod()["metadata"]["name"]
    with pytest.raises(ComponentFailed, match="CrashLoopBackOff"):
        dep.helm("rollback", "jhub", "1", "-n", dep.namespace, "--wait", "--timeout", "180s")
    assert "Can't locate revision" in hub_log(dep), hub_log(dep)

    restore_database(dep, f"quay.io/jupyterhub/k8s-hub:{dep.z2jh_version}")
    dep.client.request("DELETE", f"/api/v1/namespaces/{dep.namespace}/pods/{crashing_hub(dep)}")
    dep.wait_hub(hub_ours)
    for user in ran:
        assert user.api("GET", "user").json()["name"] == user.name  # same cookie
    for user in ran:
        if user.name != restarted.name:
            files_there(user, f"{user.name} on z2jh")
    # stopped on ours after the backup was taken: z2jh's hub finds no pod and
    # takes the server as stopped; started again, it finds the same home
    assert "" not in restarted.model()["servers"]
    restarted.start(form=default_form(restarted))
    assert read_file(restarted, "", "default.txt") == f"{restarted.name} on z2jh"
