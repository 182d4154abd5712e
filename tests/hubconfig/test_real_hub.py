"""A real hub from a rendered chart: configurable-http-proxy, PostgreSQL, kubesim.

The hub runs as the hub Deployment says (command, args, env with secret refs
resolved, the Secret and ConfigMap under Z2JH_CONFIG_ROOT), its Services
reached through loopback *_SERVICE_* variables; the spawner is pointed at
kubesim. It must answer through the proxy, run the idle culler with its
small role, spawn a user's server in kubesim and route to it, keep its
tables in PostgreSQL and still know its users, and their running servers,
after a restart.
"""

import asyncio
import json
import sys
import textwrap
import urllib.parse

import pytest
import yaml

from localdeploy.ports import free_port
from testsupport.waiting import poll_until

from .hubenv import NAMESPACE, hub_pod, materialise, render
from .hubprocs import (
    delete,
    get,
    hub_command_line,
    post,
    postgres_cluster,
    start_hub,
    start_proxy,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def postgres():
    with postgres_cluster() as pg:
        yield pg


# The user's server (kubesim's process runtime runs it as a local process):
# it listens where the hub's JUPYTERHUB_SERVICE_URL says (kubesim turns its
# 0.0.0.0 into the pod's IP) and answers every GET with its user's name.
USER_SERVER = textwrap.dedent(
    """
    import http.server, os, urllib.parse

    where = urllib.parse.urlsplit(os.environ["JUPYTERHUB_SERVICE_URL"])
    name = os.environ["JUPYTERHUB_USER"].encode()

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(name)))
            self.end_headers()
            self.wfile.write(name)

    http.server.ThreadingHTTPServer((where.hostname, where.port), Answer).serve_forever()
    """
)


def _values(pg):
    return {
        "debug": {"enabled": True},
        "singleuser": {
            "cmd": [sys.executable, "-c", USER_SERVER],
            # run as the test's own user, with no volumes to materialise
            "uid": None,
            "fsGid": None,
            "storage": {"type": "none"},
            # the process runtime would run the iptables init container on this machine
            "cloudMetadata": {"blockWithIptables": False},
        },
        # kubesim schedules for the default scheduler only
        "scheduling": {"userScheduler": {"enabled": False}},
        "hub": {
            "db": {"type": "postgres", "url": pg.url, "password": pg.password},
            "services": {"tester": {}},
            "loadRoles": {
                "tester": {
                    "scopes": [
                        "admin:users",
                        "servers",
                        "read:services",
                        "read:roles:services",
                        "list:users",
                    ],
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
        self.args = hub_command_line(container)
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
        poll_until(
            lambda: get(f"{self.url}/hub/health")[0] == 200 and self.culler_pid(),
            "the hub to answer through the proxy, with its culler",
            timeout=120,
            processes=[self.hub, self.proxy],
        )

    def api(self, path, method=get):
        status, body = method(f"{self.url}/hub/api{path}", self.token)
        return status, json.loads(body or b"null")

    def server(self, user):
        """The user's default server as the REST API reports it, or None."""
        status, model = self.api(f"/users/{user}")
        return (model.get("servers") or {}).get("") if status == 200 else None

    def culler_pid(self):
        status, service = self.api("/services/jupyterhub-idle-culler")
        return status == 200 and service["pid"]

    def stop_hub(self):
        self.hub.stop()

    def stop(self):
        if self.hub:
            self.hub.stop()
        self.proxy.stop()


def user_pods(kube_url):
    """The user pods in kubesim, read through its API."""
    selector = urllib.parse.quote("component=singleuser-server")
    status, body = get(f"{kube_url}/api/v1/namespaces/{NAMESPACE}/pods?labelSelector={selector}")
    assert status == 200, body
    return json.loads(body)["items"]


def check_alice_is_served(deployment, kube_url):
    """alice's server runs as a pod in kubesim, and the proxy routes to it."""
    (pod,) = user_pods(kube_url)
    assert pod["metadata"]["labels"]["hub.jupyter.org/username"] == "alice"
    assert pod["status"]["phase"] == "Running"
    assert USER_SERVER in pod["spec"]["containers"][0]["args"]  # singleuser.cmd
    assert deployment.server("alice")["ready"] is True
    # the answer comes from alice's server, not the hub
    status, body = get(f"{deployment.url}/user/alice/", deployment.token)
    assert (status, body) == (200, b"alice")
    return pod["metadata"]["uid"]


def scenario(pg, kube_url, kubeconfig, workdir):
    # the namespace the chart is installed in (POD_NAMESPACE), where user pods go
    status, body = post(f"{kube_url}/api/v1/namespaces", body={"metadata": {"name": NAMESPACE}})
    assert status == 201, body
    deployment = Deployment(pg, kubeconfig, workdir)
    try:
        deployment.start_hub()
        status, info = deployment.api("")
        assert status == 200 and info["version"]
        assert "not recognized" not in deployment.hub.log()
        # JupyterHub's name lookups come from the session (hubconf/orm_lookups.py),
        # so everything below runs on them, against PostgreSQL
        assert "User, Role, Group, Service found by name from the session" in deployment.hub.log()
        assert "OAuth client secrets hashed as their API tokens" in deployment.hub.log()

        # the culler runs with its own small role, and its first pass succeeds
        status, culler = deployment.api("/services/jupyterhub-idle-culler")
        assert culler["roles"] == ["jupyterhub-idle-culler"]
        assert culler["admin"] is False
        poll_until(
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

        # the spawner creates alice's pod in kubesim; the hub sees it up
        assert deployment.api("/users/alice/server", post)[0] in (201, 202)
        try:
            poll_until(
                lambda: (deployment.server("alice") or {}).get("ready"),
                "alice's server to be ready",
                timeout=120,
                processes=[deployment.hub, deployment.proxy],
            )
        except AssertionError as e:
            pods = [p.get("status") for p in user_pods(kube_url)]
            raise AssertionError(f"{e}\nuser pods' status in kubesim: {pods}") from None
        pod_uid = check_alice_is_served(deployment, kube_url)

        # ... and still knows its users, and finds alice's server again,
        # after a restart
        deployment.stop_hub()
        deployment.start_hub()
        status, alice = deployment.api("/users/alice")
        assert status == 200 and alice["name"] == "alice"
        assert check_alice_is_served(deployment, kube_url) == pod_uid

        # stopping the server deletes the pod
        assert deployment.api("/users/alice/server", delete)[0] in (202, 204)
        poll_until(
            lambda: not user_pods(kube_url) and deployment.server("alice") is None,
            "alice's pod to be deleted",
            timeout=60,
            processes=[deployment.hub],
        )
    finally:
        deployment.stop()


async def test_real_hub_with_proxy_postgres_and_kubesim(postgres, kubesim_factory, tmp_path):
    # a process runtime: the user's server really answers HTTP
    sim = await kubesim_factory(runtime="process")
    # kubesim serves from this event loop; the blocking scenario runs beside it.
    await asyncio.to_thread(scenario, postgres, sim.url, sim.kubeconfig_path, tmp_path)
