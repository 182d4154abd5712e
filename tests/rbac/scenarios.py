"""What each chart component does with the API, run for real with its own
ServiceAccount token. A scenario raises if the component fails; the caller
also checks that kubesim refused none of the component's requests.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from kubesim.testing import kubeconfig_with_token, pod_body, raw_request

from .chart_rbac import rendered

NS = "jhub"


@dataclass
class Env:
    sim: Any
    token: str
    tmp: Path
    monkeypatch: Any
    spawner_config: dict = field(default_factory=dict)


async def admin(env: Env, method: str, path: str, body=None):
    code, answer = await raw_request(env.sim, method, path, body)
    assert code < 300, (method, path, answer)
    return answer


async def eventually(check, what: str, attempts: int = 400):
    for _ in range(attempts):
        if await check():
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"never happened: {what}")


# ----- hub: our spawner, as the hub pod runs it ---------------------------------


def in_cluster(env: Env) -> None:
    """The hub pod's in-cluster credentials: its token, the CA, its namespace."""
    from kubespawner import clients

    account = env.tmp / "serviceaccount"
    account.mkdir(exist_ok=True)
    (account / "token").write_text(env.token)
    (account / "ca.crt").write_text(env.sim.ca_path.read_text())
    (account / "namespace").write_text(NS)
    env.monkeypatch.setattr(clients, "SERVICE_ACCOUNT_DIR", str(account))
    env.monkeypatch.setenv("KUBERNETES_SERVICE_HOST", env.sim.host)
    env.monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(env.sim.port))
    env.monkeypatch.delenv("KUBECONFIG", raising=False)


async def _no_http_check(self, spawner):
    # the pause runtime's pods serve no HTTP: skip the hub's "is it up" check
    spawner._waiting_for_response = False
    spawner._start_pending = False
    return spawner


async def make_hub(env: Env, hub_config: dict | None = None, **spawner_config):
    """JupyterHub's MockHub (real database, users, tokens) with KubeSpawner,
    configured as the chart's defaults configure it (storage: dynamic)."""
    from jupyterhub.tests.mocking import MockHub
    from jupyterhub.user import User
    from traitlets.config import Config

    from kubespawner import KubeSpawner

    in_cluster(env)
    env.monkeypatch.setenv("JUPYTERHUB_TEST_DB_URL", f"sqlite:///{env.tmp / 'hub.sqlite'}")
    env.monkeypatch.chdir(env.tmp)
    env.monkeypatch.setattr(User, "_wait_up", _no_http_check)
    config = Config()
    config.JupyterHub.spawner_class = KubeSpawner
    config.JupyterHub.cleanup_servers = False
    for key, value in (hub_config or {}).items():
        setattr(config.JupyterHub, key, value)
    traits = {
        "namespace": NS,
        "image": "pause:3.9",
        "start_timeout": 30,
        "events_enabled": True,
        "storage_pvc_ensure": True,
        "storage_capacity": "1Gi",
        "pvc_name_template": "claim-{username}",
        "volumes": [{"name": "home", "persistentVolumeClaim": {"claimName": "{pvc_name}"}}],
        "volume_mounts": [{"name": "home", "mountPath": "/home/jovyan"}],
        **spawner_config,
    }
    for key, value in traits.items():
        setattr(config.KubeSpawner, key, value)
    app = MockHub(config=config, test_clean_db=True)
    await app.initialize([])
    return app


def user_of(app, name: str):
    from jupyterhub.tests.utils import add_user

    return add_user(app.db, app, name=name)


async def hub_spawns_with_a_pvc_and_replaces_a_leftover_pod(env: Env) -> None:
    """start (PVC create, pod create meeting 409 from a leftover, read, delete,
    create again), readiness and progress from the pod and event watches,
    poll, stop, and delete_forever (the PVC goes)."""
    app = await make_hub(env)
    user = user_of(app, "alice")
    spawner = user.get_or_create_spawner("", "")
    pod_name = spawner.pod_name
    await admin(env, "POST", f"/api/v1/namespaces/{NS}/pods", pod_body(pod_name))
    await user.spawn("")
    assert await spawner.poll() is None
    messages = [event["message"] async for event in spawner.progress()]
    assert any("Created" in m or "Scheduled" in m or "Started" in m for m in messages), messages
    await user.stop("")
    assert await spawner.poll() is not None
    assert env.sim.get("pods", pod_name, NS) is None
    await spawner.delete_forever()
    assert env.sim.get("persistentvolumeclaims", "claim-alice", NS) is None
    app.db.close()


async def hub_reads_a_claim_a_quota_refuses(env: Env) -> None:
    """A ResourceQuota refuses even a claim that exists (kubesim has no quotas,
    so the refusal is injected): the spawner reads the claim and goes on."""
    app = await make_hub(env)
    claim = {
        "metadata": {"name": "claim-bob"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    await admin(env, "POST", f"/api/v1/namespaces/{NS}/persistentvolumeclaims", claim)
    env.sim.faults.fail(
        verb="create", resource="persistentvolumeclaims", status=403, message="exceeded quota"
    )
    user = user_of(app, "bob")
    await user.spawn("")
    assert await user.spawners[""].poll() is None
    await user.stop("")
    app.db.close()


async def hub_grows_a_claim_when_capacity_grows(env: Env) -> None:
    """A bound claim of an expandable StorageClass and a larger
    storage_capacity: the spawner reads the claim and patches its request."""
    storage_class = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "elastic"},
        "provisioner": "kubesim.io/hostpath",
        "allowVolumeExpansion": True,
    }
    await admin(env, "POST", "/apis/storage.k8s.io/v1/storageclasses", storage_class)
    claim = {
        "metadata": {"name": "claim-gus"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "elastic",
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }
    await admin(env, "POST", f"/api/v1/namespaces/{NS}/persistentvolumeclaims", claim)

    async def bound():
        found = env.sim.get("persistentvolumeclaims", "claim-gus", NS) or {}
        return (found.get("status") or {}).get("phase") == "Bound"

    await eventually(bound, "claim-gus bound")
    app = await make_hub(env, storage_capacity="2Gi", storage_class="elastic")
    user = user_of(app, "gus")
    await user.spawn("")
    grown = env.sim.get("persistentvolumeclaims", "claim-gus", NS)
    assert grown["spec"]["resources"]["requests"]["storage"] == "2Gi"
    await user.stop("")
    app.db.close()


async def hub_replaces_leftover_ssl_secret_and_service(env: Env) -> None:
    """internal_ssl and services_enabled: the server's Secret and Service are
    created, and leftovers of the same names deleted first."""
    app = await make_hub(
        env,
        hub_config={"internal_ssl": True, "internal_certs_location": str(env.tmp / "certs")},
        services_enabled=True,
    )
    user = user_of(app, "carol")
    spawner = user.get_or_create_spawner("", "")
    await admin(
        env, "POST", f"/api/v1/namespaces/{NS}/secrets", {"metadata": {"name": spawner.secret_name}}
    )
    service = {
        "metadata": {"name": spawner.pod_name},
        "spec": {"ports": [{"port": 8888}], "selector": {"x": "y"}},
    }
    await admin(env, "POST", f"/api/v1/namespaces/{NS}/services", service)
    await user.spawn("")
    secret = env.sim.get("secrets", spawner.secret_name, NS)
    assert "ssl.crt" in secret["data"] and secret["metadata"].get("ownerReferences")
    assert env.sim.get("services", spawner.pod_name, NS)["metadata"].get("ownerReferences")
    await user.stop("")
    app.db.close()


# ----- user-scheduler: what kube-scheduler asks of the API -------------------------

# The requests kube-scheduler v1.33 makes with the chart's configuration, each
# with where it comes from (kubernetes/kubernetes, v1.33):
# (verb, group, resource, namespace or None for all/cluster, name or None)
KUBE_SCHEDULER_REQUESTS = [
    # leader election, resourceLock "leases": client-go tools/leaderelection/
    # resourcelock/leaselock.go (Get, then Create or Update) in resourceNamespace
    ("get", "coordination.k8s.io", "leases", "{lock_ns}", "{lock}"),
    ("create", "coordination.k8s.io", "leases", "{lock_ns}", None),
    ("update", "coordination.k8s.io", "leases", "{lock_ns}", "{lock}"),
    # informers the scheduler starts: pkg/scheduler/eventhandlers.go addAllEventHandlers
    # and the default plugins' listers (pkg/scheduler/framework/plugins/*)
    *(
        (verb, group, resource, None, None)
        for verb in ("list", "watch")
        for group, resource in (
            ("", "pods"),  # eventhandlers.go: scheduled and unscheduled pods
            ("", "nodes"),  # eventhandlers.go
            ("", "namespaces"),  # interpodaffinity: namespaceSelector
            ("", "services"),  # podtopologyspread: default constraints' selectors
            ("", "replicationcontrollers"),  # podtopologyspread
            ("apps", "replicasets"),  # podtopologyspread
            ("apps", "statefulsets"),  # podtopologyspread
            ("", "persistentvolumeclaims"),  # volumebinding, volumerestrictions
            ("", "persistentvolumes"),  # volumebinding
            ("storage.k8s.io", "storageclasses"),  # volumebinding
            ("storage.k8s.io", "csinodes"),  # nodevolumelimits
            ("storage.k8s.io", "csidrivers"),  # nodevolumelimits
            ("storage.k8s.io", "csistoragecapacities"),  # volumebinding capacity check
            ("policy", "poddisruptionbudgets"),  # defaultpreemption
        )
    ),
    # binding a pod: framework/plugins/defaultbinder (Pods(ns).Bind -> pods/binding)
    ("create", "", "pods/binding", "{user_ns}", "{pod}"),
    # PodScheduled=False and nominatedNodeName: schedule_one.go updatePod (patch status)
    ("patch", "", "pods/status", "{user_ns}", "{pod}"),
    # preemption deletes victims: framework/preemption (util.DeletePod)
    ("delete", "", "pods", "{user_ns}", "{pod}"),
    # events through the events.k8s.io/v1 broadcaster (client-go tools/events)
    ("create", "events.k8s.io", "events", "{user_ns}", None),
    ("patch", "events.k8s.io", "events", "{user_ns}", "{event}"),
    # volume binding (binder.go BindPodVolumes): PV and PVC updates
    ("update", "", "persistentvolumes", None, "{pv}"),
    ("update", "", "persistentvolumeclaims", "{user_ns}", "{pvc}"),
]


def _url(group: str, resource: str, namespace: str | None, name: str | None) -> str:
    base, sub = (resource.split("/") + [""])[:2]
    prefix = f"/apis/{group}/v1" if group else "/api/v1"
    path = prefix + (f"/namespaces/{namespace}" if namespace else "") + f"/{base}"
    if name:
        path += f"/{name}"
    return path + (f"/{sub}" if sub else "")


METHODS = {
    "get": "GET",
    "list": "GET",
    "watch": "GET",
    "create": "POST",
    "update": "PUT",
    "patch": "PATCH",
    "delete": "DELETE",
}


async def _status_of(env: Env, verb: str, path: str) -> int:
    """One request with the component's token; its status (a watch is closed at once)."""
    context = ssl.create_default_context(cafile=str(env.sim.ca_path))
    params = {"watch": "true", "timeoutSeconds": "1"} if verb == "watch" else None
    body = None if verb in ("get", "list", "watch", "delete") else json.dumps({})
    headers = {
        "Authorization": f"Bearer {env.token}",
        "Content-Type": "application/merge-patch+json" if verb == "patch" else "application/json",
    }
    async with aiohttp.ClientSession() as session:
        async with session.request(
            METHODS[verb],
            env.sim.url + path,
            params=params,
            data=body,
            headers=headers,
            ssl=context,
        ) as response:
            return response.status


async def user_scheduler_makes_kube_schedulers_requests(env: Env) -> None:
    """Each request of KUBE_SCHEDULER_REQUESTS, sent with the user-scheduler's
    token, is let through by RBAC (it may then be 404, 409 or 422: kubesim's
    scheduler stands in for kube-scheduler, so no real object is needed)."""
    config = yaml.safe_load(rendered().find("ConfigMap", "user-scheduler")["data"]["config.yaml"])
    election = config["leaderElection"]
    fields = {
        "lock": election["resourceName"],
        "lock_ns": election["resourceNamespace"],
        "user_ns": NS,
        "pod": "jupyter-x",
        "event": "e",
        "pv": "pv-x",
        "pvc": "claim-x",
    }
    refused = []
    for verb, group, resource, namespace, name in KUBE_SCHEDULER_REQUESTS:
        path = _url(
            group,
            resource,
            namespace and namespace.format(**fields),
            name and name.format(**fields),
        )
        status = await _status_of(env, verb, path)
        if status in (401, 403):
            refused.append((verb, path, status))
    assert refused == []


# ----- image-awaiter and secret-sync: the chart's helper programs -------------------


async def image_awaiter_waits_for_the_hook_daemonset(env: Env) -> None:
    """image-awaiter with the awaiter's token: reads the hook DaemonSet, the
    nodes and its pods (made by kubesim's DaemonSet controller) until the one
    node runs its pod."""
    from k8s_helpers.image_awaiter import parse_args, run

    daemonset = rendered().find("DaemonSet", "hook-image-puller")
    await admin(env, "POST", f"/apis/apps/v1/namespaces/{NS}/daemonsets", daemonset)
    kubeconfig = kubeconfig_with_token(env.sim, env.token, env.tmp / "awaiter.kubeconfig")
    args = parse_args(
        [
            "--kubeconfig",
            kubeconfig,
            "--namespace",
            NS,
            "--daemonset",
            daemonset["metadata"]["name"],
            "--interval",
            "0.1",
            "--timeout",
            "20",
        ]
    )
    assert await run(args) == 0


async def secret_sync_keeps_the_acme_file_in_its_secret(env: Env) -> None:
    """secret-sync with autohttps' token: load (no Secret yet), watch (creates
    the Secret, then updates it when the file changes), load again."""
    from k8s_helpers.secret_sync import parse_args, run

    secret = rendered().find("Role", "autohttps")["rules"][0]["resourceNames"][0]
    kubeconfig = kubeconfig_with_token(env.sim, env.token, env.tmp / "autohttps.kubeconfig")
    acme = env.tmp / "acme" / "acme.json"

    def args(mode, path):
        return parse_args(
            [
                mode,
                secret,
                str(path),
                "--kubeconfig",
                kubeconfig,
                "--namespace",
                NS,
                "--interval",
                "0.05",
            ]
        )

    assert await run(args("load", acme)) == 0 and not acme.exists()
    acme.parent.mkdir()
    acme.write_text(json.dumps({"letsencrypt": {"Certificates": []}}))
    stop = asyncio.Event()
    watching = asyncio.create_task(run(args("watch", acme), stop))

    def stored():
        found = env.sim.get("secrets", secret, NS)
        return found and found.get("data", {}).get("acme.json")

    async def saved():
        if watching.done():
            raise AssertionError(f"secret-sync exited with {watching.result()}")
        return stored()

    await eventually(saved, "the Secret is created")
    first = stored()
    acme.write_text(json.dumps({"letsencrypt": {"Certificates": [{"domain": "x"}]}}))

    async def updated():
        return await saved() and stored() != first

    await eventually(updated, "the Secret is updated")
    stop.set()
    assert await watching == 0
    again = env.tmp / "again" / "acme.json"
    assert await run(args("load", again)) == 0
    assert json.loads(again.read_text())["letsencrypt"]["Certificates"] == [{"domain": "x"}]


SCENARIOS = {
    "hub": [
        hub_spawns_with_a_pvc_and_replaces_a_leftover_pod,
        hub_reads_a_claim_a_quota_refuses,
        hub_grows_a_claim_when_capacity_grows,
        hub_replaces_leftover_ssl_secret_and_service,
    ],
    "user-scheduler": [user_scheduler_makes_kube_schedulers_requests],
    "image-awaiter": [image_awaiter_waits_for_the_hook_daemonset],
    "secret-sync": [secret_sync_keeps_the_acme_file_in_its_secret],
}
