"""Wait until the hook image puller DaemonSet has pulled its images on every node.

Runs as the pre-install/pre-upgrade Job `hook-image-awaiter`, in the hub
image (which has kubernetes_asyncio):

    python image_awaiter.py --daemonset hook-image-puller --pod-scheduling-wait-duration 10

The DaemonSet's `desiredNumberScheduled` already leaves out nodes it can
never run on (taints, node selectors). A puller pod that is desired but
stays unscheduled (say the node is full) longer than the wait duration is
not waited for either, so such a node never hangs an upgrade; -1 waits for
every pod. Exits 0 when each remaining pod is ready, i.e. its init
containers (one per image) have pulled and run.
"""

import argparse
import asyncio
import os
from datetime import UTC, datetime

from kubernetes_asyncio import client, config

POLL_SECONDS = 2


def pod_is_stuck(pod, now: datetime, wait_seconds: int) -> bool:
    """A pod that has waited too long for a node."""
    if wait_seconds < 0 or pod.spec.node_name:
        return False
    created = pod.metadata.creation_timestamp
    return created is not None and (now - created).total_seconds() > wait_seconds


def pod_is_ready(pod) -> bool:
    return any(
        c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or [])
    )


def progress(daemonset, pods, now: datetime, wait_seconds: int) -> tuple[int, int]:
    """(ready pods, pods to wait for) of the DaemonSet."""
    current = [p for p in pods if p.metadata.deletion_timestamp is None]
    stuck = sum(pod_is_stuck(p, now, wait_seconds) for p in current)
    desired = (daemonset.status.desired_number_scheduled or 0) - stuck
    ready = sum(pod_is_ready(p) for p in current)
    return ready, max(desired, 0)


async def await_pulls(namespace: str, name: str, wait_seconds: int) -> None:
    async with client.ApiClient() as api_client:
        apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
        while True:
            ds = await apps.read_namespaced_daemon_set(name, namespace)
            selector = ",".join(f"{k}={v}" for k, v in ds.spec.selector.match_labels.items())
            pods = (await core.list_namespaced_pod(namespace, label_selector=selector)).items
            ready, wanted = progress(ds, pods, datetime.now(UTC), wait_seconds)
            print(f"{ready}/{wanted} nodes have the images", flush=True)
            if ds.status.observed_generation == ds.metadata.generation and ready >= wanted:
                return
            await asyncio.sleep(POLL_SECONDS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--daemonset", required=True)
    parser.add_argument("--pod-scheduling-wait-duration", type=int, default=10)
    args = parser.parse_args()
    config.load_incluster_config()
    namespace = os.environ["POD_NAMESPACE"]
    asyncio.run(await_pulls(namespace, args.daemonset, args.pod_scheduling_wait_duration))


if __name__ == "__main__":
    main()
