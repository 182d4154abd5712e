"""Fault injection for reliability tests: failing requests and added latency.

A `FaultRule` matches requests by verb, resource (plural, "pods/log" for a
subresource), name and namespace; `None` matches anything. It fails a
`share` of the matching requests (0..1) or the next `count` of them with
`status`, and/or delays them by `latency` seconds. Watch-stream faults
(cut now / every N s, next watches 410, no history) live on the store and
`KubeSim`; this module only handles per-request faults.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import asdict, dataclass, field
from typing import Any

from kubesim.model.errors import ApiError

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    410: "Expired",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}

_ids = itertools.count(1)


@dataclass
class FaultRule:
    verb: str | None = None
    resource: str | None = None
    name: str | None = None
    namespace: str | None = None
    status: int | None = 500
    share: float | None = None  # fail this fraction of matches (default: all)
    count: int | None = None  # fail only the next `count` matches
    retry_after: int | None = None  # seconds, sent as Retry-After (429/503)
    latency: float = 0.0  # seconds added before answering (or failing)
    message: str | None = None
    # seconds added after the request was carried out: a client that gives
    # up meanwhile has lost the answer to a change that did happen (as with
    # an overloaded kube-apiserver, which commits whether or not the client
    # is still there)
    answer_latency: float = 0.0
    id: int = field(default_factory=lambda: next(_ids))
    hits: int = 0

    def matches(self, verb: str, resource: str, name: str | None, namespace: str | None) -> bool:
        return (
            (self.verb is None or self.verb == verb)
            and (self.resource is None or self.resource == resource)
            and (self.name is None or self.name == name)
            and (self.namespace is None or self.namespace == namespace)
        )

    def error(self) -> ApiError:
        status = int(self.status or 500)
        reason = REASONS.get(status, "InternalError")
        headers = {}
        retry_after = self.retry_after
        if retry_after is None and status == 429:
            retry_after = 1
        details: dict[str, Any] | None = None
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
            details = {"retryAfterSeconds": retry_after}
        message = self.message or f"kubesim injected fault: {reason} (rule {self.id})"
        return ApiError(status, reason, message, details, headers)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Faults:
    """The active fault rules of one simulator."""

    def __init__(self, seed: int | None = None):
        self.rules: list[FaultRule] = []
        self._random = random.Random(seed)

    def fail(
        self,
        verb: str | None = None,
        resource: str | None = None,
        name: str | None = None,
        namespace: str | None = None,
        status: int = 500,
        share: float | None = None,
        count: int | None = None,
        retry_after: int | None = None,
        message: str | None = None,
        latency: float = 0.0,
    ) -> FaultRule:
        """Fail matching requests with `status` (all, a `share`, or the next `count`)."""
        if status not in REASONS:
            raise ValueError(f"status={status!r}: use one of {sorted(REASONS)}")
        if share is not None and not 0 <= share <= 1:
            raise ValueError(f"share={share!r}: must be between 0 and 1")
        rule = FaultRule(
            verb, resource, name, namespace, status, share, count, retry_after, latency, message
        )
        self.rules.append(rule)
        return rule

    def delay(
        self,
        latency: float,
        verb: str | None = None,
        resource: str | None = None,
        name: str | None = None,
        namespace: str | None = None,
        count: int | None = None,
        after: bool = False,
    ) -> FaultRule:
        """Add `latency` seconds to matching requests without failing them:
        before they are carried out, or with `after`, once they took effect
        (a late answer)."""
        rule = FaultRule(verb, resource, name, namespace, None, None, count, None)
        if after:
            rule.answer_latency = latency
        else:
            rule.latency = latency
        self.rules.append(rule)
        return rule

    def add(self, spec: dict[str, Any]) -> FaultRule:
        """A rule from the admin endpoint's JSON body."""
        allowed = {
            "verb",
            "resource",
            "name",
            "namespace",
            "status",
            "share",
            "count",
            "retry_after",
            "retryAfter",
            "latency",
            "after",
            "message",
        }
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown fault keys {sorted(unknown)}; allowed: {sorted(allowed)}")
        spec = dict(spec)
        if "retryAfter" in spec:
            spec["retry_after"] = spec.pop("retryAfter")
        if spec.get("after") and spec.get("status") is not None:
            raise ValueError("after: only for a latency without a status (a late answer)")
        if spec.get("status") is None and spec.get("latency"):
            return self.delay(
                **{
                    k: v
                    for k, v in spec.items()
                    if k not in ("status", "share", "retry_after", "message")
                }
            )
        return self.fail(**spec)

    def remove(self, rule_id: int) -> None:
        self.rules = [r for r in self.rules if r.id != rule_id]

    def clear(self) -> None:
        self.rules.clear()

    def check(
        self, verb: str, resource: str, name: str | None, namespace: str | None
    ) -> tuple[float, ApiError | None, float]:
        """(latency to add, error to answer with or None, latency to add once
        the request was carried out) for one request."""
        latency, error, answer_latency = 0.0, None, 0.0
        for rule in list(self.rules):
            if not rule.matches(verb, resource, name, namespace):
                continue
            if rule.share is not None and self._random.random() >= rule.share:
                continue
            rule.hits += 1
            latency += rule.latency
            answer_latency += rule.answer_latency
            if rule.count is not None:
                rule.count -= 1
                if rule.count <= 0:
                    self.rules.remove(rule)
            if rule.status is not None and error is None:
                error = rule.error()
        return latency, error, answer_latency
