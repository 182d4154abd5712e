"""A real hub from a rendered chart: configurable-http-proxy, PostgreSQL, kubesim.

The hub runs as the hub Deployment says (command, args, env with secret refs
resolved, the Secret and ConfigMap under Z2JH_CONFIG_ROOT), its Services
reached through loopback *_SERVICE_* variables; the spawner is pointed at
kubesim. It must answer through the proxy, run the idle culler with its
small role, keep its tables in PostgreSQL and still know its users after a
restart.
"""

import asyncio
import json

import pytest
import yaml
from hubenv import hub_pod, materialise, render
from hubprocs import free_port, get, post, postgres_cluster, start_hub, start_proxy, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def postgres():
    with postgres_cluster() as pg:
        yield pg


def _values(pg):
    return {
        "debug": {"enabled": True},
        "hub": {
            "db": {"type": "postgres", "url": pg.url, "password": pg.password},
            "services": {"tester": {}},
            "loadRoles": {
                "tester": {
                    "scopes": ["admin:users", "read:services", "read:roles:services", "list:users"],
                    "services": ["tester"],
                }
            },
        },
        "cull": {"every": 30, "timeout": 600},
    }


class Deployment:
    """The hub and the proxy, started as the rendered chart says."""

    def __init__(self, pg, kubeconfig, workdir):
        values_file = workdir / "values.yaml"
        values_file.write_text(yaml.safe_dump(_values(pg)))
        manifests = render([values_file])
        self.pod = hub_pod(manifests, host_for=lambda name: "127.0.0.1")
        self.public, api, hub = free_port(), free_port(), free_port()
        self.env = {
            **self.pod.env,
            "HUB_SERVICE_PORT": str(hub),
            "PROXY_API_SERVICE_PORT": str(api),
            "PROXY_PUBLIC_SERVICE_PORT": str(self.public),
            "KUBECONFIG": str(kubeconfig),
        }
        self.root = materialise(self.pod, workdir / "root")
        deployment = next(
            d for d in manifests if d["kind"] == "Deployment" and d["metadata"]["name"] == "hub"
        )
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        self.args = [*container.get("command", [])[1:], *container.get("args", [])]
        self.workdir = workdir
        self.hub_url = f"http://127.0.0.1:{hub}"
        self.token = self.pod.secret["hub.services.tester.apiToken"]
        self.proxy = start_proxy(
            self.public, api, self.hub_url, self.pod.env["CONFIGPROXY_AUTH_TOKEN"], workdir
        )
        self.hub = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.public}"

    def start_hub(self):
        self.hub = start_hub(self.root, self.env, self.workdir, self.args)
        wait_for(
            lambda: get(f"{self.url}/hub/health")[0] == 200 and self.culler_pid(),
            "the hub to answer through the proxy, with its culler",
            timeout=120,
            processes=[self.hub, self.proxy],
        )

    def api(self, path, method=get):
        status, body = method(f"{self.url}/hub/api{path}", self.token)
        return status, json.loads(body or b"null")

    def culler_pid(self):
        status, service = self.api("/services/jupyterhub-idle-culler")
        return status == 200 and service["pid"]

    def stop_hub(self):
        self.hub.stop()

    def stop(self):
        if self.hub:
            self.hub.stop()
        self.proxy.stop()


def scenario(pg, kubeconfig, workdir):
    deployment = Deployment(pg, kubeconfig, workdir)
    try:
        deployment.start_hub()
        status, info = deployment.api("")
        assert status == 200 and info["version"]
        assert "not recognized" not in deployment.hub.log()

        # the culler runs with its own small role, and its first pass succeeds
        status, culler = deployment.api("/services/jupyterhub-idle-culler")
        assert culler["roles"] == ["jupyterhub-idle-culler"]
        assert culler["admin"] is False
        wait_for(
            lambda: (
                "200 GET /hub/api/users" in deployment.hub.log()
                and "jupyterhub-idle-culler" in deployment.hub.log()
            ),
            "the culler's first pass",
            timeout=60,
            processes=[deployment.hub],
        )
        assert "403" not in "\n".join(
            line for line in deployment.hub.log().splitlines() if "jupyterhub-idle-culler@" in line
        )

        # the hub keeps its state in PostgreSQL ...
        assert deployment.api("/users/alice", post)[0] == 201
        with pg.connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT name FROM users ORDER BY name")
            assert ("alice",) in cur.fetchall()

        # ... and still knows its users after a restart
        deployment.stop_hub()
        deployment.start_hub()
        status, alice = deployment.api("/users/alice")
        assert status == 200 and alice["name"] == "alice"
    finally:
        deployment.stop()


async def test_real_hub_with_proxy_postgres_and_kubesim(postgres, kubesim, tmp_path):
    # kubesim serves from this event loop; the blocking scenario runs beside it.
    await asyncio.to_thread(scenario, postgres, kubesim.kubeconfig_path, tmp_path)
