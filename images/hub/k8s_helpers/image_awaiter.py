"""image-awaiter: wait until DaemonSets' pods are ready on every node that can run them.

The chart's pre-upgrade hook creates the hook-image-puller DaemonSet (whose
init containers pull the new user images) and then a Job running this
program; helm waits for the Job, so the upgrade proceeds only once every
node that will run user pods has the images.

    image-awaiter --daemonset hook-image-puller [--daemonset NAME ...] [--namespace NS]
                  [--pod-scheduling-wait-duration 10] [--interval 2] [--timeout 0]

The chart passes one --daemonset per hook puller: the default one and one
for each scheduling of profiles that set their own (their images are pulled
only on their nodes); the awaiter is done when every one is.

Nodes that can never run the pods (selector or affinity mismatch, an
untolerated taint), nodes that are cordoned or not Ready, and nodes whose
pod stays unscheduled (say the node is full) longer than
--pod-scheduling-wait-duration are not waited for (see scheduling.py), so
the hook cannot hang on them. Without
permission to list nodes (a cluster-scoped read) it falls back to the
DaemonSet's status, as counted by the DaemonSet controller.

An image that cannot be pulled (ErrImagePull, ImagePullBackOff, an invalid
reference, a pull secret the registry refuses) fails the hook at once rather
than at helm's timeout: once a pull has kept failing for
--image-pull-error-grace seconds (default 30, long enough for the kubelet's
first retry to get past a registry hiccup), the awaiter exits naming the
image, the node and the kubelet's message.

Exit status: 0 ready, 1 timed out, 2 cannot work (bad arguments, no
permission to read the DaemonSet or its pods), 3 an image cannot be pulled.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiohttp
from kubernetes_asyncio.client import AppsV1Api, CoreV1Api
from kubernetes_asyncio.client.exceptions import ApiException

from .kube import default_namespace, make_api_client, to_dict
from .scheduling import label_selector, pod_is_ready, should_wait_for

log = logging.getLogger("image-awaiter")

# The DaemonSet controller labels each pod with the template generation it was made from.
TEMPLATE_GENERATION_LABEL = "pod-template-generation"


class CannotWait(Exception):
    """A problem waiting cannot fix (missing permission, bad selector)."""


class CannotPull(Exception):
    """An image kept failing to pull: waiting longer would only reach helm's timeout."""


# The kubelet's waiting reasons for a pull that failed or cannot start.
PULL_FAILURE_REASONS = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
)


@dataclass(frozen=True)
class PullFailure:
    node: str
    container: str
    image: str
    reason: str
    message: str
    daemonset: str = ""

    def describe(self) -> str:
        where = f" (daemonset {self.daemonset})" if self.daemonset else ""
        return (
            f"image {self.image} cannot be pulled on node {self.node}{where}"
            f" (container {self.container}: {self.reason}: {self.message})"
        )


def pull_failures(pod: dict, daemonset: str = "") -> list[PullFailure]:
    """The containers of `pod` the kubelet is failing to pull an image for."""
    spec = pod.get("spec") or {}
    images = {
        container.get("name", ""): container.get("image", "")
        for container in (spec.get("initContainers") or []) + (spec.get("containers") or [])
    }
    status = pod.get("status") or {}
    node = target_node(pod) or "(unscheduled)"
    failures = []
    for entry in (status.get("initContainerStatuses") or []) + (
        status.get("containerStatuses") or []
    ):
        waiting = (entry.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in PULL_FAILURE_REASONS:
            name = entry.get("name", "")
            failures.append(
                PullFailure(
                    node=node,
                    container=name,
                    image=images.get(name) or entry.get("image", ""),
                    reason=waiting["reason"],
                    message=waiting.get("message") or "",
                    daemonset=daemonset,
                )
            )
    return failures


@dataclass
class Progress:
    done: bool
    ready: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    pull_failures: list[PullFailure] = field(default_factory=list)

    def summary(self, name: str) -> str:
        if self.waiting:
            total = len(self.ready) + len(self.waiting)
            return (
                f"daemonset {name}: ready on {len(self.ready)} of {total} nodes;"
                f" waiting for {', '.join(self.waiting)}"
            )
        return f"daemonset {name}: ready on all {len(self.ready)} nodes that can run it"


def is_current_pod(pod: dict, daemonset: dict) -> bool:
    """Owned by this DaemonSet and made from its current template."""
    meta = daemonset["metadata"]
    owners = pod.get("metadata", {}).get("ownerReferences") or []
    if meta.get("uid") and not any(o.get("uid") == meta["uid"] for o in owners):
        return False
    generation = (pod.get("metadata", {}).get("labels") or {}).get(TEMPLATE_GENERATION_LABEL)
    return generation is None or generation == str(meta.get("generation"))


def target_node(pod: dict) -> str | None:
    """The node a DaemonSet pod is for: bound, or pinned by its node affinity."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return spec["nodeName"]
    required = (spec.get("affinity") or {}).get("nodeAffinity", {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    for term in required.get("nodeSelectorTerms") or []:
        for field_ in term.get("matchFields") or []:
            values = field_.get("values") or []
            if field_.get("key") == "metadata.name" and field_.get("operator") == "In" and values:
                return values[0]
    return None


def waited_too_long_for_a_node(pod: dict, now: datetime, wait_seconds: float) -> bool:
    """Unbound for longer than `wait_seconds` (< 0: never too long)."""
    if wait_seconds < 0 or (pod.get("spec") or {}).get("nodeName"):
        return False
    created = (pod.get("metadata") or {}).get("creationTimestamp")
    if not created:
        return False
    created_at = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
    return (now - created_at).total_seconds() > wait_seconds


def assess(
    daemonset: dict,
    nodes: list[dict],
    pods: list[dict],
    now: datetime,
    scheduling_wait: float = -1,
) -> Progress:
    """Which nodes have a ready, current pod, which are still awaited, which are skipped."""
    pod_spec = daemonset["spec"]["template"].get("spec") or {}
    current = [pod for pod in pods if is_current_pod(pod, daemonset)]
    ready_on = {target_node(pod) for pod in current if pod_is_ready(pod)}
    stuck_on = {
        target_node(pod) for pod in current if waited_too_long_for_a_node(pod, now, scheduling_wait)
    }
    progress = Progress(done=False)
    for node in sorted(nodes, key=lambda n: n["metadata"]["name"]):
        name = node["metadata"]["name"]
        verdict = should_wait_for(pod_spec, node)
        if not verdict.wait:
            progress.skipped[name] = verdict.reason
        elif name in ready_on:
            progress.ready.append(name)
        elif name in stuck_on:
            progress.skipped[name] = f"its pod has waited over {scheduling_wait:g}s for scheduling"
        else:
            progress.waiting.append(name)
    name = daemonset["metadata"].get("name", "")
    progress.pull_failures = [failure for pod in current for failure in pull_failures(pod, name)]
    progress.done = not progress.waiting
    return progress


def assess_by_status(
    daemonset: dict, pods: list[dict], now: datetime, scheduling_wait: float = -1
) -> Progress:
    """The fallback without node access: the DaemonSet controller's own counts."""
    status = daemonset.get("status") or {}
    generation = daemonset["metadata"].get("generation") or 0
    stuck = sum(
        1
        for pod in pods
        if is_current_pod(pod, daemonset) and waited_too_long_for_a_node(pod, now, scheduling_wait)
    )
    desired = status.get("desiredNumberScheduled", 0) - stuck
    updated = status.get("updatedNumberScheduled", desired)
    ready = status.get("numberReady", 0)
    observed = status.get("observedGeneration", 0) >= generation
    done = observed and updated >= desired and ready >= desired
    waiting = [] if done else [f"{max(desired - ready, 1)} more pod(s) (by status)"]
    name = daemonset["metadata"].get("name", "")
    failures = [
        f for pod in pods if is_current_pod(pod, daemonset) for f in pull_failures(pod, name)
    ]
    return Progress(
        done=done,
        ready=[f"{ready} pod(s)"] if ready else [],
        waiting=waiting,
        pull_failures=failures,
    )


class PullWatch:
    """Raises CannotPull once one pull has kept failing for `grace` seconds.

    A pull that recovers (the kubelet's retry succeeded) is forgotten, so
    only a failure that lasts the whole grace period counts.
    """

    def __init__(self, grace: float):
        self.grace = grace
        # (daemonset, node, container, image) -> when its pull was first seen failing
        self._failing_since: dict[tuple[str, str, str, str], float] = {}

    def check(self, failures: list[PullFailure], now: float) -> None:
        failing = {(f.daemonset, f.node, f.container, f.image): f for f in failures}
        for key in failing.keys() - self._failing_since.keys():
            log.warning("%s", failing[key].describe())
        self._failing_since = {key: self._failing_since.get(key, now) for key in failing}
        for key, failure in sorted(failing.items()):
            if now - self._failing_since[key] >= self.grace:
                raise CannotPull(
                    f"{failure.describe()}; check the image name and tag in the chart's"
                    " values (singleuser.image, singleuser.profileList, prePuller.extraImages)"
                    " and, for a private registry, imagePullSecret/imagePullSecrets"
                )


class Awaiter:
    """Polls the DaemonSet, the nodes and the pods until `assess` says done."""

    def __init__(
        self,
        api,
        namespace: str,
        name: str,
        scheduling_wait: float = -1,
        pull_error_grace: float = 30,
    ):
        self.apps = AppsV1Api(api)
        self.core = CoreV1Api(api)
        self.api = api
        self.namespace = namespace
        self.name = name
        self.scheduling_wait = scheduling_wait
        self.can_list_nodes = True
        self._last_summary = ""
        self._logged_skips: dict[str, str] = {}
        self.pulls = PullWatch(pull_error_grace)

    async def check(self) -> Progress | None:
        """One look; None while the DaemonSet does not exist yet."""
        try:
            daemonset = to_dict(
                self.api, await self.apps.read_namespaced_daemon_set(self.name, self.namespace)
            )
        except ApiException as e:
            if e.status == 404:
                return None
            raise
        if self.can_list_nodes:
            try:
                nodes = to_dict(self.api, await self.core.list_node())["items"]
            except ApiException as e:
                if e.status != 403:
                    raise
                log.warning(
                    "not allowed to list nodes; judging by the DaemonSet's status alone"
                    " (grant list on nodes to wait only for nodes that can run it)"
                )
                self.can_list_nodes = False
        try:
            selector = label_selector(daemonset["spec"].get("selector") or {})
        except ValueError as e:
            raise CannotWait(f"daemonset {self.name}: {e}") from e
        pods = await self.core.list_namespaced_pod(self.namespace, label_selector=selector)
        pods = to_dict(self.api, pods)["items"]
        now = datetime.now(UTC)
        if not self.can_list_nodes:
            return assess_by_status(daemonset, pods, now, self.scheduling_wait)
        return assess(daemonset, nodes, pods, now, self.scheduling_wait)

    def report(self, progress: Progress | None) -> None:
        """Log what changed since the last look, not every poll."""
        if progress is None:
            summary = f"daemonset {self.name} in namespace {self.namespace} does not exist yet"
        else:
            summary = progress.summary(self.name)
            for node, reason in progress.skipped.items():
                if self._logged_skips.get(node) != reason:
                    log.info("not waiting for node %s: %s", node, reason)
            self._logged_skips = dict(progress.skipped)
        if summary != self._last_summary:
            log.info("%s", summary)
            self._last_summary = summary

    async def wait(self, interval: float, timeout: float | None) -> bool:
        """True once ready; False if `timeout` seconds pass first."""
        deadline = None if not timeout else time.monotonic() + timeout
        while True:
            try:
                progress = await self.check()
            except ApiException as e:
                if e.status in (401, 403):
                    raise CannotWait(
                        f"the API server refused ({e.status} {e.reason}) reading daemonset"
                        f" {self.name} or its pods in namespace {self.namespace}: grant get on"
                        " daemonsets.apps and list on pods to this program's service account"
                    ) from e
                log.warning("API error %s %s; retrying", e.status, e.reason)
                progress = None
            except (TimeoutError, aiohttp.ClientError, OSError) as e:
                log.warning("cannot reach the API server (%s); retrying", e)
                progress = None
            else:
                self.report(progress)
            if progress is not None:
                self.pulls.check(progress.pull_failures, time.monotonic())
            if progress is not None and progress.done:
                return True
            if deadline is not None and time.monotonic() >= deadline:
                log.error("timed out: %s", self._last_summary)
                return False
            await asyncio.sleep(interval)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="image-awaiter",
        description="Wait until a DaemonSet is ready on every node that can run it.",
    )
    parser.add_argument(
        "--daemonset",
        action="append",
        dest="daemonsets",
        help="a DaemonSet to wait for; repeat for several (default: hook-image-puller)",
    )
    parser.add_argument("--namespace", default=None, help="default: $POD_NAMESPACE")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between looks")
    parser.add_argument(
        "--timeout", type=float, default=0, help="give up after this many seconds (0: never)"
    )
    parser.add_argument(
        "--pod-scheduling-wait-duration",
        type=float,
        default=10,
        help="stop waiting for a node whose pod stays unscheduled this many seconds (-1: never)",
    )
    parser.add_argument(
        "--image-pull-error-grace",
        type=float,
        default=30,
        help="fail (exit 3) once an image pull has kept failing this many seconds",
    )
    parser.add_argument("--kubeconfig", default=None, help="default: in-cluster credentials")
    args = parser.parse_args(argv)
    args.daemonsets = args.daemonsets or ["hook-image-puller"]
    if args.interval <= 0:
        parser.error(f"--interval must be positive, not {args.interval}")
    if args.timeout < 0:
        parser.error(f"--timeout must be 0 (never) or positive, not {args.timeout}")
    if args.image_pull_error_grace < 0:
        parser.error(
            f"--image-pull-error-grace must be 0 or positive, not {args.image_pull_error_grace}"
        )
    return args


async def wait_all(awaiters: list[Awaiter], interval: float, timeout: float | None) -> bool:
    """Wait for every DaemonSet at once, so an image that cannot be pulled by
    any of them fails the wait at once; True once all are ready."""
    tasks = [asyncio.create_task(a.wait(interval, timeout)) for a in awaiters]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.exception() is not None:
                raise task.exception()
        return all(task.result() for task in tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def run(args: argparse.Namespace) -> int:
    namespace = args.namespace or default_namespace()
    async with await make_api_client(args.kubeconfig) as api:
        awaiters = [
            Awaiter(
                api,
                namespace,
                name,
                args.pod_scheduling_wait_duration,
                args.image_pull_error_grace,
            )
            for name in args.daemonsets
        ]
        try:
            return 0 if await wait_all(awaiters, args.interval, args.timeout) else 1
        except CannotWait as e:
            log.error("%s", e)
            return 2
        except CannotPull as e:
            log.error("%s", e)
            return 3


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    return asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
