"""The Job controller: pods until `completions` succeed, or the Job fails.

As kube-controller-manager's job controller (pkg/controller/job), simplified:
- up to `parallelism` pods run at a time, until `completions` succeeded;
- more than `backoffLimit` failed pods fail the Job (`BackoffLimitExceeded`),
  `activeDeadlineSeconds` after `startTime` fails it too (`DeadlineExceeded`),
  and its running pods are deleted; no exponential delay between retries;
- since Kubernetes 1.31 the controller first adds `SuccessCriteriaMet` or
  `FailureTarget` and only adds the terminal `Complete` or `Failed` once no pod
  of the Job is still running (KEP-3998, KEP-4368: "the Job controller delays
  the terminal condition until all pods are terminated"); before 1.31 the
  terminal condition comes at once;
- `ttlSecondsAfterFinished` deletes a finished Job (and so its pods) that long
  after it finished (the TTL-after-finished controller).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from kubesim.api.store import now_rfc3339
from kubesim.model.errors import ApiError
from kubesim.model.ownership import controller_of, pod_ready

Obj = dict[str, Any]
FINISHED = ("Complete", "Failed")
INTERIM = {"Complete": "SuccessCriteriaMet", "Failed": "FailureTarget"}
DEADLINE = ("DeadlineExceeded", "Job was active longer than specified deadline")
BACKOFF = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
COMPLETIONS = ("CompletionsReached", "Reached expected number of succeeded pods")


def _epoch(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def delays_interim_conditions(version: str) -> bool:
    major, minor = (int(p) for p in version.split(".")[:2])
    return (major, minor) >= (1, 31)


def condition(type_: str, reason: str | None, message: str | None, now: str) -> Obj:
    out: Obj = {"type": type_, "status": "True", "lastProbeTime": now, "lastTransitionTime": now}
    if reason:
        out["reason"], out["message"] = reason, message
    return out


def job_outcome(job: Obj, succeeded: int, failed: int, now: float) -> tuple[str, str, str] | None:
    """("Complete"|"Failed", reason, message) once the Job has met an end, else None."""
    spec = job.get("spec") or {}
    if succeeded >= spec.get("completions", 1):
        return ("Complete", *COMPLETIONS)
    if failed > spec.get("backoffLimit", 6):
        return ("Failed", *BACKOFF)
    deadline = spec.get("activeDeadlineSeconds")
    started = (job.get("status") or {}).get("startTime")
    if deadline is not None and started and now >= _epoch(started) + deadline:
        return ("Failed", *DEADLINE)
    return None


class JobController:
    def __init__(
        self,
        store,
        create_pod: Callable[..., Awaitable[Obj]],
        requeue: Callable[[Obj, float], None],
    ):
        self.store = store
        self.create_pod = create_pod  # (owner, kind, extra_labels=...) -> pod
        self.requeue = requeue  # (job, delay seconds)

    def _pods(self, job: Obj) -> list[Obj]:
        uid = job["metadata"]["uid"]
        items, _ = self.store.list("pods", job["metadata"]["namespace"])
        return [p for p in items if (controller_of(p) or {}).get("uid") == uid]

    async def sync(self, job: Obj) -> None:
        ns, name = job["metadata"]["namespace"], job["metadata"]["name"]
        spec, old = job.get("spec") or {}, job.get("status") or {}
        pods = self._pods(job)
        phases = [(p.get("status") or {}).get("phase") for p in pods]
        # counts never go down when finished pods are deleted (the real one tracks
        # them with finalizers)
        succeeded = max(phases.count("Succeeded"), old.get("succeeded", 0))
        failed = max(phases.count("Failed"), old.get("failed", 0))
        active = [
            p
            for p, phase in zip(pods, phases, strict=True)
            if phase not in ("Succeeded", "Failed") and not p["metadata"].get("deletionTimestamp")
        ]
        terminating = sum(
            1
            for p, phase in zip(pods, phases, strict=True)
            if phase not in ("Succeeded", "Failed") and p["metadata"].get("deletionTimestamp")
        )
        conditions = list(old.get("conditions") or [])
        types = {c["type"] for c in conditions if c.get("status") == "True"}
        now, stamp = time.time(), now_rfc3339()
        status: Obj = {"startTime": old.get("startTime") or stamp}
        if types & set(FINISHED):
            await self._expire(job)
            return
        interim = next((end for end, i in INTERIM.items() if i in types), None)
        if interim:  # met its end earlier; waiting for its pods to stop
            marker = next(c for c in conditions if c["type"] == INTERIM[interim])
            outcome = (interim, marker.get("reason"), marker.get("message"))
        else:
            outcome = job_outcome({**job, "status": status}, succeeded, failed, now)
        if outcome:
            end, reason, message = outcome
            delay = delays_interim_conditions(self.store.version)
            if delay and INTERIM[end] not in types:
                conditions.append(condition(INTERIM[end], reason, message, stamp))
            for pod in active:
                await self._delete(pod)
            if not delay or not (active or terminating):
                conditions.append(condition(end, reason, message, stamp))
                if end == "Complete":
                    status["completionTime"] = stamp
            active = []
        else:
            wanted = min(spec.get("parallelism", 1), spec.get("completions", 1) - succeeded)
            for _ in range(max(wanted - len(active), 0)):
                active.append(await self._create(job))
            deadline = spec.get("activeDeadlineSeconds")
            if deadline is not None:
                self.requeue(job, max(_epoch(status["startTime"]) + deadline - now, 0) + 0.05)
        status.update(
            {
                "active": len(active),
                "succeeded": succeeded,
                "failed": failed,
                "ready": sum(1 for p in active if pod_ready(p)),
                "terminating": terminating,
                "uncountedTerminatedPods": {},
            }
        )
        if conditions:
            status["conditions"] = conditions
        status = {k: v for k, v in status.items() if v or k in ("active", "ready", "terminating")}
        if status != {k: old.get(k) for k in status} or len(status) != len(old):
            await self.store.update_status(
                "jobs.batch", name, {"metadata": {"name": name}, "status": status}, ns
            )

    async def _create(self, job: Obj) -> Obj:
        name, uid = job["metadata"]["name"], job["metadata"]["uid"]
        return await self.create_pod(
            job,
            "Job",
            extra_labels={
                "batch.kubernetes.io/controller-uid": uid,
                "batch.kubernetes.io/job-name": name,
                "controller-uid": uid,
                "job-name": name,
            },
        )

    async def _delete(self, pod: Obj) -> None:
        try:
            await self.store.delete("pods", pod["metadata"]["name"], pod["metadata"]["namespace"])
        except ApiError as error:
            if error.code != 404:
                raise

    async def _expire(self, job: Obj) -> None:
        """ttlSecondsAfterFinished: delete the Job that long after it finished."""
        ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
        if ttl is None:
            return
        finished = max(
            _epoch(c["lastTransitionTime"])
            for c in job["status"]["conditions"]
            if c["type"] in FINISHED
        )
        left = finished + ttl - time.time()
        if left > 0:
            self.requeue(job, left + 0.05)
            return
        try:
            await self.store.delete(
                "jobs.batch",
                job["metadata"]["name"],
                job["metadata"]["namespace"],
                propagation_policy="Background",
                preconditions={"uid": job["metadata"]["uid"]},
            )
        except ApiError as error:
            if error.code not in (404, 409):
                raise
