"""Pod, PVC and namespace names, and the name labels, are upstream
KubeSpawner 7.1.0's for any username and server name: a property test
against the real upstream package, run in its own virtualenv
(ci/upstream-venv, the benchmark's) through tests/upstream/names_worker.py."""

import json
import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from jupyterhub import orm
from jupyterhub.objects import Hub

from kubespawner import KubeSpawner
from testsupport.spawners import StubUser

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).parent / "upstream" / "names_worker.py"

# a kubeconfig upstream's __init__ can load; nothing ever connects to it
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
"""


class Upstream:
    """One long-lived upstream process answering name questions."""

    def __init__(self, python: str, kubeconfig: Path):
        env = {k: v for k, v in os.environ.items() if k != "POD_NAMESPACE"}
        env["KUBECONFIG"] = str(kubeconfig)
        self.proc = subprocess.Popen(
            [python, str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def names(self, **request) -> dict:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        assert "error" not in answer, (request, answer)
        return answer

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    python = subprocess.run(
        [str(ROOT / "ci" / "upstream-venv")], check=True, capture_output=True, text=True
    ).stdout.strip()
    kubeconfig = tmp_path_factory.mktemp("upstream") / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    worker = Upstream(python, kubeconfig)
    yield worker
    worker.close()


def ours(username, servername="", traits=None, expand=()) -> dict:
    spawner = KubeSpawner(
        user=StubUser(username, 1),
        hub=Hub(),
        orm_spawner=orm.Spawner(name=servername),
        enable_user_namespaces=True,
        **(traits or {}),
    )
    labels = spawner._build_labels()
    return {
        "pod_name": spawner.pod_name,
        "pvc_name": spawner.pvc_name,
        "namespace": spawner.namespace,
        "username_label": labels["hub.jupyter.org/username"],
        "servername_label": labels["hub.jupyter.org/servername"],
        "expanded": [spawner._expand_user_properties(t) for t in expand],
    }


@pytest.fixture(autouse=True)
def no_pod_namespace(monkeypatch):
    # both sides then take "default" as the hub's namespace
    monkeypatch.delenv("POD_NAMESPACE", raising=False)


# any Unicode, and the awkward cases: case, '-', '_', '.', '@', long names
names = st.one_of(
    st.text(min_size=1, max_size=80),
    st.text(alphabet="abcAB-_.@0123456789", min_size=1, max_size=70),
    st.from_regex(r"[a-z][a-z0-9-]{0,60}", fullmatch=True),
)
servernames = st.one_of(st.just(""), names)
# label values: upstream's is_valid_label takes non-ASCII letters that match
# [a-z] case-insensitively (the Kelvin sign, dotless i); the API server
# refuses such a label, so ours hashes them. Names are not affected.
ascii_names = st.text(alphabet=[chr(c) for c in range(32, 127)], min_size=1, max_size=70)

LEGACY_TEMPLATES = [
    "claim-{username}--{servername}",
    "claim-{username}{servername}",
    "jupyter-{username}--{servername}.svc",
    "{escaped_user_server}",
    "{safe_user_server}",
]

SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(names, servernames)
@example("user@example.com", "")
@example("Émile.O'Brien", "")
@example("Émile.O'Brien", "Ünïcode server")
@example("a_b", "")
@example("a_b", "gpu")
@example("alex", "")
@example("x" * 47, "")
@example("1user", "2server")
def test_names_are_upstreams(upstream, username, servername):
    request = dict(username=username, servername=servername, expand=LEGACY_TEMPLATES)
    want, got = upstream.names(**request), ours(**request)
    for key in ("pod_name", "pvc_name", "namespace", "expanded"):
        assert got[key] == want[key], (key, username, servername)


@SETTINGS
@given(names, servernames)
@example("alex", "")
@example("Émile.O'Brien", "gpu")
def test_escape_scheme_names_are_upstreams(upstream, username, servername):
    request = dict(
        username=username,
        servername=servername,
        traits={"slug_scheme": "escape"},
        expand=LEGACY_TEMPLATES,
    )
    want, got = upstream.names(**request), ours(**request)
    for key in ("pod_name", "pvc_name", "namespace", "expanded"):
        assert got[key] == want[key], (key, username, servername)


@SETTINGS
@given(ascii_names, st.one_of(st.just(""), ascii_names))
def test_name_labels_are_upstreams(upstream, username, servername):
    want = upstream.names(username=username, servername=servername)
    got = ours(username, servername)
    assert (got["username_label"], got["servername_label"]) == (
        want["username_label"],
        want["servername_label"],
    )


def test_known_names():
    assert ours("user@example.com")["pvc_name"] == "claim-user-example-com---b4c9a289"
    assert ours("alex", expand=["claim-{username}--{servername}"])["expanded"] == ["claim-alex"]
    assert ours("alex", "gpu")["pod_name"] == "jupyter-alex--gpu"
    assert ours("a_b")["pod_name"].startswith("jupyter-a-b---")
