"""The real hub on a Zero to JupyterHub 4.4.0 database: JupyterHub 5.5.0's
sqlite file (data/jupyterhub-5.5.0.sqlite, made by the script beside it) in
the hub's working directory, as the hub-db-dir claim has it after z2jh.

With the chart's defaults (sqlite-pvc, hub.db.upgrade unset) the hub starts
on it, as z2jh's did: it upgrades the schema, keeps JupyterHub's timestamped
backup of the old file and still knows the user. With hub.db.upgrade false
it refuses to start, naming `upgrade-db`.
"""

import asyncio
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml

from localdeploy.ports import free_port
from testsupport.waiting import poll_until

from .hubenv import hub_pod, materialise, render
from .hubprocs import get, hub_command_line, start_hub, start_proxy

pytestmark = pytest.mark.slow

OLD_DB = Path(__file__).parent / "data/jupyterhub-5.5.0.sqlite"
OLD_REVISION = "4621fec11365"  # JupyterHub 5.5.0's alembic head


def _values(upgrade):
    values = {
        "hub": {
            "services": {"tester": {}},
            "loadRoles": {"tester": {"scopes": ["list:users"], "services": ["tester"]}},
        },
        "scheduling": {"userScheduler": {"enabled": False}},
        "cull": {"enabled": False},
    }
    if upgrade is not None:
        values["hub"]["db"] = {"upgrade": upgrade}
    return values


def revision(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("select version_num from alembic_version").fetchone()[0]


def run_hub(tmp_path, kubeconfig, upgrade):
    """Start proxy and hub as rendered, on a copy of the old database; return
    (proxy, hub, public URL, tester's token, hub args)."""
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(_values(upgrade)))
    manifests = render([values_file])
    pod = hub_pod(manifests, host_for=lambda name: "127.0.0.1")
    public, api, hub_port = free_port(), free_port(), free_port()
    env = {
        **pod.env,
        "HUB_SERVICE_PORT": str(hub_port),
        "PROXY_API_SERVICE_PORT": str(api),
        "PROXY_PUBLIC_SERVICE_PORT": str(public),
        "KUBECONFIG": str(kubeconfig),
    }
    root = materialise(pod, tmp_path / "root")
    workdir = tmp_path / "srv"  # the hub's workingDir, where hub-db-dir is mounted
    workdir.mkdir()
    shutil.copy(OLD_DB, workdir / "jupyterhub.sqlite")
    deployment = next(
        d for d in manifests if d["kind"] == "Deployment" and d["metadata"]["name"] == "hub"
    )
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    args = hub_command_line(container)
    proxy = start_proxy(
        public, api, f"http://127.0.0.1:{hub_port}", pod.env["CONFIGPROXY_AUTH_TOKEN"], tmp_path
    )
    hub = start_hub(root, env, workdir, args)
    token = pod.secret["hub.services.tester.apiToken"]
    return proxy, hub, f"http://127.0.0.1:{public}", token, args, workdir


def scenario_upgrades(tmp_path, kubeconfig):
    assert revision(OLD_DB) == OLD_REVISION
    proxy, hub, url, token, args, workdir = run_hub(tmp_path, kubeconfig, upgrade=None)
    try:
        assert "--upgrade-db" in args
        poll_until(
            lambda: get(f"{url}/hub/health")[0] == 200,
            "the hub to start on the 5.5.0 database",
            timeout=120,
            processes=[hub, proxy],
        )
        status, body = get(f"{url}/hub/api/users", token)
        assert status == 200, body
        assert "alice" in {u["name"] for u in json.loads(body)}
        assert revision(workdir / "jupyterhub.sqlite") != OLD_REVISION
        # JupyterHub's own backup, jupyterhub.sqlite.<timestamp>, is the old file
        (backup,) = [p for p in workdir.iterdir() if p.name.startswith("jupyterhub.sqlite.")]
        assert revision(backup) == OLD_REVISION
    finally:
        hub.stop()
        proxy.stop()


def scenario_refuses(tmp_path, kubeconfig):
    proxy, hub, url, token, args, workdir = run_hub(tmp_path, kubeconfig, upgrade=False)
    try:
        assert "--upgrade-db" not in args
        poll_until(lambda: not hub.alive(), "the hub to refuse the old database", timeout=120)
        assert "upgrade-db" in hub.log()
        assert revision(workdir / "jupyterhub.sqlite") == OLD_REVISION
    finally:
        hub.stop()
        proxy.stop()


async def test_hub_upgrades_a_z2jh_4_database_by_default(kubesim_factory, tmp_path):
    sim = await kubesim_factory()
    await asyncio.to_thread(scenario_upgrades, tmp_path, sim.kubeconfig_path)


async def test_hub_refuses_it_with_upgrade_off(kubesim_factory, tmp_path):
    sim = await kubesim_factory()
    await asyncio.to_thread(scenario_refuses, tmp_path, sim.kubeconfig_path)
