"""The figures of one benchmark scenario, and the table that shows them."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks; NaN for no values."""
    values = sorted(values)
    if not values:
        return math.nan
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


@dataclass
class Scenario:
    name: str
    users: int
    fault_share: float  # of all Kubernetes API requests, failed by kubesim
    wall: float  # first POST to the last spawn settled (ready or failed)
    ready_seconds: list[float]
    errors: list[str]
    hub_cpu: float
    kubesim_cpu: float
    api_requests: Counter = field(default_factory=Counter)  # (verb, resource) -> n
    throttled: int = 0
    late_binds: int = 0
    stop_wall: float = math.nan  # first DELETE to every server gone

    @property
    def ready(self) -> int:
        return len(self.ready_seconds)

    @property
    def spawns_per_second(self) -> float:
        return self.ready / self.wall if self.wall > 0 else math.nan

    def row(self) -> dict[str, str]:
        writes = sum(n for (verb, _), n in self.api_requests.items() if verb in WRITE_VERBS)
        total = sum(self.api_requests.values())
        per_user = max(self.users, 1)
        return {
            "scenario": self.name,
            "users": str(self.users),
            "wall s": f"{self.wall:.1f}",
            "spawns/s": f"{self.spawns_per_second:.1f}",
            "p50 s": f"{percentile(self.ready_seconds, 0.5):.2f}",
            "p95 s": f"{percentile(self.ready_seconds, 0.95):.2f}",
            "failed": str(len(self.errors)),
            "hub CPU s": f"{self.hub_cpu:.1f}",
            "hub CPU ms/spawn": f"{1000 * self.hub_cpu / per_user:.0f}",
            "kubesim CPU s": f"{self.kubesim_cpu:.1f}",
            "API req/spawn": f"{total / per_user:.1f}",
            "API writes/spawn": f"{writes / per_user:.1f}",
            "stop all s": f"{self.stop_wall:.1f}",
        }


WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")


def table(rows: list[dict[str, str]]) -> str:
    if not rows:
        return "(no scenario ran)"
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
    lines = [
        "  ".join(c.rjust(widths[c]) if i else c.ljust(widths[c]) for i, c in enumerate(columns))
    ]
    for r in rows:
        lines.append(
            "  ".join(
                r[c].rjust(widths[c]) if i else r[c].ljust(widths[c]) for i, c in enumerate(columns)
            )
        )
    return "\n".join(lines)


def error_summary(errors: list[str], limit: int = 5) -> list[str]:
    """The most common failure messages with their counts."""
    return [f"{n} x {message}" for message, n in Counter(errors).most_common(limit)]
