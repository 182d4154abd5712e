"""The reflectors cache what the spawner (and upstream's hooks) read, not
whole objects: no managedFields, no metadata nothing reads; spec, status
and the fields of events kept whole. Objects made by server-side apply on
kubesim, which then carry managedFields as on a real API server."""

from kubespawner import podstatus
from kubespawner.reflector import EventReflector, PodReflector

NS = "default"
LABELS = {"component": "singleuser-server", "hub.jupyter.org/username": "lee"}
OWNER = {"apiVersion": "v1", "kind": "Secret", "name": "s", "uid": "0000-1", "controller": False}


async def apply(api, resource, name, body):
    return await api.request(
        "PATCH",
        f"/api/v1/namespaces/{NS}/{resource}/{name}",
        params={"fieldManager": "lean-cache-test"},
        body=body,
        content_type="application/apply-patch+yaml",
    )


def read(api, resource, name):
    return api.request("GET", f"/api/v1/namespaces/{NS}/{resource}/{name}")


async def test_cached_pod_keeps_what_is_read_and_drops_managed_fields(sim, api):
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "jupyter-lee",
            "labels": LABELS,
            "annotations": {"hub.jupyter.org/username": "lee"},
            "ownerReferences": [OWNER],
            "finalizers": ["example.org/keep"],
        },
        "spec": {
            "containers": [
                {
                    "name": "notebook",
                    "image": "pause:1",
                    "ports": [{"containerPort": 8888, "name": "notebook-port"}],
                }
            ]
        },
    }
    await apply(api, "pods", "jupyter-lee", body)
    pods = PodReflector(api, namespace=NS, label_selector="component=singleuser-server")
    await pods.start()
    try:
        key = f"{NS}/jupyter-lee"
        cached = await pods.wait_for(key, podstatus.is_ready, timeout=10)
        server = await read(api, "pods", "jupyter-lee")
        assert server["metadata"]["managedFields"], "kubesim sends managedFields"
        assert "managedFields" not in cached["metadata"]
        assert "finalizers" not in cached["metadata"]
        assert cached["spec"] == server["spec"]
        assert cached["status"] == server["status"]
        for field in PodReflector.kept_metadata - {"deletionTimestamp"}:
            assert cached["metadata"][field] == server["metadata"][field], field
        # deleting: the pod stays (its finalizer), with deletionTimestamp
        await api.request("DELETE", f"/api/v1/namespaces/{NS}/pods/jupyter-lee")
        cached = await pods.wait_for(
            key, lambda p: p and p["metadata"].get("deletionTimestamp"), timeout=10
        )
        assert podstatus.stop_code(cached) == 1
        await api.request(
            "PATCH",
            f"/api/v1/namespaces/{NS}/pods/jupyter-lee",
            body={"metadata": {"finalizers": None}},
            content_type="application/merge-patch+json",
        )
    finally:
        await pods.stop()


async def test_cached_event_keeps_what_is_read_and_drops_managed_fields(sim, api):
    body = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "jupyter-lee.1", "labels": {"noise": "yes"}},
        "involvedObject": {"kind": "Pod", "namespace": NS, "name": "jupyter-lee", "uid": "u1"},
        "reason": "Scheduled",
        "message": "Successfully assigned default/jupyter-lee to node-1",
        "type": "Normal",
        "firstTimestamp": "2026-12-02T10:00:00Z",
        "lastTimestamp": "2026-12-02T10:00:01Z",
        "count": 1,
        "source": {"component": "default-scheduler"},
    }
    await apply(api, "events", "jupyter-lee.1", body)
    events = EventReflector(api, namespace=NS, max_age=None)
    await events.start()
    try:
        cached = events.get(f"{NS}/jupyter-lee.1")
        server = await read(api, "events", "jupyter-lee.1")
        assert server["metadata"]["managedFields"]
        assert set(cached["metadata"]) <= EventReflector.kept_metadata
        for field in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp"):
            assert cached["metadata"][field] == server["metadata"][field], field
        assert {k: v for k, v in cached.items() if k != "metadata"} == {
            k: v for k, v in server.items() if k != "metadata"
        }
        assert events.events_for(f"{NS}/jupyter-lee", "u1") == [cached]
    finally:
        await events.stop()
