"""A crowded namespace for the hub's memory: many pods and events that the
hub's spawner watches, as on a big cluster with other workloads and the
event churn of a login storm.

The pods carry the label users' pods carry (`component=singleuser-server`),
so both spawners' pod watches hold them, and wait forever for a scheduler
nobody runs (kubesim leaves a pod alone whose schedulerName it does not
serve), so they cost the API server no kubelet work. The events are about
those pods, as the scheduler and kubelet write them."""

from __future__ import annotations

import asyncio
import ssl

import aiohttp

SCHEDULER = "bench-hub-nobody"  # served by no scheduler: the pods stay Pending
CROWD_LABELS = {"component": "singleuser-server", "app": "bench-hub-crowd"}


def crowd_pod(index: int, namespace: str) -> dict:
    name = f"crowd-{index:05d}"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": dict(CROWD_LABELS),
            "annotations": {"hub.jupyter.org/username": name},
        },
        "spec": {
            "schedulerName": SCHEDULER,
            "containers": [
                {
                    "name": "notebook",
                    "image": "registry.k8s.io/pause:3.10",
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                }
            ],
        },
    }


def crowd_event(index: int, pods: int, namespace: str) -> dict:
    pod = f"crowd-{index % pods:05d}"
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{pod}.{index:06x}", "namespace": namespace},
        "involvedObject": {"kind": "Pod", "name": pod, "namespace": namespace},
        "reason": "FailedScheduling",
        "message": "0/21 nodes are available: 21 node(s) didn't match pod's node "
        "affinity/selector. preemption: 0/21 nodes are available.",
        "type": "Warning",
        "source": {"component": "default-scheduler"},
        "count": 1,
    }


async def create_crowd(
    api_server: str,
    token: str,
    ca_pem: str | None,
    namespace: str,
    pods: int,
    events: int,
    parallel: int = 16,
) -> None:
    """Create `pods` pods and `events` events, `parallel` requests at a time."""
    context = ssl.create_default_context(cadata=ca_pem) if ca_pem else None
    base = f"{api_server.rstrip('/')}/api/v1/namespaces/{namespace}"
    todo = [("pods", crowd_pod(i, namespace)) for i in range(pods)]
    todo += [("events", crowd_event(i, max(pods, 1), namespace)) for i in range(events)]
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as session:

        async def worker(items):
            for collection, body in items:
                async with session.post(f"{base}/{collection}", json=body, ssl=context) as resp:
                    if resp.status != 201:
                        raise RuntimeError(
                            f"creating {collection} {body['metadata']['name']}: "
                            f"{resp.status} {(await resp.text())[:200]}"
                        )

        await asyncio.gather(*(worker(todo[i::parallel]) for i in range(parallel)))
