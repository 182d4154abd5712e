"""Helpers of the migration test: z2jh's hub virtualenv, the facts an
upgrade must keep (the hub Secret's generated values, claims' uids), and a
user's files through the single-user server's contents API."""

import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

from localdeploy.components import decode_secret
from testsupport.waiting import poll_until

from .e2e_hubclient import HubUser
from .e2e_support import ROOT

# The values z2jh generates once and keeps in the hub Secret (lookup on
# upgrade): losing one logs every user out or breaks their auth state.
GENERATED_KEYS = (
    "hub.config.ConfigurableHTTPProxy.auth_token",
    "hub.config.JupyterHub.cookie_secret",
    "hub.config.CryptKeeper.keys",
)


def z2jh_venv(version: str) -> Path:
    """z2jh `version`'s hub image environment (built on first use, ~1 min)."""
    out = subprocess.run(
        [str(ROOT / "ci" / "z2jh-venv"), version], check=True, capture_output=True, text=True
    )
    return Path(out.stdout.strip().splitlines()[-1])


def generated_secrets(dep) -> dict[str, str]:
    secret = dep.client.get("v1", "Secret", dep.names["hub"], dep.namespace)
    data = decode_secret(secret)
    return {key: data.get(key) for key in GENERATED_KEYS}


def claim(dep, name: str) -> dict:
    return dep.client.get("v1", "PersistentVolumeClaim", name, dep.namespace)


def login(base_url: str, name: str, password: str) -> HubUser:
    """Log in and take the hub's (normalized) name for the user's URLs."""
    user = HubUser(base_url, name, password)
    user.login()
    user.name = user.api("GET", "user").json()["name"]
    return user


def _server_xsrf(user: HubUser, server: str) -> str:
    """The single-user server's own XSRF cookie (set on its path when a page
    of it is opened), for the contents API's writes."""
    path = unquote(urlsplit(user.url(user.server_url(server))).path).rstrip("/")
    for cookie in user.session.cookies:
        if cookie.name == "_xsrf" and unquote(cookie.path).rstrip("/") == path:
            return cookie.value
    raise AssertionError(f"no _xsrf cookie of {path}: {[c.path for c in user.session.cookies]}")


def write_file(user: HubUser, server: str, name: str, text: str) -> None:
    user.open_server(server, page="lab")
    resp = user.session.put(
        user.url(user.server_url(server) + f"api/contents/{name}"),
        json={"type": "file", "format": "text", "content": text},
        headers={"X-XSRFToken": _server_xsrf(user, server)},
        timeout=60,
    )
    assert resp.status_code in (200, 201), f"writing {name}: {resp.status_code} {resp.text[:300]}"


def read_file(user: HubUser, server: str, name: str) -> str:
    user.open_server(server)
    resp = user.get(user.server_url(server) + f"api/contents/{name}?type=file&format=text")
    assert resp.status_code == 200, f"reading {name}: {resp.status_code} {resp.text[:300]}"
    return resp.json()["content"]


def hub_pods(dep) -> list[dict]:
    return sorted(dep.pods_of("hub"), key=lambda p: p["metadata"]["creationTimestamp"])


def crashing_hub(dep) -> str:
    """The newest hub pod (after a rollback, the one that keeps failing)."""
    return hub_pods(dep)[-1]["metadata"]["name"]


def hub_log(dep) -> str:
    return dep.pod_log_of(crashing_hub(dep), previous=False)


def restore_database(dep, image: str) -> str:
    """What an operator does after rolling back to z2jh: put back the copy of
    the database JupyterHub made before upgrading it (`--upgrade-db` keeps
    `jupyterhub.sqlite.<timestamp>` next to it; the oldest is the one from
    before the first upgrade), from a pod that mounts hub-db-dir."""
    name = "restore-hub-db"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "restore",
                    "image": image,  # z2jh's hub image: it has sh and cp
                    "command": [
                        "sh",
                        "-c",
                        "cd /srv/jupyterhub && ls jupyterhub.sqlite.* && "
                        'cp -v "$(ls jupyterhub.sqlite.* | head -1)" jupyterhub.sqlite',
                    ],
                    "volumeMounts": [{"name": "db", "mountPath": "/srv/jupyterhub"}],
                }
            ],
            "volumes": [{"name": "db", "persistentVolumeClaim": {"claimName": "hub-db-dir"}}],
        },
    }
    path = f"/api/v1/namespaces/{dep.namespace}/pods"
    dep.client.request("POST", path, pod)
    poll_until(
        lambda: (
            (dep.client.get("v1", "Pod", name, dep.namespace).get("status") or {}).get("phase")
            in ("Succeeded", "Failed")
        ),
        "the restore pod to finish",
        timeout=120,
        interval=0.5,
    )
    phase = dep.client.get("v1", "Pod", name, dep.namespace)["status"]["phase"]
    log = dep.pod_log_of(name, previous=False)
    assert phase == "Succeeded", log
    return log
